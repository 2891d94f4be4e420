"""The compiled MLP step (deepgrad.fast) is an optimisation of the eager path.

Each test trains the same model from the same weights twice, once eagerly
(forward graph, backward(), optimizer.step()) and once with the compiled step,
and requires the same losses and weights (float32: 1e-6; float64: 1e-12).
Every test runs with each kernel backend of the compiled step: NumPy, and Numba's
fused kernels (deepgrad.kernels, the `fast` extra), compiled in the process (JIT)
and built ahead of time (deepgrad.kernels_aot).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.fast import compile_step


@pytest.fixture(autouse=True, params=["numpy", "numba-jit", "numba-aot"])
def kernels(request, monkeypatch):
    """The compiled step's kernel backend for the test (DEEPGRAD_KERNELS): NumPy,
    Numba compiling in the process, or the kernels built ahead of time."""
    if request.param == "numba-aot":
        request.getfixturevalue("built_kernels")
    monkeypatch.setenv("DEEPGRAD_KERNELS", request.param)
    return request.param


def _xor():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    return x, y


def _train_both(model, loss_fn, make_optimizer, batches, epochs):
    eager_model, fast_model = model, copy.deepcopy(model)
    eager_opt, fast_opt = make_optimizer(eager_model), make_optimizer(fast_model)
    step = compile_step(fast_model, loss_fn, fast_opt)
    assert step is not None, "this model should be covered by the compiled step"
    eager_losses, fast_losses = [], []
    for _ in range(epochs):
        for x, y in batches:
            eager_opt.zero_grad()
            loss = loss_fn(eager_model(dg.tensor(x)), dg.tensor(y))
            loss.backward()
            eager_opt.step()
            eager_losses.append(loss.item())
            fast_losses.append(step(x, y))
    return eager_model, fast_model, np.array(eager_losses), np.array(fast_losses)


def _assert_same_weights(a, b, rtol):
    for (name, pa), (_, pb) in zip(
        a.named_parameters(), b.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            pa.array, pb.array, rtol=rtol, atol=rtol, err_msg=name
        )


def test_compiled_lab_xor_run_matches_eager_losses_for_5000_epochs():
    dg.manual_seed(42)
    model = nn.Sequential(
        nn.Linear(2, 4),
        nn.Sigmoid(),
        nn.Linear(4, 4),
        nn.Sigmoid(),
        nn.Linear(4, 1),
        nn.Sigmoid(),
    )
    eager, fast, eager_losses, fast_losses = _train_both(
        model,
        nn.BCELoss(),
        lambda m: dg.optim.SGD(m.parameters(), lr=0.1),
        [_xor()],
        epochs=5000,
    )
    np.testing.assert_allclose(fast_losses, eager_losses, rtol=1e-6, atol=1e-6)
    _assert_same_weights(eager, fast, rtol=1e-5)


def _classification_batches(dtype, n=256, features=12, classes=4, batch=32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, features)).astype(dtype)
    labels = rng.integers(0, classes, n)
    return [(x[i : i + batch], labels[i : i + batch]) for i in range(0, n, batch)]


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda m: dg.optim.Adam(m.parameters(), lr=1e-3),
        lambda m: dg.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True),
        lambda m: dg.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1),
        lambda m: dg.optim.RMSprop(m.parameters(), lr=1e-3, centered=True),
    ],
    ids=["adam", "sgd-nesterov", "adamw", "rmsprop"],
)
def test_compiled_relu_mlp_with_cross_entropy_matches_eager_in_float64(make_optimizer):
    dg.manual_seed(1)
    model = nn.Sequential(
        nn.Linear(12, 32),
        nn.ReLU(),
        nn.Linear(32, 16),
        nn.LeakyReLU(0.1),
        nn.Linear(16, 4),
    ).double()
    eager, fast, eager_losses, fast_losses = _train_both(
        model,
        nn.CrossEntropyLoss(),
        make_optimizer,
        _classification_batches(np.float64),
        epochs=3,
    )
    np.testing.assert_allclose(fast_losses, eager_losses, rtol=1e-12)
    _assert_same_weights(eager, fast, rtol=1e-12)


def test_compiled_step_handles_a_smaller_last_batch_in_float32():
    dg.manual_seed(2)
    model = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 4))
    batches = _classification_batches(np.float32, n=200, batch=64)  # 64, 64, 64, 8
    _, _, eager_losses, fast_losses = _train_both(
        model,
        nn.CrossEntropyLoss(),
        lambda m: dg.optim.Adam(m.parameters()),
        batches,
        epochs=2,
    )
    np.testing.assert_allclose(fast_losses, eager_losses, rtol=1e-6)


def test_compiled_regression_and_logit_losses_match_eager():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 5))
    targets = {
        "mse": (nn.MSELoss(), rng.standard_normal((64, 2)), nn.Sigmoid()),
        "logits": (
            nn.BCEWithLogitsLoss(),
            rng.integers(0, 2, (64, 2)).astype(float),
            None,
        ),
    }
    for name, (loss_fn, y, last) in targets.items():
        dg.manual_seed(4)
        layers = [nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)] + (
            [last] if last else []
        )
        model = nn.Sequential(*layers).double()
        _, _, eager_losses, fast_losses = _train_both(
            model,
            loss_fn,
            lambda m: dg.optim.SGD(m.parameters(), lr=0.1),
            [(x, y)],
            epochs=20,
        )
        np.testing.assert_allclose(fast_losses, eager_losses, rtol=1e-12, err_msg=name)


def test_models_outside_the_compiled_subset_fall_back_to_eager():
    loss_fn = nn.CrossEntropyLoss()
    unsupported = [
        nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)),
        nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)),
        nn.Linear(3, 2),
    ]
    for model in unsupported:
        optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
        assert compile_step(model, loss_fn, optimizer) is None
    model = nn.Sequential(nn.Linear(3, 2))
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    assert compile_step(model, nn.CrossEntropyLoss(reduction="sum"), optimizer) is None
    assert compile_step(model, nn.BCELoss(), optimizer) is None  # no sigmoid output


def test_compiled_step_rejects_out_of_range_labels_like_the_eager_loss():
    model = nn.Sequential(nn.Linear(3, 2))
    step = compile_step(
        model, nn.CrossEntropyLoss(), dg.optim.SGD(model.parameters(), lr=0.1)
    )
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(
        ValueError, match="target label 5 is out of range for 2 classes"
    ):
        step(x, np.array([0, 5]))


def test_labels_checked_at_once_are_refused_as_a_batch_would_be():
    """check_labels checks all of fit's labels before the first step: an
    out-of-range one raises the batch check's error, valid ones let each batch
    skip its range check (same loss as the checked step), and anything the
    per-batch check must still see (another loss, labels not 1-D integers)
    is left to it (False)."""
    model = nn.Sequential(nn.Linear(3, 2))
    step = compile_step(
        model, nn.CrossEntropyLoss(), dg.optim.SGD(model.parameters(), lr=0.0)
    )
    for bad in (2, -1):
        with pytest.raises(
            ValueError, match=f"target label {bad} is out of range for 2 classes"
        ):
            step.check_labels(np.array([0, 1, bad, 1]))
    labels = np.array([0, 1, 1, 0])
    assert step.check_labels(labels)
    assert not step.check_labels(labels.astype(np.float32))
    assert not step.check_labels(labels[:, None])
    x = np.ones((2, 3), np.float32)
    step.forward(x)
    checked = step.backward_and_update(x, labels[:2], labels_checked=True)
    step.forward(x)
    assert checked == step.backward_and_update(x, labels[:2])
    x, y = _xor()
    xor = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    bce = compile_step(xor, nn.BCELoss(), dg.optim.SGD(xor.parameters(), lr=0.1))
    assert not bce.check_labels(y[:, 0].astype(np.int64))


def test_plain_sgd_updates_one_flat_buffer_and_falls_back_when_grads_are_replaced():
    dg.manual_seed(5)
    model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())
    reference = copy.deepcopy(model)
    optimizer = dg.optim.SGD(model.parameters(), lr=0.5)
    step = compile_step(model, nn.BCELoss(), optimizer)
    assert step._flat is not None and step._flat.ready()
    x, y = _xor()
    reference_opt = dg.optim.SGD(reference.parameters(), lr=0.5)
    for i in range(40):
        if i == 20:  # the user zeroes gradients the PyTorch 2 way: flat path retires
            optimizer.zero_grad(set_to_none=True)
        step(x, y)
        reference_opt.zero_grad()
        nn.BCELoss()(reference(dg.tensor(x)), dg.tensor(y)).backward()
        reference_opt.step()
    assert not step._flat.ready()
    _assert_same_weights(reference, model, rtol=1e-6)


def test_fused_bce_keeps_the_small_loss_of_confident_right_answers():
    # y log p + (1 - y) log(1 - p) as two products: the shortcut
    # log(1 - p) + y (log p - log(1 - p)) loses the loss of p = 1 - 2^-24 (float32)
    from deepgrad.fast import _bce_after_sigmoid

    p = np.array([[1 - 2**-24], [2**-24]], dtype=np.float32)
    y = np.array([[1], [0]], dtype=np.float32)
    loss = _bce_after_sigmoid(p, y, np.empty_like(p), np.empty((2, 2, 1), np.float32))
    exact = -np.log1p(-(2.0**-24))  # both samples: -log(1 - 2^-24)
    assert loss == pytest.approx(exact, rel=1e-6)
    eager = nn.functional.binary_cross_entropy(dg.tensor(p), dg.tensor(y)).item()
    assert eager == pytest.approx(exact, rel=1e-6)


def test_adam_updates_flat_moments_that_its_state_dict_still_sees_per_parameter():
    """The flat-buffer Adam keeps each parameter's state as views of the flat
    moments: state_dict() equals the eager optimizer's after the same steps."""
    dg.manual_seed(6)
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4)).double()
    eager_model = copy.deepcopy(model)
    optimizer = dg.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    eager_optimizer = dg.optim.AdamW(
        eager_model.parameters(), lr=1e-2, weight_decay=0.05
    )
    step = compile_step(model, nn.CrossEntropyLoss(), optimizer)
    for x, y in _classification_batches(np.float64):
        step(x, y)
        eager_optimizer.zero_grad()
        nn.CrossEntropyLoss()(eager_model(dg.tensor(x)), dg.tensor(y)).backward()
        eager_optimizer.step()
    assert step._flat.ready() and type(step._flat).__name__ == "_FlatAdam"
    ours = optimizer.state_dict()["state"]
    theirs = eager_optimizer.state_dict()["state"]
    assert ours.keys() == theirs.keys()
    for index in ours:
        assert ours[index]["step"] == theirs[index]["step"] == 8
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(ours[index][key], theirs[index][key], rtol=1e-12)
    _assert_same_weights(eager_model, model, rtol=1e-12)


def test_flat_adam_steps_back_to_the_per_parameter_path_when_steps_differ():
    dg.manual_seed(7)
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4)).double()
    eager_model = copy.deepcopy(model)
    optimizer = dg.optim.Adam(model.parameters(), lr=1e-2)
    eager_optimizer = dg.optim.Adam(eager_model.parameters(), lr=1e-2)
    step = compile_step(model, nn.CrossEntropyLoss(), optimizer)
    for index, (x, y) in enumerate(_classification_batches(np.float64)):
        if index == 4:  # a restored checkpoint put one parameter a step behind
            first = model[0].weight
            optimizer.state[first]["step"] -= 1
            eager_optimizer.state[eager_model[0].weight]["step"] -= 1
        step(x, y)
        eager_optimizer.zero_grad()
        nn.CrossEntropyLoss()(eager_model(dg.tensor(x)), dg.tensor(y)).backward()
        eager_optimizer.step()
    assert not step._flat.ready()
    _assert_same_weights(eager_model, model, rtol=1e-12)


def test_w2_network_in_float32_gives_the_eager_losses_to_1e_6(kernels):
    # issue 4's correctness target on W2's own shapes: 784-256-128-10 ReLU,
    # softmax cross-entropy, Adam 1e-3, batch 128, float32 (fewer samples)
    dg.manual_seed(3)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )  # fmt: skip
    batches = _classification_batches(
        np.float32, n=1024, features=784, classes=10, batch=128
    )
    eager, fast, eager_losses, fast_losses = _train_both(
        model,
        nn.CrossEntropyLoss(),
        lambda m: dg.optim.Adam(m.parameters(), lr=1e-3),
        batches,
        epochs=2,
    )
    assert eager_losses[-1] < eager_losses[0]  # it learns, so the steps matter
    np.testing.assert_allclose(fast_losses, eager_losses, rtol=0, atol=1e-6)
    # Numba's float32 exp in the softmax differs from NumPy's by an ulp, and Adam
    # divides by sqrt(v): near-zero gradients turn that ulp into ~1e-5 of a weight
    _assert_same_weights(eager, fast, rtol=1e-5 if kernels == "numpy" else 1e-4)


def test_compiled_step_called_with_float64_inputs_on_a_float32_model_still_trains():
    # the step's products write into float32 buffers: np.dot refuses an out of
    # another dtype, so matrix_product must take np.matmul there (as before)
    dg.manual_seed(4)
    model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())
    step = compile_step(model, nn.BCELoss(), dg.optim.SGD(model.parameters(), lr=0.1))
    x, y = _xor()
    loss = step(x.astype(np.float64), y.astype(np.float64))
    assert np.isfinite(loss) and model[0].weight.array.dtype == np.float32
