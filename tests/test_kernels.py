"""Numba's kernels (deepgrad.kernels, the `fast` extra) are the NumPy step, fused.

Each kernel is compared with the NumPy code of deepgrad.fast it replaces (float64:
to 1e-12; float32: to its rounding), the fused optimizers with torch.optim over
50 steps, and fit with the kernels with fit on the NumPy path. The kernels compile
once per process (about a second), so the tests share one loaded module.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import fast, nn
from deepgrad.train import fit

LOSS_KINDS = ["bce_logits", "bce_sigmoid", "cross_entropy", "mse"]


@pytest.fixture(params=["numba-jit", "numba-aot"])
def kernels(request):
    """Each kernel test runs twice: on the kernels Numba compiles in this process,
    and on the same kernels built ahead of time (deepgrad.kernels_aot)."""
    if request.param == "numba-aot":
        return request.getfixturevalue("built_kernels")
    return fast.load_kernels()


DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: 1e-6, np.float64: 1e-12}

# the NumPy path of each fused activation: forward into a buffer, derivative
NUMPY_ACTIVATIONS = {
    "relu": fast.ACTIVATIONS[nn.ReLU],
    "sigmoid": fast.ACTIVATIONS[nn.Sigmoid],
    "tanh": fast.ACTIVATIONS[nn.Tanh],
    "leaky_relu": fast._leaky(0.03),
}


def _arrays(dtype, *shapes, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.standard_normal(shape)).astype(dtype) for shape in shapes]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(NUMPY_ACTIVATIONS))
def test_fused_bias_activation_and_its_backward_equal_the_numpy_step(
    kernels, name, dtype
):
    """Z += b, A = f(Z) in one pass equals NumPy's two; delta *= f'(Z) with the
    bias gradient (the column sums of delta) equals the derivative and np.add.reduce."""
    z, bias, delta = _arrays(dtype, (37, 19), (19,), (37, 19))
    forward, derivative = NUMPY_ACTIVATIONS[name]
    fused_forward, fused_backward = fast._fused(kernels, name, 0.03)

    numpy_z, numpy_a = z + bias, np.empty_like(z)
    forward(numpy_z, numpy_a)
    kernel_z, kernel_a = z.copy(), np.empty_like(z)
    fused_forward(kernel_z, bias, kernel_a)
    tolerance = TOLERANCE[dtype]
    np.testing.assert_array_equal(kernel_z, numpy_z)
    np.testing.assert_allclose(kernel_a, numpy_a, rtol=tolerance, atol=tolerance)

    numpy_delta = delta.copy()
    derivative(numpy_delta, numpy_z, numpy_a)
    numpy_grad_bias = np.add.reduce(numpy_delta, axis=0)
    kernel_delta, kernel_grad_bias = delta.copy(), np.full_like(bias, np.nan)
    fused_backward(kernel_delta, numpy_z, numpy_a, kernel_grad_bias)
    np.testing.assert_allclose(
        kernel_delta, numpy_delta, rtol=tolerance, atol=tolerance
    )
    np.testing.assert_allclose(
        kernel_grad_bias, numpy_grad_bias, rtol=tolerance, atol=10 * tolerance
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(NUMPY_ACTIVATIONS))
def test_feature_major_kernels_equal_the_numpy_step_on_transposed_buffers(
    kernels, name, dtype
):
    """A hidden layer's transposed buffers (Z^T, A^T, delta^T: features x samples):
    bias per row + f equals NumPy's Z + b and f on Z, transposed, to the last bit
    for Z; the fused backward (f' elementwise, db as a gemv over delta^T) equals
    NumPy's derivative and column sums."""
    z, bias, delta = _arrays(dtype, (37, 19), (19,), (37, 19))
    forward, derivative = NUMPY_ACTIVATIONS[name]
    make = fast._fused_feature_major(kernels, name, 0.03)
    fused_forward, fused_backward = make(37, np.dtype(dtype))

    numpy_z, numpy_a = z + bias, np.empty_like(z)
    forward(numpy_z, numpy_a)
    zt, at = np.ascontiguousarray(z.T), np.empty((19, 37), dtype)
    fused_forward(zt.T, bias, at.T)  # called with (samples, features) views
    tolerance = TOLERANCE[dtype]
    np.testing.assert_array_equal(zt.T, numpy_z)
    np.testing.assert_allclose(at.T, numpy_a, rtol=tolerance, atol=tolerance)

    numpy_delta = delta.copy()
    derivative(numpy_delta, numpy_z, numpy_a)
    deltat, grad_bias = np.ascontiguousarray(delta.T), np.full_like(bias, np.nan)
    # from NumPy's A, as the test above: 1 - A^2 magnifies an ulp of tanh near +-1
    numpy_at = np.ascontiguousarray(numpy_a.T)
    fused_backward(deltat.T, zt.T, numpy_at.T, grad_bias)
    np.testing.assert_allclose(deltat.T, numpy_delta, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(
        grad_bias, numpy_delta.sum(axis=0), rtol=tolerance, atol=10 * tolerance
    )


def test_with_kernels_hidden_layers_are_feature_major_and_numpy_is_unchanged(
    kernels,
):
    """With the kernels, a hidden layer's Z, A and delta are views of
    (features, samples) arrays, so NumPy hands each GEMM to BLAS in its fastest
    layout; the last layer, and every layer on the NumPy path, stay
    (samples, features) C arrays."""
    model = nn.Sequential(
        nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)
    )
    for chosen, hidden_layout in ((kernels, "F_CONTIGUOUS"), (None, "C_CONTIGUOUS")):
        step = fast.compile_step(
            model, nn.CrossEntropyLoss(), dg.optim.Adam(model.parameters())
        )
        step = fast.CompiledStep(
            step.layers, "cross_entropy", step.optimizer, chosen,
            [("relu", None), ("tanh", None), (None, None)],
        )  # fmt: skip
        plan = step._plan(16, np.dtype(np.float32))
        for layer in plan[:2]:
            for array in (layer.z, layer.a, layer.delta):
                assert array.flags[hidden_layout] and array.shape[0] == 16
        assert all(array.flags.c_contiguous for array in plan[2][5:8])


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_sum_kernel_sums_delta_over_the_batch_as_numpy_does(kernels, dtype):
    """The last layer's bias gradient: column sums in row order, NumPy's axis-0 order
    (equal to the last bit)."""
    (delta,) = _arrays(dtype, (129, 10))
    grad_bias = np.full(10, np.nan, dtype)
    kernels.bias_sum(delta, grad_bias)
    np.testing.assert_array_equal(grad_bias, np.add.reduce(delta, axis=0))


def _loss_inputs(kind, dtype):
    rng = np.random.default_rng(1)
    z = (3 * rng.standard_normal((23, 7))).astype(dtype)
    if kind == "cross_entropy":
        z[0, 0] = 80  # a confident row: the softmax must not overflow
        return z, rng.integers(0, 7, 23)
    if kind == "bce_sigmoid":
        p = 1 / (1 + np.exp(-z))
        p[0, :2] = (0, 1)  # log 0: clamped at -100 as PyTorch
        return p.astype(dtype), rng.integers(0, 2, z.shape).astype(dtype)
    if kind == "bce_logits":
        z[0, 0] = -120  # e^-z would overflow
        return z, rng.random(z.shape).astype(dtype)
    return z, rng.standard_normal(z.shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_fused_loss_kernels_give_the_numpy_loss_and_delta(kernels, kind, dtype):
    """Each loss kernel returns fast's NumPy loss and writes its dL/dZ, in one pass."""
    output, target = _loss_inputs(kind, dtype)
    numpy_delta, kernel_delta = np.empty_like(output), np.empty_like(output)
    scratch = np.empty((2, *output.shape), dtype)
    with np.errstate(divide="ignore"):  # log 0, clamped, as fit runs it
        numpy_loss = fast._LOSSES[kind](output, target, numpy_delta, scratch)
    kernel_loss = fast._kernel_loss(kernels, kind)(output, target, kernel_delta, None)
    tolerance = TOLERANCE[dtype]
    assert np.isfinite(kernel_loss)
    np.testing.assert_allclose(kernel_loss, numpy_loss, rtol=tolerance)
    np.testing.assert_allclose(
        kernel_delta, numpy_delta, rtol=tolerance, atol=tolerance * 1e-2
    )


# (deepgrad optimizer, torch optimizer, keyword arguments both take)
OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.05}),
    "sgd-momentum-dampening": ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    "sgd-nesterov-decay": (
        "SGD",
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
    ),
    "adam": ("Adam", {"lr": 1e-2}),
    "adam-l2": ("Adam", {"lr": 1e-2, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    "adamw": ("AdamW", {"lr": 1e-2, "weight_decay": 0.1}),
    "rmsprop": ("RMSprop", {"lr": 1e-2}),
    "rmsprop-momentum-decay": (
        "RMSprop",
        {"lr": 1e-2, "alpha": 0.9, "momentum": 0.5, "weight_decay": 0.01},
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_optimizer_follows_torch_optim_for_50_steps(kernels, name, dtype):
    """The one-pass update over the flat buffers gives torch.optim's parameters and
    state (float64: 1e-10) and, in float32, NumPy's per-parameter step()."""
    class_name, options = OPTIMIZERS[name]
    shapes = [(5, 3), (5,), (2, 5)]
    initial = _arrays(dtype, *shapes, seed=2, scale=1.0)
    params = [dg.tensor(a.copy(), requires_grad=True) for a in initial]
    optimizer = getattr(dg.optim, class_name)(params, **options)
    flat = fast._FlatUpdate.create(optimizer, params, kernels)
    assert flat is not None and flat.kernels is kernels
    reference = [dg.tensor(a.copy(), requires_grad=True) for a in initial]
    reference_optimizer = getattr(dg.optim, class_name)(reference, **options)
    torch_params = [torch.tensor(a.copy(), requires_grad=True) for a in initial]
    torch_optimizer = getattr(torch.optim, class_name)(torch_params, **options)
    rng = np.random.default_rng(3)
    for _ in range(50):
        for param, ref, torch_param in zip(
            params, reference, torch_params, strict=True
        ):
            grad = rng.standard_normal(param.shape).astype(dtype)
            param.grad.array[...] = grad
            ref.grad = dg.tensor(grad)
            torch_param.grad = torch.tensor(grad)
        assert flat.ready()
        flat.step()
        reference_optimizer.step()
        torch_optimizer.step()
    tolerance = 1e-10 if dtype == np.float64 else 1e-5
    for param, ref, torch_param in zip(params, reference, torch_params, strict=True):
        np.testing.assert_allclose(
            param.array, torch_param.detach().numpy(), rtol=tolerance, atol=tolerance
        )
        np.testing.assert_allclose(
            param.array, ref.array, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype]
        )
        torch_state = torch_optimizer.state[torch_param]
        for key, value in torch_state.items():
            if key != "step":
                np.testing.assert_allclose(
                    optimizer.state[param][key],
                    value.numpy(),
                    rtol=tolerance,
                    atol=tolerance,
                    err_msg=key,
                )


def _fit_losses_and_weights(monkeypatch, backend, make_optimizer, loss_fn, y):
    monkeypatch.setenv("DEEPGRAD_KERNELS", backend)
    dg.manual_seed(5)
    x = np.random.default_rng(6).standard_normal((300, 8)).astype(np.float32)
    model = nn.Sequential(
        nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(),
        nn.Linear(16, y.shape[1] if y.ndim == 2 else 3),
    )  # fmt: skip
    history = fit(
        model, loss_fn, make_optimizer(model), (x, y), epochs=4, batch_size=64,
        verbose=0, seed=0,
    )  # fmt: skip
    return np.array(history.history["loss"]), [
        p.array.copy() for p in model.parameters()
    ]


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda m: dg.optim.Adam(m.parameters(), lr=1e-2),
        lambda m: dg.optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
        lambda m: dg.optim.RMSprop(m.parameters(), lr=1e-3),
    ],
    ids=["adam", "sgd-momentum", "rmsprop"],
)
@pytest.mark.parametrize("backend", ["numba-jit", "numba-aot"])
def test_fit_with_kernels_equals_fit_on_the_numpy_path(
    monkeypatch, request, backend, make_optimizer
):
    """fit's losses and final weights are the same with DEEPGRAD_KERNELS=numba-jit
    or numba-aot and =numpy (float32 rounding), for classification and regression."""
    if backend == "numba-aot":
        request.getfixturevalue("built_kernels")
    rng = np.random.default_rng(7)
    for loss_fn, y in [
        (nn.CrossEntropyLoss(), rng.integers(0, 3, 300)),
        (nn.MSELoss(), rng.standard_normal((300, 2)).astype(np.float32)),
    ]:
        numpy_losses, numpy_weights = _fit_losses_and_weights(
            monkeypatch, "numpy", make_optimizer, loss_fn, y
        )
        numba_losses, numba_weights = _fit_losses_and_weights(
            monkeypatch, backend, make_optimizer, loss_fn, y
        )
        assert numpy_losses[-1] < numpy_losses[0]  # it learns: the steps matter
        np.testing.assert_allclose(numba_losses, numpy_losses, rtol=1e-5)
        for numba_weight, numpy_weight in zip(
            numba_weights, numpy_weights, strict=True
        ):
            np.testing.assert_allclose(numba_weight, numpy_weight, rtol=1e-4, atol=1e-5)


def _mlp_step(steps, kernels_option=None):
    model = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    return fast.compile_step(
        model, nn.BCELoss(), optimizer, kernels=kernels_option, steps=steps
    )


def test_auto_loads_the_kernels_only_for_runs_past_the_break_even(monkeypatch):
    """With DEEPGRAD_KERNELS unset and nothing built, short runs (and unknown
    lengths) take NumPy; a run of at least the break-even's parameter updates
    (plain SGD's, here) takes Numba's JIT."""
    monkeypatch.delenv("DEEPGRAD_KERNELS", raising=False)
    parameters = 4 * 3 + 3 + 3 + 1
    short = int(fast.KERNELS_BREAK_EVEN_PLAIN_SGD // parameters) - 1
    assert _mlp_step(short).kernels_name == "numpy"
    assert _mlp_step(None).kernels_name == "numpy"
    assert _mlp_step(short + 2).kernels_name == "numba-jit"
    assert _mlp_step(short + 2, "numpy").kernels_name == "numpy"
    assert _mlp_step(None, "numba").kernels_name == "numba-jit"
    assert _mlp_step(None, "numba-jit").kernels_name == "numba-jit"
    # Adam gains more a step than plain SGD: its break-even comes sooner
    adam_steps = int(fast.KERNELS_BREAK_EVEN // parameters) + 1
    assert adam_steps < short
    model = nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    adam = dg.optim.Adam(model.parameters())
    step = fast.compile_step(model, nn.BCELoss(), adam, steps=adam_steps)
    assert step.kernels_name == "numba-jit"


def test_auto_takes_a_build_from_its_lower_threshold_and_numba_prefers_it(
    monkeypatch, built_kernels
):
    """With a build for this machine, auto runs it from KERNELS_BREAK_EVEN_AOT
    parameter updates (it loads in milliseconds) and NumPy below (small runs stay
    on the reference path); "numba" takes the build, "numba-jit" still compiles."""
    monkeypatch.delenv("DEEPGRAD_KERNELS", raising=False)
    parameters = 4 * 3 + 3 + 3 + 1
    below = int(fast.KERNELS_BREAK_EVEN_AOT // parameters) - 1
    assert _mlp_step(below).kernels_name == "numpy"
    assert _mlp_step(below + 2).kernels_name == "numba-aot"
    assert _mlp_step(below + 2).kernels is built_kernels
    assert _mlp_step(None, "numba").kernels_name == "numba-aot"
    assert _mlp_step(None, "numba-aot").kernels_name == "numba-aot"
    assert _mlp_step(None, "numba-jit").kernels_name == "numba-jit"


def test_asking_for_a_build_where_there_is_none_says_how_to_build(monkeypatch):
    """kernels="numba-aot" without a build names the command that builds it."""
    with pytest.raises(RuntimeError, match=r"run `deepgrad kernels --build` once"):
        _mlp_step(None, "numba-aot")


def test_a_bad_backend_name_is_refused_naming_the_choices(monkeypatch):
    """DEEPGRAD_KERNELS or kernels= outside the backends raises a ValueError."""
    monkeypatch.setenv("DEEPGRAD_KERNELS", "cuda")
    with pytest.raises(ValueError, match=r"DEEPGRAD_KERNELS must be one of auto, "
                       r"numba, numba-aot, numba-jit, numpy, received: 'cuda'"):  # fmt: skip
        _mlp_step(10)
    with pytest.raises(ValueError, match="kernels must be one of .* received: 'fast'"):
        _mlp_step(10, "fast")


def test_asking_for_numba_without_it_names_the_extra(monkeypatch):
    """kernels='numba' where Numba cannot be imported says which extra to install;
    'auto' falls back to NumPy."""
    import deepgrad

    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises
    monkeypatch.delitem(sys.modules, "deepgrad.kernels")
    monkeypatch.delattr(deepgrad, "kernels")
    monkeypatch.setattr(fast, "kernels_installed", lambda: False)
    with pytest.raises(ImportError, match=r"pip install 'deepgrad\[fast\]'"):
        _mlp_step(10, "numba")
    assert _mlp_step(10**12, "auto").kernels_name == "numpy"


def test_import_deepgrad_and_the_lab_xor_fit_never_import_numba():
    """`import deepgrad` and a small fit (auto backend) leave Numba unimported."""
    code = (
        "import sys, numpy as np, deepgrad as dg\n"
        "from deepgrad import nn\n"
        "assert 'numba' not in sys.modules, 'import deepgrad imported numba'\n"
        "x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)\n"
        "y = np.array([[0], [1], [1], [0]], np.float32)\n"
        "m = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())\n"
        "dg.train.fit(m, nn.BCELoss(), dg.optim.SGD(m.parameters(), lr=0.1), (x, y),\n"
        "             epochs=50, batch_size=None, verbose=0)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('numba', 'llvmlite')))"
    )
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    path = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    env = {k: v for k, v in os.environ.items() if k != "DEEPGRAD_KERNELS"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        env={**env, "PYTHONPATH": path},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_kernels_cache_their_machine_code_in_the_user_cache_folder(tmp_path):
    """Without NUMBA_CACHE_DIR, load_kernels points Numba at
    $XDG_CACHE_HOME/deepgrad/numba, and a compiled kernel leaves its index there."""
    code = (
        "import os, numpy as np\n"
        "from deepgrad import fast\n"
        "k = fast.load_kernels()\n"
        "k.sgd(np.zeros(3), np.ones(3), 0.5)\n"
        "print(os.environ['NUMBA_CACHE_DIR'])"
    )
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    cache = tmp_path / "deepgrad" / "numba"
    assert result.stdout.strip() == str(cache)
    assert any(path.suffix == ".nbi" for path in cache.rglob("*"))


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: dg.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True),
        lambda params: dg.optim.RMSprop(params, lr=1e-2, momentum=0.5),
    ],
    ids=["sgd-nesterov", "rmsprop-momentum"],
)
def test_flat_states_survive_a_state_dict_round_trip_mid_run(make_optimizer):
    """The kernel-only flat updates (SGD momentum, RMSprop) keep their state visible
    per parameter: a state_dict round trip mid-run keeps (or, if replaced, falls back
    from) the flat state, and 10 steps equal 10 eager steps (float64: 1e-12)."""
    dg.manual_seed(8)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    eager = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    model.double(), eager.double()
    eager.load_state_dict(model.state_dict())
    optimizer, eager_optimizer = (
        make_optimizer(model.parameters()),
        make_optimizer(eager.parameters()),
    )
    step = fast.compile_step(model, nn.CrossEntropyLoss(), optimizer, kernels="numba")
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((16, 6)), rng.integers(0, 3, 16)
    loss_fn = nn.CrossEntropyLoss()
    for index in range(10):
        if index == 5:
            assert step._flat.ready()
            optimizer.load_state_dict(optimizer.state_dict())
        if index == 7:  # state replaced by copies: the flat update must stand down
            for state in optimizer.state.values():
                for key, value in state.items():
                    if isinstance(value, np.ndarray):
                        state[key] = value.copy()
            assert not step._flat.ready()
        step(x, y)
        eager_optimizer.zero_grad()
        loss_fn(eager(dg.tensor(x)), dg.tensor(y)).backward()
        eager_optimizer.step()
    for name, parameter in model.named_parameters():
        expected = dict(eager.named_parameters())[name].array
        np.testing.assert_allclose(parameter.array, expected, rtol=1e-12, atol=1e-12)
