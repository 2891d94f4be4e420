"""deepgrad.interop: to_torch / from_torch round trips, state_dicts both ways.

For every layer both libraries have, a converted model must give the original's
outputs (to 1e-6 in float32, 1e-12 in float64), in eval and in train mode (the
same BatchNorm running statistics after a training forward), with the same
state_dict keys, dtype and mode; and weights saved by one library load in the
other, directly and through safetensors files.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.interop import (
    LAYERS,
    UnsupportedLayerError,
    from_torch,
    load_safetensors,
    to_torch,
)

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

TOLERANCE = {np.float32: 1e-6, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]


# Each LAYERS entry in a model built from either library (deepgrad.nn or
# torch.nn: the same constructor arguments), with one sample's shape.
CASES = {
    "Linear": lambda lib: (
        lib.Sequential(lib.Linear(5, 4), lib.Linear(4, 3, bias=False)),
        (5,),
    ),
    "BatchNorm1d": lambda lib: (
        lib.Sequential(
            lib.Linear(5, 4),
            lib.BatchNorm1d(4, eps=1e-3, momentum=0.3),
            lib.BatchNorm1d(4, affine=False),
            lib.BatchNorm1d(4, track_running_stats=False),
        ),
        (5,),
    ),
    "Identity": lambda lib: (lib.Sequential(lib.Identity(), lib.Linear(5, 2)), (5,)),
    "Flatten": lambda lib: (
        lib.Sequential(lib.Flatten(), lib.Linear(6, 2), lib.Flatten(0)),
        (2, 3),
    ),
    "ReLU": lambda lib: (lib.Sequential(lib.Linear(5, 6), lib.ReLU()), (5,)),
    "Sigmoid": lambda lib: (lib.Sequential(lib.Linear(5, 6), lib.Sigmoid()), (5,)),
    "Tanh": lambda lib: (lib.Sequential(lib.Linear(5, 6), lib.Tanh()), (5,)),
    "LeakyReLU": lambda lib: (
        lib.Sequential(lib.Linear(5, 6), lib.LeakyReLU(0.2)),
        (5,),
    ),
    "GELU": lambda lib: (
        lib.Sequential(lib.Linear(5, 6), lib.GELU(), lib.GELU(approximate="tanh")),
        (5,),
    ),
    "Softmax": lambda lib: (lib.Sequential(lib.Linear(5, 3), lib.Softmax(dim=1)), (5,)),
    "LogSoftmax": lambda lib: (
        lib.Sequential(lib.Linear(5, 3), lib.LogSoftmax(dim=-1)),
        (5,),
    ),
    "Dropout": lambda lib: (lib.Sequential(lib.Linear(5, 6), lib.Dropout(0.0)), (5,)),
    "ELU": lambda lib: (lib.Sequential(lib.Linear(5, 6), lib.ELU(alpha=0.5)), (5,)),
    "SiLU": lambda lib: (lib.Sequential(lib.Linear(5, 6), lib.SiLU()), (5,)),
    "Mish": lambda lib: (lib.Sequential(lib.Linear(5, 6), lib.Mish()), (5,)),
    "Softplus": lambda lib: (  # beta x > threshold takes x: both rules are met
        lib.Sequential(lib.Linear(5, 6), lib.Softplus(beta=2.0, threshold=1.5)),
        (5,),
    ),
    "Hardtanh": lambda lib: (
        lib.Sequential(lib.Linear(5, 6), lib.Hardtanh(-0.5, 0.75)),
        (5,),
    ),
    "PReLU": lambda lib: (
        lib.Sequential(lib.Linear(5, 6), lib.PReLU(), lib.PReLU(6, init=0.1)),
        (5,),
    ),
    "LayerNorm": lambda lib: (
        lib.Sequential(
            lib.LayerNorm([2, 3], eps=1e-3),
            lib.Flatten(),
            lib.Linear(6, 4),
            lib.LayerNorm(4, bias=False),
            lib.LayerNorm(4, elementwise_affine=False),
        ),
        (2, 3),
    ),
    "Embedding": lambda lib: (
        lib.Sequential(
            lib.Embedding(10, 4, padding_idx=2), lib.Flatten(), lib.Linear(12, 3)
        ),
        (3,),
    ),
}
# Layers whose input is indices into their rows (CASES builds them with 10)
INDEX_INPUTS = {"Embedding"}
EXAMPLES = [
    pytest.param(name, dtype, id=f"{name}-{dtype.__name__}")
    for name in CASES
    for dtype in DTYPES
]


def sample(name: str, rng, size: tuple[int, ...], dtype) -> np.ndarray:
    """Random inputs for ``name``'s case: indices 0..9, or normal values."""
    if name in INDEX_INPUTS:
        return rng.integers(0, 10, size=size)
    return rng.normal(size=size).astype(dtype)


def perturb(parameters, rng) -> None:
    """Move each parameter off its initial value (LayerNorm's ones and zeros,
    PReLU's constant slopes), so the weights copied make a difference."""
    for parameter in parameters:  # in place, through a view of either library's
        values = parameter.detach().numpy() if torch.is_tensor(parameter) else None
        values = parameter.array if values is None else values
        values += rng.normal(0, 0.5, values.shape)


def deepgrad_output(model, inputs: np.ndarray) -> np.ndarray:
    with dg.no_grad():
        return model(dg.tensor(inputs)).array


def torch_output(model, inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(inputs)).numpy()


def assert_same_state(deepgrad_model, torch_model) -> None:
    ours = deepgrad_model.state_dict()
    theirs = torch_model.state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert ours[key].array.dtype == value.numpy().dtype, key
        np.testing.assert_array_equal(ours[key].array, value.numpy(), err_msg=key)


def deepgrad_model(name: str, dtype) -> tuple[nn.Module, tuple[int, ...]]:
    """A deepgrad model of ``name``'s case with random weights and BatchNorm
    running statistics (from a training forward pass)."""
    dg.manual_seed(0)
    model, shape = CASES[name](nn)
    if dtype is np.float64:
        model.double()
    rng = np.random.default_rng(1)
    perturb(model.parameters(), rng)
    deepgrad_output(model.train(), sample(name, rng, (8, *shape), dtype))
    return model, shape


def test_every_layer_both_libraries_have_has_test_cases():
    """A layer added to LAYERS without a case here fails this test."""
    assert set(CASES) == set(LAYERS)


@pytest.mark.parametrize(("name", "dtype"), EXAMPLES)
def test_to_torch_gives_the_same_outputs_weights_dtype_and_mode(name, dtype):
    """to_torch's module has deepgrad's state_dict (keys, dtype, values), its
    train/eval mode, and equal outputs: in eval mode for batches of 3 and 7 (two
    rows would let a BatchNorm without running statistics divide float32 rounding
    by the half-difference of two nearly equal values), and
    in train mode, where BatchNorm's running statistics must then agree too; its
    weights are a copy, not shared memory."""
    model, shape = deepgrad_model(name, dtype)
    model.eval()
    converted = to_torch(model)
    assert isinstance(converted, torch.nn.Sequential)
    assert not converted.training
    assert_same_state(model, converted)
    rng = np.random.default_rng(2)
    for batch in (3, 7):
        inputs = sample(name, rng, (batch, *shape), dtype)
        np.testing.assert_allclose(
            torch_output(converted, inputs),
            deepgrad_output(model, inputs),
            rtol=TOLERANCE[dtype],
            atol=TOLERANCE[dtype],
        )

    model.train()
    converted = to_torch(model)
    assert converted.training
    inputs = sample(name, rng, (7, *shape), dtype)
    np.testing.assert_allclose(
        torch_output(converted, inputs),
        deepgrad_output(model, inputs),
        rtol=TOLERANCE[dtype],
        atol=TOLERANCE[dtype],
    )
    for key, value in converted.state_dict().items():  # running statistics
        np.testing.assert_allclose(
            value.numpy(),
            model.state_dict()[key].array,
            rtol=TOLERANCE[dtype],
            atol=TOLERANCE[dtype],
        )

    snapshot = {key: value.array.copy() for key, value in model.state_dict().items()}
    with torch.no_grad():
        for parameter in converted.parameters():
            parameter.add_(1.0)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.array, snapshot[key])


@pytest.mark.parametrize(("name", "dtype"), EXAMPLES)
def test_from_torch_gives_the_same_outputs_weights_dtype_and_mode(name, dtype):
    """from_torch's model has the torch module's state_dict, dtype and mode, and
    equal outputs for batches of 2 and 7; a round trip back to torch gives the
    same state_dict bit for bit."""
    torch.manual_seed(0)
    module, shape = CASES[name](torch.nn)
    module = module.to(getattr(torch, np.dtype(dtype).name))
    rng = np.random.default_rng(1)
    perturb(module.parameters(), rng)
    torch_output(module.train(), sample(name, rng, (8, *shape), dtype))
    module.eval()

    converted = from_torch(module)
    assert isinstance(converted, nn.Sequential)
    assert not converted.training
    assert_same_state(converted, module)
    for batch in (2, 7):
        inputs = sample(name, rng, (batch, *shape), dtype)
        np.testing.assert_allclose(
            deepgrad_output(converted, inputs),
            torch_output(module, inputs),
            rtol=TOLERANCE[dtype],
            atol=TOLERANCE[dtype],
        )
    assert_same_state(converted, to_torch(converted))
    assert repr(to_torch(converted)) == repr(module)


def test_nested_sequentials_keep_their_structure_and_keys():
    """Sequentials inside Sequentials stay nested, under the same keys."""
    dg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.Sequential(nn.Linear(4, 2)))
    )
    converted = to_torch(model)
    assert isinstance(converted[1][1], torch.nn.Sequential)
    assert list(converted.state_dict()) == [
        "0.weight",
        "0.bias",
        "1.1.0.weight",
        "1.1.0.bias",
    ]
    back = from_torch(converted)
    assert repr(back) == repr(model)


def test_state_dicts_load_across_the_libraries():
    """deepgrad's state_dict loads into the same torch architecture (as tensors),
    and torch's into deepgrad's (as arrays): outputs then agree."""
    model, shape = deepgrad_model("BatchNorm1d", np.float64)
    model.eval()
    torch.manual_seed(1)
    module, _ = CASES["BatchNorm1d"](torch.nn)
    module = module.double().eval()
    module.load_state_dict(
        {
            key: torch.from_numpy(value.array)
            for key, value in model.state_dict().items()
        }
    )
    inputs = np.random.default_rng(3).normal(size=(7, *shape))
    np.testing.assert_allclose(
        torch_output(module, inputs), deepgrad_output(model, inputs), rtol=1e-10
    )

    torch.manual_seed(2)
    other, _ = CASES["BatchNorm1d"](torch.nn)
    other = other.double()
    torch_output(other.train(), inputs)
    other.eval()
    model.load_state_dict(
        {key: value.numpy() for key, value in other.state_dict().items()}
    )
    np.testing.assert_allclose(
        deepgrad_output(model, inputs), torch_output(other, inputs), rtol=1e-10
    )


def test_safetensors_files_carry_weights_both_ways(tmp_path):
    """A torch state_dict saved with safetensors.torch.save_file loads into deepgrad
    with load_safetensors; a deepgrad model file's weights load into torch with
    safetensors.torch.load_file. Outputs agree after each."""
    torch.manual_seed(0)
    module, shape = CASES["BatchNorm1d"](torch.nn)
    torch_output(
        module.train(), np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32)
    )
    module.eval()
    safetensors_torch.save_file(module.state_dict(), tmp_path / "torch.safetensors")
    model, _ = CASES["BatchNorm1d"](nn)
    model.eval()
    result = load_safetensors(model, tmp_path / "torch.safetensors")
    assert result.missing_keys == [] and result.unexpected_keys == []
    inputs = np.random.default_rng(1).normal(size=(7, *shape)).astype(np.float32)
    np.testing.assert_allclose(
        deepgrad_output(model, inputs), torch_output(module, inputs), atol=1e-6
    )

    trained, _ = deepgrad_model("GELU", np.float32)
    trained.eval()
    dg.save(trained, tmp_path / "model.dg")
    fresh, _ = CASES["GELU"](torch.nn)
    fresh.load_state_dict(safetensors_torch.load_file(tmp_path / "model.dg"))
    np.testing.assert_allclose(
        torch_output(fresh.eval(), inputs), deepgrad_output(trained, inputs), atol=1e-6
    )


def test_load_safetensors_refuses_a_file_of_another_architecture(tmp_path):
    """Keys that do not match the model are a RuntimeError listing them, as
    load_state_dict raises."""
    safetensors_torch.save_file(
        torch.nn.Linear(2, 2).state_dict(), tmp_path / "other.safetensors"
    )
    with pytest.raises(RuntimeError, match='"0.weight"'):
        load_safetensors(nn.Sequential(nn.Linear(2, 2)), tmp_path / "other.safetensors")


class Doubler(nn.Module):
    def forward(self, input):
        return input * 2


class MyTorchLinear(torch.nn.Linear):
    """A subclass: its forward could be anything, so it is not converted as Linear."""


def test_to_torch_names_a_layer_torch_has_no_counterpart_of():
    """A deepgrad layer of the user's own is an UnsupportedLayerError naming its
    class, its place and the layers that convert."""
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), Doubler()))
    with pytest.raises(UnsupportedLayerError) as raised:
        to_torch(model)
    message = str(raised.value)
    assert (
        "to_torch: layer '1' of layer '1' of the model is a test_interop_torch.Doubler"
        in message
    )
    assert "it converts Sequential models of Linear, BatchNorm1d" in message


@pytest.mark.parametrize(
    ("module", "named"),
    [
        (torch.nn.Sequential(torch.nn.Conv1d(1, 1, 2)), "torch.nn.modules.conv.Conv1d"),
        (torch.nn.Sequential(MyTorchLinear(2, 2)), "test_interop_torch.MyTorchLinear"),
        (torch.nn.LSTM(2, 2), "torch.nn.modules.rnn.LSTM"),
    ],
)
def test_from_torch_names_a_layer_deepgrad_has_no_counterpart_of(module, named):
    """A torch layer deepgrad lacks (or a subclass with its own forward) is an
    UnsupportedLayerError naming its class."""
    with pytest.raises(
        UnsupportedLayerError, match=f"is a {named}, which has no counterpart"
    ):
        from_torch(module)


@pytest.mark.parametrize(
    "options", [{"max_norm": 1.0}, {"scale_grad_by_freq": True}, {"sparse": True}]
)
def test_from_torch_refuses_an_embedding_option_deepgrad_lacks(options):
    """torch's Embedding options that change its forward or backward (max_norm
    renormalises rows, scale_grad_by_freq and sparse change the gradient) have no
    deepgrad counterpart: the error names the option, its value and the way out."""
    ((option, value),) = options.items()
    module = torch.nn.Sequential(torch.nn.Embedding(10, 4, **options))
    with pytest.raises(
        UnsupportedLayerError,
        match=f"layer '0' of the module is a torch.nn.Embedding with "
        f"{option}={value!r}, which deepgrad's Embedding does not have",
    ):
        from_torch(module)


def test_from_torch_refuses_half_precision_weights():
    """deepgrad computes in float32 or float64: float16 weights are refused with
    the conversion to make."""
    with pytest.raises(
        ValueError, match=r"torch.float16 weights.*\.float\(\) or \.double\(\)"
    ):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2).half()))


def test_wrong_kinds_of_object_are_refused():
    """to_torch wants a deepgrad Module, from_torch a torch Module; each names
    what it received."""
    with pytest.raises(
        TypeError, match="to_torch: expected a deepgrad Module, received: Linear"
    ):
        to_torch(torch.nn.Linear(2, 2))
    with pytest.raises(
        TypeError, match="from_torch: expected a torch.nn.Module, received: Linear"
    ):
        from_torch(nn.Linear(2, 2))


def test_import_deepgrad_imports_neither_torch_nor_onnx():
    """PyTorch and onnx stay optional: importing deepgrad, and reaching
    deepgrad.interop and deepgrad.export, imports neither."""
    code = (
        "import sys, deepgrad; deepgrad.interop; deepgrad.export; "
        "print(sorted({'torch', 'onnx'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
