"""Module structure against torch.nn.Module: names, state_dict keys, loading, repr.

The same nested tree (a Sequential of custom blocks holding Linear and
BatchNorm1d, a tied layer, a parameter and buffers at the root) is built in
both libraries. The deepgrad leaves are minimal Modules holding Parameters and
buffers directly, so only Module's bookkeeping is under test here.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from deepgrad.nn.module import Module, Parameter
from deepgrad.tensor import Tensor

torch = pytest.importorskip("torch")
nn = torch.nn


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.zeros((out_features, in_features), np.float32))
        self.bias = Parameter(np.zeros(out_features, np.float32)) if bias else None

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class BatchNorm1d(Module):
    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features
        self.weight = Parameter(np.ones(num_features, np.float32))
        self.bias = Parameter(np.zeros(num_features, np.float32))
        self.register_buffer("running_mean", Tensor(np.zeros(num_features, np.float32)))
        self.register_buffer("running_var", Tensor(np.ones(num_features, np.float32)))
        self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps=1e-05, momentum=0.1, affine=True, bias=True, "
            "track_running_stats=True"
        )


class Sigmoid(Module):
    pass


class Sequential(Module):
    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            self.add_module(str(index), module)


LIBRARIES = {
    "torch": SimpleNamespace(
        Module=nn.Module,
        Linear=nn.Linear,
        BatchNorm1d=nn.BatchNorm1d,
        Sigmoid=nn.Sigmoid,
        Sequential=nn.Sequential,
        Parameter=lambda array: nn.Parameter(torch.from_numpy(array)),
        Tensor=torch.from_numpy,
    ),
    "deepgrad": SimpleNamespace(
        Module=Module,
        Linear=Linear,
        BatchNorm1d=BatchNorm1d,
        Sigmoid=Sigmoid,
        Sequential=Sequential,
        Parameter=Parameter,
        Tensor=Tensor,
    ),
}


def build(library: str):
    """The same tree of modules, from torch.nn or from the classes above."""
    lib = LIBRARIES[library]

    class Block(lib.Module):
        def __init__(self, in_features: int, features: int):
            super().__init__()
            self.linear = lib.Linear(in_features, features)
            self.norm = lib.BatchNorm1d(features)
            self.register_buffer(
                "step", lib.Tensor(np.zeros((), np.float32)), persistent=False
            )

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.Linear(2, 3, bias=False)
            self.blocks = lib.Sequential(Block(3, 4), lib.Sigmoid(), Block(4, 4))
            self.head = lib.Linear(4, 1)
            self.tied = self.head
            self.scale = lib.Parameter(np.ones(1, np.float32))
            self.register_buffer("offset", lib.Tensor(np.zeros(1, np.float32)))

    return Net()


@pytest.fixture
def models():
    return build("torch"), build("deepgrad")


def test_state_dict_keys_equal_torch(models):
    reference, model = models
    assert list(model.state_dict()) == list(reference.state_dict())


@pytest.mark.parametrize(
    "method", ["named_parameters", "named_buffers", "named_modules", "named_children"]
)
def test_traversal_names_and_order_equal_torch(models, method):
    reference, model = models
    expected = [name for name, _ in getattr(reference, method)()]
    assert [name for name, _ in getattr(model, method)()] == expected


def test_parameter_count_equals_torch(models):
    reference, model = models
    assert model.num_parameters() == sum(p.numel() for p in reference.parameters())


def test_repr_equals_torch(models):
    reference, model = models
    assert repr(model) == repr(reference)


def test_a_torch_state_dict_as_numpy_loads_unchanged_and_keeps_float32(models):
    reference, model = models
    reference.double()
    with torch.no_grad():
        for index, tensor in enumerate(reference.state_dict().values()):
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, dtype=tensor.dtype) + index)
    reference.blocks[0].norm.num_batches_tracked.fill_(12)

    numpy_state = {k: v.numpy() for k, v in reference.state_dict().items()}
    assert repr(model.load_state_dict(numpy_state)) == "<All keys matched successfully>"
    for key, value in model.state_dict().items():
        expected = numpy_state[key]
        expected_dtype = np.float32 if expected.dtype.kind == "f" else expected.dtype
        assert value.dtype == expected_dtype, key
        np.testing.assert_allclose(value.array, expected, rtol=1e-6, err_msg=key)


def test_a_deepgrad_state_dict_loads_into_torch_strictly(models):
    reference, model = models
    for index, param in enumerate(model.parameters()):
        param.array[...] = index + 0.5
    torch_state = {k: torch.from_numpy(v.array) for k, v in model.state_dict().items()}
    reference.load_state_dict(torch_state, strict=True)
    np.testing.assert_array_equal(
        reference.blocks[2].linear.weight.detach().numpy(),
        model.blocks._modules["2"].linear.weight.array,
    )


def test_incompatible_keys_and_strict_message_equal_torch(models):
    reference, model = models
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    del state["blocks.2.norm.running_var"]
    state["blocks.2.norm.extra"] = np.zeros(1, np.float32)
    expected = reference.load_state_dict(
        {k: torch.from_numpy(v) for k, v in state.items()}, strict=False
    )
    assert tuple(model.load_state_dict(state, strict=False)) == tuple(expected)

    with pytest.raises(RuntimeError) as torch_error:
        reference.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    assert str(error.value) == str(torch_error.value)
