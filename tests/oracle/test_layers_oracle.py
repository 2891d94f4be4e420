"""deepgrad.nn layers and loss modules against torch.nn, in float64.

The same builder function is called with ``torch.nn`` and with ``deepgrad.nn``:
the two libraries share their API, so this gives the same architecture, with
the same state_dict keys and the same repr. Copying torch's state_dict into
deepgrad's model must then give outputs, parameter gradients and BatchNorm
running statistics equal to a relative 1e-10.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
from deepgrad import nn

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-10, 1e-12


def assert_matches(ours, theirs) -> None:
    expected = theirs.detach().numpy()
    actual = ours.array if isinstance(ours, dg.Tensor) else np.asarray(ours)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def copy_torch_weights(ours: nn.Module, theirs) -> None:
    ours.load_state_dict(
        {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    )


def mlp(library):
    """Every layer type, built from ``library`` = torch.nn or deepgrad.nn."""
    return library.Sequential(
        library.Flatten(),
        library.Linear(6, 8),
        library.BatchNorm1d(8),
        library.ReLU(),
        library.Linear(8, 8),
        library.LeakyReLU(0.2),
        library.Dropout(0.5),
        library.Linear(8, 8),
        library.GELU(),
        library.Linear(8, 8, bias=False),
        library.GELU(approximate="tanh"),
        library.Linear(8, 8),
        library.Tanh(),
        library.Identity(),
        library.Linear(8, 5),
        library.Sigmoid(),
        library.Linear(5, 3),
        library.Softmax(dim=1),
    )


def twin_models(seed: int = 0):
    """A float64 torch model with non-default BatchNorm state, and its deepgrad copy."""
    torch.manual_seed(seed)
    theirs = mlp(torch.nn).double()
    batch_norm = theirs[2]
    with torch.no_grad():
        batch_norm.weight.uniform_(0.5, 1.5)
        batch_norm.bias.uniform_(-0.5, 0.5)
        batch_norm.running_mean.uniform_(-0.2, 0.2)
        batch_norm.running_var.uniform_(0.5, 1.5)
    ours = mlp(nn).double()
    copy_torch_weights(ours, theirs)
    return ours, theirs


def assert_same_forward_and_backward(ours, theirs, x: np.ndarray, seed: int) -> None:
    """Equal outputs, then equal gradients of every parameter for one backward pass."""
    output_ours, output_theirs = ours(dg.tensor(x)), theirs(torch.tensor(x))
    assert_matches(output_ours, output_theirs)
    grad_output = np.random.default_rng(seed).standard_normal(output_theirs.shape)
    output_ours.backward(grad_output)
    output_theirs.backward(torch.tensor(grad_output))
    theirs_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == list(theirs_params)
    for name, param in ours_params.items():
        assert param.grad is not None, name
        assert_matches(param.grad, theirs_params[name].grad)
    ours.zero_grad()
    theirs.zero_grad()


# ---------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------
def test_linear_weight_is_out_by_in_like_torch():
    layer, reference = nn.Linear(3, 5), torch.nn.Linear(3, 5)
    assert layer.weight.shape == tuple(reference.weight.shape) == (5, 3)
    assert layer.bias.shape == tuple(reference.bias.shape) == (5,)
    assert nn.Linear(3, 5, bias=False).bias is None


def test_linear_default_init_is_uniform_within_one_over_sqrt_in_features_as_torch():
    in_features, out_features = 400, 300
    dg.manual_seed(0)
    torch.manual_seed(0)
    layer = nn.Linear(in_features, out_features)
    reference = torch.nn.Linear(in_features, out_features)
    bound = 1 / math.sqrt(in_features)

    for ours, theirs in (
        (layer.weight.array, reference.weight.detach().numpy()),
        (layer.bias.array, reference.bias.detach().numpy()),
    ):
        assert np.abs(ours).max() <= bound
        assert np.abs(theirs).max() <= bound
        # U(-b, b) has mean 0 and variance b^2 / 3; tolerances are ~5 standard errors
        standard_error = bound / math.sqrt(3 * ours.size)
        assert abs(ours.mean()) < 5 * standard_error
        assert ours.var() == pytest.approx(
            bound**2 / 3, rel=5 * math.sqrt(0.8 / ours.size)
        )
        assert ours.var() == pytest.approx(
            theirs.var(), rel=10 * math.sqrt(0.8 / ours.size)
        )
    assert np.abs(layer.weight.array).max() > 0.99 * bound


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 6),
    in_features=st.integers(1, 5),
    out_features=st.integers(1, 5),
    bias=st.booleans(),
    three_d=st.booleans(),
)
def test_linear_loaded_from_a_torch_state_dict_gives_torchs_outputs_and_gradients(
    batch, in_features, out_features, bias, three_d
):
    theirs = torch.nn.Linear(in_features, out_features, bias=bias).double()
    ours = nn.Linear(in_features, out_features, bias=bias).double()
    copy_torch_weights(ours, theirs)
    shape = (batch, 2, in_features) if three_d else (batch, in_features)
    x = np.random.default_rng(batch).standard_normal(shape)

    assert_same_forward_and_backward(ours, theirs, x, seed=batch)


# ---------------------------------------------------------------------------
# Sequential of every layer
# ---------------------------------------------------------------------------
def test_same_architecture_has_torchs_state_dict_keys_and_repr():
    ours, theirs = mlp(nn), mlp(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    for flag in (True, False):
        for layer, reference in (
            (nn.Linear(2, 3, bias=flag), torch.nn.Linear(2, 3, bias=flag)),
            (nn.BatchNorm1d(4, affine=flag), torch.nn.BatchNorm1d(4, affine=flag)),
        ):
            assert list(layer.state_dict()) == list(reference.state_dict())
            assert repr(layer) == repr(reference)


def test_sequential_matches_torch_over_training_steps_and_in_eval():
    ours, theirs = twin_models()
    rng = np.random.default_rng(1)
    ours.train()
    theirs.train()
    # Dropout's masks come from different generators, so it alone is put in eval
    # for the training-mode comparison; its training behaviour is tested below.
    ours[6].eval()
    theirs[6].eval()
    for step in range(4):
        x = rng.standard_normal((16, 2, 3)) * (step + 1)
        assert_same_forward_and_backward(ours, theirs, x, seed=step)

    batch_norm, reference = ours[2], theirs[2]
    assert_matches(batch_norm.running_mean, reference.running_mean)
    assert_matches(batch_norm.running_var, reference.running_var)
    assert (
        batch_norm.num_batches_tracked.item()
        == reference.num_batches_tracked.item()
        == 4
    )

    ours.eval()
    theirs.eval()
    assert_same_forward_and_backward(
        ours, theirs, rng.standard_normal((5, 2, 3)), seed=9
    )
    assert batch_norm.num_batches_tracked.item() == 4
    assert_matches(batch_norm.running_mean, reference.running_mean)


def test_state_dict_after_training_loads_back_into_torch_unchanged():
    ours, theirs = twin_models(seed=3)
    ours.train()
    ours[6].eval()
    ours(dg.tensor(np.random.default_rng(2).standard_normal((8, 2, 3))))
    state = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), ours.state_dict()[key].numpy())


# ---------------------------------------------------------------------------
# train() / eval(): Dropout and BatchNorm1d
# ---------------------------------------------------------------------------
def test_train_and_eval_set_training_on_every_submodule():
    model = mlp(nn)
    assert all(module.training for module in model.modules())
    assert model.eval() is model
    assert not any(module.training for module in model.modules())
    model.train()
    assert all(module.training for module in model.modules())


def test_dropout_is_the_identity_in_eval_and_random_in_training():
    dropout = nn.Dropout(0.5)
    x = dg.ones(4, 50, dtype=dg.float64)
    dg.manual_seed(0)
    assert (dropout(x).array == 0).any()
    dropout.eval()
    np.testing.assert_array_equal(dropout(x).array, x.array)


def test_dropout_zeroes_about_p_of_elements_and_scales_the_rest_by_1_over_1_minus_p():
    p, shape = 0.3, (200, 500)
    dropout = nn.Dropout(p)
    x = dg.ones(*shape, dtype=dg.float64, requires_grad=True)

    dg.manual_seed(123)
    out = dropout(x)
    out.sum().backward()

    dropped = out.array == 0
    # the dropped fraction has standard deviation sqrt(p (1 - p) / n) = 0.0014
    assert dropped.mean() == pytest.approx(
        p, abs=5 * math.sqrt(p * (1 - p) / x.numel())
    )
    np.testing.assert_allclose(out.array[~dropped], 1 / (1 - p), rtol=1e-15)
    np.testing.assert_array_equal(x.grad.array, out.array)  # d out / d x is the mask
    dg.manual_seed(123)
    np.testing.assert_array_equal(dropout(x).array, out.array)  # same seed, same mask


def test_batch_norm_uses_and_updates_batch_statistics_only_in_training():
    layer = nn.BatchNorm1d(3).double()
    x = dg.tensor(np.random.default_rng(4).standard_normal((10, 3)) * 3 + 2)

    out = layer(x)
    np.testing.assert_allclose(out.array.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean.array, 0.1 * x.array.mean(axis=0))
    running_mean = layer.running_mean.array.copy()
    running_var = layer.running_var.array.copy()

    layer.eval()
    out = layer(x)
    expected = (x.array - running_mean) / np.sqrt(running_var + 1e-5)
    np.testing.assert_allclose(out.array, expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.running_mean.array, running_mean)
    np.testing.assert_array_equal(layer.running_var.array, running_var)
    assert layer.num_batches_tracked.item() == 1


# ---------------------------------------------------------------------------
# Loss modules
# ---------------------------------------------------------------------------
def _loss_cases():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((6, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2, 0])
    probabilities = 1 / (1 + np.exp(-rng.standard_normal((6, 4))))
    binary = (rng.random((6, 4)) > 0.5).astype(np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    class_weight = np.array([0.5, 1.0, 2.0, 1.5])
    regression_target = rng.standard_normal((6, 4))
    return [
        ("BCELoss", {}, probabilities, binary),
        (
            "BCELoss",
            {"weight": class_weight, "reduction": "sum"},
            probabilities,
            binary,
        ),
        ("BCEWithLogitsLoss", {}, logits, binary),
        (
            "BCEWithLogitsLoss",
            {"pos_weight": class_weight, "reduction": "none"},
            logits,
            binary,
        ),
        ("CrossEntropyLoss", {}, logits, labels),
        (
            "CrossEntropyLoss",
            {"weight": class_weight, "ignore_index": 1},
            logits,
            labels,
        ),
        ("CrossEntropyLoss", {"reduction": "none"}, logits, probabilities),
        ("NLLLoss", {}, log_probs, labels),
        ("NLLLoss", {"weight": class_weight, "reduction": "sum"}, log_probs, labels),
        ("MSELoss", {}, logits, regression_target),
        ("L1Loss", {"reduction": "sum"}, logits, regression_target),
    ]


@pytest.mark.parametrize(
    ("name", "options", "input", "target"),
    _loss_cases(),
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_loss_modules_equal_torchs_values_gradients_and_repr(
    name, options, input, target
):
    def options_for(to_tensor):
        return {
            k: to_tensor(v) if isinstance(v, np.ndarray) else v
            for k, v in options.items()
        }

    ours = getattr(nn, name)(**options_for(dg.tensor))
    theirs = getattr(torch.nn, name)(**options_for(torch.tensor))
    x_ours = dg.tensor(input, requires_grad=True)
    x_theirs = torch.tensor(input, requires_grad=True)

    loss_ours = ours(x_ours, dg.tensor(target))
    loss_theirs = theirs(x_theirs, torch.tensor(target))
    assert_matches(loss_ours, loss_theirs)
    grad_output = np.random.default_rng(6).standard_normal(loss_theirs.shape)
    loss_ours.backward(grad_output)
    loss_theirs.backward(torch.tensor(grad_output))
    assert_matches(x_ours.grad, x_theirs.grad)
    assert repr(ours) == repr(theirs)


def test_loss_modules_reject_an_unknown_reduction():
    with pytest.raises(
        ValueError,
        match="MSELoss: reduction must be 'mean', 'sum' or 'none', received: 'avg'",
    ):
        nn.MSELoss(reduction="avg")


# ---------------------------------------------------------------------------
# model_gradcheck
# ---------------------------------------------------------------------------
def test_model_gradcheck_agrees_per_parameter_and_leaves_the_model_untouched():
    dg.manual_seed(0)
    # (no bias right before BatchNorm: its gradient is exactly 0, its error undefined)
    model = nn.Sequential(
        nn.Linear(3, 5),
        nn.Tanh(),
        nn.BatchNorm1d(5),
        nn.Linear(5, 4),
        nn.GELU(),
        nn.Linear(4, 3),
    )
    x = dg.randn(6, 3)
    y = dg.tensor([0, 2, 1, 1, 0, 2])
    before = {k: v.array.copy() for k, v in model.state_dict().items()}

    errors = dg.model_gradcheck(model, nn.CrossEntropyLoss(), x, y)

    assert list(errors) == [name for name, _ in model.named_parameters()]
    assert all(error < 1e-6 for error in errors.values()), errors
    after = model.state_dict()
    for key, value in before.items():
        assert after[key].dtype == value.dtype  # still float32, not the float64 copy
        np.testing.assert_array_equal(after[key].array, value)
    assert all(param.grad is None for param in model.parameters())


def test_model_gradcheck_reports_a_large_error_for_a_wrong_backward():
    class BrokenSquare(nn.Module):
        """x^2 whose backward forgets the factor 2."""

        def forward(self, input):
            out = input.array * input.array
            return dg.Tensor._make(
                out, (input,), lambda g: (g * input.array,), "Broken"
            )

    model = nn.Sequential(nn.Linear(2, 3), BrokenSquare(), nn.Linear(3, 1))
    x, y = dg.randn(4, 2), dg.randn(4, 1)

    errors = dg.model_gradcheck(copy.deepcopy(model), nn.MSELoss(), x, y)

    assert errors["0.weight"] > 0.1
    assert errors["2.weight"] < 1e-6
