"""Module and Parameter: registration, traversal, state_dict, dtype, modes, repr, copy.

The modules here hold Parameters directly, so these tests depend only on
deepgrad.nn.module and the Tensor, not on the layers built on top of them.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from deepgrad.nn.module import IncompatibleKeys, Module, Parameter
from deepgrad.tensor import Tensor


class Affine(Module):
    """y = x W^T + b, PyTorch's Linear layout, without the ops."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(np.ones((out_features, in_features), np.float32))
        if bias:
            self.bias = Parameter(np.zeros(out_features, np.float32))
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Norm(Module):
    """Holds BatchNorm-like buffers: two float, one int, one non-persistent."""

    def __init__(self, features: int):
        super().__init__()
        self.weight = Parameter(np.ones(features, np.float32))
        self.register_buffer("running_mean", Tensor(np.zeros(features, np.float32)))
        self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        self.register_buffer(
            "scratch", Tensor(np.zeros(features, np.float32)), persistent=False
        )


class Activation(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x


class Stack(Module):
    def __init__(self, *layers: Module):
        super().__init__()
        for index, layer in enumerate(layers):
            self.add_module(str(index), layer)


class Net(Module):
    def __init__(self):
        super().__init__()
        self.encoder = Stack(Affine(2, 4), Activation(), Norm(4))
        self.head = Affine(4, 1)
        self.temperature = Parameter(np.ones(1, np.float32))


def test_parameter_is_a_leaf_that_requires_grad_and_shares_the_array():
    array = np.zeros(3, np.float32)
    param = Parameter(array)
    assert param.requires_grad and param.is_leaf
    assert param.array is array
    assert isinstance(param, Tensor)
    assert not Parameter(array, requires_grad=False).requires_grad


def test_parameter_from_a_tensor_or_a_list():
    source = Tensor(np.ones(2, np.float64))
    assert Parameter(source).array is source.array
    assert Parameter([1.0, 2.0]).dtype == np.float32
    assert Parameter().shape == (0,)


def test_parameter_repr_says_parameter_containing():
    param = Parameter(np.array([1.0, 2.0], np.float32))
    assert repr(param) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"


def test_setattr_registers_parameters_modules_and_buffers():
    net = Net()
    assert list(net._parameters) == ["temperature"]
    assert list(net._modules) == ["encoder", "head"]
    norm = net.encoder._modules["2"]
    assert list(norm._buffers) == ["running_mean", "num_batches_tracked", "scratch"]
    assert net.head.weight is net.head._parameters["weight"]
    assert norm.running_mean is norm._buffers["running_mean"]
    assert "temperature" not in net.__dict__


def test_plain_attributes_and_tensors_are_not_registered():
    layer = Affine(2, 3)
    layer.cache = Tensor(np.zeros(2))
    assert "cache" in layer.__dict__
    assert [name for name, _ in layer.named_buffers()] == []


def test_assigning_a_non_parameter_to_a_parameter_name_raises_type_error():
    layer = Affine(2, 3)
    with pytest.raises(TypeError, match="as parameter 'weight'"):
        layer.weight = Tensor(np.zeros((3, 2)))
    layer.weight = None
    assert layer.weight is None
    assert [name for name, _ in layer.named_parameters()] == ["bias"]


def test_assigning_before_super_init_names_the_fix():
    class Forgetful(Module):
        def __init__(self):
            self.weight = Parameter(np.ones(1))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_registration_rejects_bad_names_and_types():
    layer = Affine(2, 3)
    with pytest.raises(KeyError, match="contain"):
        layer.register_parameter("a.b", Parameter(np.ones(1)))
    with pytest.raises(KeyError, match="already exists"):
        layer.register_buffer("in_features", Tensor(np.ones(1)))
    with pytest.raises(TypeError, match="buffer 'stats'"):
        layer.register_buffer("stats", np.ones(1))
    with pytest.raises(TypeError, match="not a Module subclass"):
        layer.add_module("child", object())


def test_reassigning_a_name_moves_it_between_registries():
    norm = Norm(2)
    norm.running_mean = Parameter(np.zeros(2, np.float32))
    assert "running_mean" not in norm._buffers and "running_mean" in norm._parameters
    net = Net()
    net.head = Parameter(np.zeros(1, np.float32))
    assert "head" not in net._modules and "head" in net._parameters
    with pytest.raises(TypeError, match="as parameter 'head'"):
        net.head = Activation()


def test_delattr_removes_parameters_buffers_and_modules():
    net = Net()
    del net.temperature
    del net.head
    norm = net.encoder._modules["2"]
    del norm.scratch
    assert "temperature" not in dict(net.named_parameters())
    assert "scratch" not in norm._non_persistent_buffers_set
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'head'"):
        _ = net.head


def test_dir_lists_registered_members_for_tab_completion():
    names = dir(Net())
    assert {"encoder", "head", "temperature", "state_dict"} <= set(names)


def test_named_parameters_follow_registration_order_with_dotted_names():
    names = [name for name, _ in Net().named_parameters()]
    assert names == [
        "temperature",
        "encoder.0.weight",
        "encoder.0.bias",
        "encoder.2.weight",
        "head.weight",
        "head.bias",
    ]


def test_named_parameters_prefix_and_recurse():
    net = Net()
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["temperature"]
    assert [n for n, _ in net.head.named_parameters(prefix="model.head")] == [
        "model.head.weight",
        "model.head.bias",
    ]


def test_a_shared_parameter_is_listed_once_but_saved_under_each_name():
    first, second = Affine(2, 2), Affine(2, 2)
    second.weight = first.weight
    model = Stack(first, second)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert model.num_parameters() == 4 + 2 + 2


def test_a_shared_module_is_visited_once():
    shared = Affine(2, 2)
    model = Stack(shared, Activation(), shared)
    assert [name for name, _ in model.named_modules()] == ["", "0", "1"]
    assert [name for name, _ in model.named_children()] == ["0", "1"]
    assert len(list(model.modules())) == 3
    all_names = [n for n, _ in model.named_modules(remove_duplicate=False)]
    assert all_names == ["", "0", "1", "2"]


def test_buffers_include_non_persistent_ones():
    names = [name for name, _ in Net().named_buffers()]
    assert names == [
        "encoder.2.running_mean",
        "encoder.2.num_batches_tracked",
        "encoder.2.scratch",
    ]
    assert len(list(Net().buffers())) == 3


def test_state_dict_keys_are_dotted_paths_of_parameters_and_persistent_buffers():
    assert list(Net().state_dict()) == [
        "temperature",
        "encoder.0.weight",
        "encoder.0.bias",
        "encoder.2.weight",
        "encoder.2.running_mean",
        "encoder.2.num_batches_tracked",
        "head.weight",
        "head.bias",
    ]


def test_state_dict_values_are_detached_and_share_memory():
    net = Net()
    state = net.state_dict()
    value = state["head.weight"]
    assert type(value) is Tensor and not value.requires_grad
    assert value.array is net.head.weight.array
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight


def test_state_dict_skips_a_none_parameter():
    layer = Affine(2, 3, bias=False)
    assert list(layer.state_dict()) == ["weight"]


def test_load_state_dict_from_numpy_arrays_copies_in_place_keeping_dtype():
    net = Net()
    weight_array = net.head.weight.array
    numpy_state = {
        key: np.full(value.shape, 0.5, np.float64)
        for key, value in net.state_dict().items()
    }
    numpy_state["encoder.2.num_batches_tracked"] = np.array(7, np.int64)
    result = net.load_state_dict(numpy_state)
    assert result == ([], [])
    assert repr(result) == "<All keys matched successfully>"
    assert net.head.weight.array is weight_array
    assert net.head.weight.dtype == np.float32
    np.testing.assert_array_equal(net.head.weight.array, 0.5)
    assert net.encoder._modules["2"].num_batches_tracked.item() == 7


def test_load_state_dict_accepts_tensors():
    source, target = Affine(2, 3), Affine(2, 3)
    source.weight.array[...] = np.arange(6).reshape(3, 2)
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target.weight.array, source.weight.array)
    assert target.weight.array is not source.weight.array


def test_load_state_dict_strict_lists_missing_and_unexpected_keys():
    net = Net()
    state = dict(net.state_dict())
    del state["head.bias"]
    state["head.gamma"] = np.zeros(1)
    state["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError) as error:
        net.load_state_dict(state)
    message = str(error.value)
    assert message.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "head.bias".' in message
    assert 'Unexpected key(s) in state_dict: "head.gamma", "extra".' in message


def test_load_state_dict_not_strict_returns_the_incompatible_keys():
    net = Net()
    state = {key: value.array * 0 for key, value in net.state_dict().items()}
    del state["temperature"]
    state["extra"] = np.zeros(1)
    result = net.load_state_dict(state, strict=False)
    assert isinstance(result, IncompatibleKeys)
    assert result.missing_keys == ["temperature"]
    assert result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(net.head.weight.array, 0)


def test_load_state_dict_shape_mismatch_names_key_and_shapes_and_writes_nothing():
    layer = Affine(2, 3)
    state = {"weight": np.zeros((4, 2)), "bias": np.full(3, 9.0)}
    with pytest.raises(
        RuntimeError, match=r"size mismatch for weight.*\(4, 2\).*\(3, 2\)"
    ):
        layer.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(layer.bias.array, 0)


def test_load_state_dict_rejects_values_that_are_not_arrays():
    with pytest.raises(RuntimeError, match='parameter named "bias"'):
        Affine(2, 3).load_state_dict({"weight": np.zeros((3, 2)), "bias": "zeros"})
    with pytest.raises(TypeError, match="dict-like"):
        Affine(2, 3).load_state_dict([("weight", np.zeros((3, 2)))])


def test_double_and_float_keep_parameter_objects_grads_and_int_buffers():
    net = Net()
    weight = net.head.weight
    weight.grad = Tensor(np.ones((1, 4), np.float32))
    norm = net.encoder._modules["2"]
    running_mean = norm.running_mean
    assert net.double() is net
    assert net.head.weight is weight and weight.dtype == np.float64
    assert weight.grad.dtype == np.float64
    assert norm.running_mean is running_mean and running_mean.dtype == np.float64
    assert norm.scratch.dtype == np.float64
    assert norm.num_batches_tracked.dtype == np.int64
    net.float()
    assert all(param.dtype == np.float32 for param in net.parameters())
    assert net.head.weight is weight


def test_to_converts_dtype_and_accepts_only_the_cpu():
    net = Net()
    assert net.to(np.float64) is net
    assert net.head.weight.dtype == np.float64
    net.to(Tensor(np.zeros(1, np.float32)))
    assert net.head.weight.dtype == np.float32
    net.to("cpu", dtype=np.float64)
    assert net.head.bias.dtype == np.float64
    with pytest.raises(ValueError, match="CPU"):
        net.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        net.to(np.int64)


def test_train_and_eval_reach_every_descendant():
    net = Net()
    assert net.eval() is net
    assert not any(module.training for module in net.modules())
    net.train()
    assert all(module.training for module in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")


def test_zero_grad_sets_to_none_or_zeroes():
    net = Net()
    for param in net.parameters():
        param.grad = Tensor(np.ones(param.shape, np.float32))
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.array == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_requires_grad_freezes_every_parameter():
    net = Net().requires_grad_(False)
    assert not any(param.requires_grad for param in net.parameters())
    assert net.num_parameters(only_trainable=True) == 0
    assert net.num_parameters() == 1 + (8 + 4) + 4 + (4 + 1)


def test_apply_visits_children_before_the_parent():
    visited: list[str] = []
    Net().apply(lambda module: visited.append(type(module).__name__))
    assert visited == ["Affine", "Activation", "Norm", "Stack", "Affine", "Net"]


def test_call_runs_forward_and_a_missing_forward_says_so():
    x = Tensor(np.ones(2))
    assert Activation()(x) is x
    with pytest.raises(NotImplementedError, match=r"\[Affine\] is missing"):
        Affine(2, 3)(x)


def test_repr_nests_children_with_pytorch_indentation():
    model = Stack(Affine(2, 4), Stack(Activation(), Affine(4, 1, bias=False)))
    assert repr(model) == (
        "Stack(\n"
        "  (0): Affine(in_features=2, out_features=4, bias=True)\n"
        "  (1): Stack(\n"
        "    (0): Activation()\n"
        "    (1): Affine(in_features=4, out_features=1, bias=False)\n"
        "  )\n"
        ")"
    )


def test_repr_puts_a_multi_line_extra_repr_on_its_own_lines():
    class Described(Module):
        def extra_repr(self) -> str:
            return "first\nsecond"

    assert repr(Described()) == "Described(\n  first\n  second\n)"


def test_deepcopy_gives_independent_values_and_keeps_sharing():
    first = Affine(2, 2)
    model = Stack(first, first)
    first.weight.grad = Tensor(np.ones((2, 2), np.float32))
    clone = copy.deepcopy(model)
    clone_first = clone._modules["0"]
    assert clone._modules["1"] is clone_first
    assert clone_first.weight is not first.weight
    assert isinstance(clone_first.weight, Parameter)
    assert clone_first.weight.requires_grad
    assert clone_first.weight.grad is None  # as torch: the gradient is not copied
    clone_first.weight.array[...] = 5
    np.testing.assert_array_equal(first.weight.array, 1)
    assert list(clone.state_dict()) == list(model.state_dict())


def test_deepcopy_copies_buffers():
    net = Net()
    clone = copy.deepcopy(net)
    clone.encoder._modules["2"].running_mean.array[...] = 3
    np.testing.assert_array_equal(net.encoder._modules["2"].running_mean.array, 0)
    assert repr(clone) == repr(net)
