"""PyTorch's tensor API in deepgrad (issue 14, items 2, 3, 7 and 9), torch the oracle.

dtype names and legacy constructors, the CPU device API, formatting and the
small Tensor methods, index assignment with torch's errors, and the grad-mode
switches: each test runs the same code on deepgrad and on torch and compares
dtypes, values and error categories.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg
from deepgrad import nn


def _dtype_name(dtype) -> str:
    """torch.float32 -> 'float32', np.dtype('float32') -> 'float32'."""
    return str(dtype).removeprefix("torch.")


# -- item 2: dtype names and constructors ------------------------------------------
DTYPE_NAMES = ["float", "double", "half", "long", "int", "short", "bool", "uint8"]


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_aliases_name_the_same_dtype_as_torch(name):
    """dg.float, dg.long, ... are the dtypes torch.float, torch.long, ... are."""
    ours = np.dtype(getattr(dg, name))
    assert ours.name == _dtype_name(getattr(torch, name))


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_creation_with_an_alias_dtype_matches_torch(name):
    """dg.zeros(2, dtype=dg.long) has torch.zeros(2, dtype=torch.long)'s dtype."""
    ours = dg.zeros(2, dtype=getattr(dg, name))
    theirs = torch.zeros(2, dtype=getattr(torch, name))
    assert ours.dtype.name == _dtype_name(theirs.dtype)


def test_package_modules_do_not_shadow_python_builtins():
    """Only deepgrad/__init__ binds float/int/bool, and `import *` leaves them out."""
    import deepgrad.tensor

    assert "float" not in vars(deepgrad.tensor) and "int" not in vars(deepgrad.tensor)
    namespace: dict[str, object] = {}
    exec("from deepgrad import *", namespace)
    assert {"float", "int", "bool"}.isdisjoint(namespace)


@pytest.mark.parametrize(
    "args",
    [([1, 2],), ([[1.5, 2.0], [3.0, 4.0]],), ([True, False],), (2, 3), (4,), ()],
)
def test_legacy_tensor_constructor_matches_torch(args):
    """dg.Tensor(...) gives torch.Tensor(...)'s dtype and shape: default float
    dtype for data, a tensor of that shape for sizes (zeros: torch leaves them
    uninitialised, so only data are compared)."""
    ours, theirs = dg.Tensor(*args), torch.Tensor(*args)
    assert ours.dtype.name == _dtype_name(theirs.dtype)
    assert ours.shape == tuple(theirs.shape)
    if args and isinstance(args[0], list):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_legacy_constructor_refuses_a_bare_float_as_torch():
    """torch.Tensor(3.5) is a TypeError; so is dg.Tensor(3.5), pointing to dg.tensor."""
    with pytest.raises(TypeError):
        torch.Tensor(3.5)
    with pytest.raises(TypeError, match=r"dg.tensor\(3.5\)"):
        dg.Tensor(3.5)


def test_tensor_of_an_array_still_shares_it_and_keeps_its_dtype():
    """Internal use, Tensor(array): no copy, no dtype change (not the legacy rule)."""
    array = np.arange(3)
    wrapped = dg.Tensor(array, requires_grad=False)
    assert wrapped.array is array and wrapped.dtype == np.int64


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("FloatTensor", [1, 2]),
        ("DoubleTensor", [1, 2]),
        ("LongTensor", [1.7, -2.7]),
        ("IntTensor", [3, 4]),
        ("BoolTensor", [0, 1]),
        ("ByteTensor", [1, 255]),
    ],
)
def test_typed_legacy_constructors_match_torch(name, data):
    """dg.LongTensor([1.7]) truncates like torch's; each gives torch's dtype."""
    ours, theirs = getattr(dg, name)(data), getattr(torch, name)(data)
    assert ours.dtype.name == _dtype_name(theirs.dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert getattr(dg, name)(2, 3).shape == tuple(getattr(torch, name)(2, 3).shape)


@pytest.mark.parametrize(
    "method", ["float", "double", "half", "long", "int", "short", "bool", "byte"]
)
def test_cast_methods_match_torch(method):
    """x.float(), x.long(), ... give torch's dtype and values."""
    values = [[-1.5, 0.0], [2.25, 3.0]]
    ours = getattr(dg.tensor(values, dtype=dg.float64), method)()
    theirs = getattr(torch.tensor(values, dtype=torch.float64), method)()
    assert ours.dtype.name == _dtype_name(theirs.dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_type_names_and_casts_as_torch():
    """x.type() names the legacy type; x.type(T) and x.type('torch.T') cast."""
    ours, theirs = dg.tensor([1.5, 2.5]), torch.tensor([1.5, 2.5])
    assert ours.type() == theirs.type() == "torch.FloatTensor"
    assert dg.tensor([1, 2]).type() == torch.tensor([1, 2]).type()
    assert ours.type(dg.DoubleTensor).dtype == np.float64
    assert (
        ours.type("torch.LongTensor").tolist() == theirs.type(torch.LongTensor).tolist()
    )
    assert ours.type(dg.float64).dtype == np.float64
    with pytest.raises(ValueError, match="invalid type 'torch.Nope'"):
        ours.type("torch.Nope")


def test_cast_keeps_the_gradient_flowing_as_torch():
    """x.double().sum().backward() gives x's gradient in x's dtype, as torch."""
    ours = dg.tensor([1.0, 2.0], requires_grad=True)
    theirs = torch.tensor([1.0, 2.0], requires_grad=True)
    (ours.double() * 3).sum().backward()
    (theirs.double() * 3).sum().backward()
    assert ours.grad.dtype.name == _dtype_name(theirs.grad.dtype)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.fixture
def default_dtype_restored():
    yield
    dg.set_default_dtype(dg.float32)
    torch.set_default_dtype(torch.float32)


def test_set_default_dtype_changes_what_creation_gives_as_torch(default_dtype_restored):
    """After set_default_dtype(float64): tensor([1.5]), zeros, arange(0., 1),
    Tensor([1]), linspace, a float scalar times an int tensor and a new Linear
    are all float64 in both libraries; ints stay int64."""
    dg.set_default_dtype(dg.float64)
    torch.set_default_dtype(torch.float64)
    assert dg.get_default_dtype() == np.float64
    assert _dtype_name(torch.get_default_dtype()) == "float64"
    pairs = [
        (dg.tensor([1.5]), torch.tensor([1.5])),
        (dg.zeros(2), torch.zeros(2)),
        (dg.arange(0.0, 1.0), torch.arange(0.0, 1.0)),
        (dg.Tensor([1]), torch.Tensor([1])),
        (dg.linspace(0, 1, 3), torch.linspace(0, 1, 3)),
        (dg.tensor([1, 2]) * 0.5, torch.tensor([1, 2]) * 0.5),
        (dg.tensor([1, 2]), torch.tensor([1, 2])),
        (nn.Linear(2, 2).weight, torch.nn.Linear(2, 2).weight),
    ]
    for ours, theirs in pairs:
        assert ours.dtype.name == _dtype_name(theirs.dtype)


def test_set_default_dtype_refuses_integers_as_torch(default_dtype_restored):
    """Only floating point dtypes can be the default, in both; a TypeError."""
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    with pytest.raises(TypeError, match="only floating-point types"):
        dg.set_default_dtype(dg.int64)
    assert dg.get_default_dtype() == np.float32


# -- item 3: the device API on the CPU ---------------------------------------------
@pytest.mark.parametrize(
    "args", [("cpu",), ("cpu:0",), ("cpu", 0), ("cuda",), ("cuda:1",), ("mps",)]
)
def test_device_objects_print_and_compare_as_torch(args):
    """str, repr, type, index and equality of dg.device are torch.device's."""
    ours, theirs = dg.device(*args), torch.device(*args)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert (ours == dg.device("cpu")) == (theirs == torch.device("cpu"))
    assert dg.device(ours) == ours


def test_unknown_device_strings_are_refused_as_torch():
    """A device type torch does not know is a RuntimeError in both."""
    with pytest.raises(RuntimeError):
        torch.device("gpu")
    with pytest.raises(RuntimeError, match="device type at start of device string"):
        dg.device("gpu")


CREATION = [
    ("tensor", lambda lib, device: lib.tensor([1.0], device=device)),
    ("zeros", lambda lib, device: lib.zeros(2, device=device)),
    ("ones", lambda lib, device: lib.ones(2, 3, device=device)),
    ("empty", lambda lib, device: lib.empty(2, device=device)),
    ("full", lambda lib, device: lib.full((2,), 3.0, device=device)),
    ("arange", lambda lib, device: lib.arange(3, device=device)),
    ("linspace", lambda lib, device: lib.linspace(0, 1, 3, device=device)),
    ("eye", lambda lib, device: lib.eye(2, device=device)),
    ("rand", lambda lib, device: lib.rand(2, device=device)),
    ("randn", lambda lib, device: lib.randn(2, device=device)),
    ("zeros_like", lambda lib, device: lib.zeros_like(lib.ones(2), device=device)),
    ("ones_like", lambda lib, device: lib.ones_like(lib.ones(2), device=device)),
    ("empty_like", lambda lib, device: lib.empty_like(lib.ones(2), device=device)),
    ("full_like", lambda lib, device: lib.full_like(lib.ones(2), 7, device=device)),
    ("randn_like", lambda lib, device: lib.randn_like(lib.ones(2), device=device)),
]


@pytest.mark.parametrize(("name", "create"), CREATION, ids=[n for n, _ in CREATION])
@pytest.mark.parametrize("device", ["cpu", "cpu:0", "DEVICE"])
def test_every_creation_function_accepts_the_cpu(name, create, device):
    """device='cpu', 'cpu:0' or a device object: a tensor on the CPU, of
    torch's shape and dtype."""
    ours = create(dg, dg.device("cpu") if device == "DEVICE" else device)
    theirs = create(torch, torch.device("cpu") if device == "DEVICE" else device)
    assert ours.device == dg.device("cpu") and str(ours.device) == str(theirs.device)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype.name == _dtype_name(theirs.dtype)


@pytest.mark.parametrize(("name", "create"), CREATION, ids=[n for n, _ in CREATION])
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps", 0])
def test_every_creation_function_refuses_another_device_with_one_error(
    name, create, device
):
    """Any non-CPU device raises the same RuntimeError, naming the function
    (randn_like's is randn's)."""
    with pytest.raises(RuntimeError, match="deepgrad runs on the CPU only") as error:
        create(dg, device)
    named = "randn" if name == "randn_like" else name
    assert str(error.value).startswith(f"{named}: device")


def test_cuda_and_mps_report_nothing_available():
    """dg.cuda / dg.backends.mps answer like torch on a machine without them."""
    assert dg.cuda.is_available() is False
    assert dg.cuda.device_count() == 0
    assert dg.backends.mps.is_available() is False
    device = dg.device("cuda" if dg.cuda.is_available() else "cpu")
    assert dg.ones(2, device=device).device == device


def test_tensor_to_follows_torchs_signatures():
    """to(device), to(dtype), to(device, dtype), to(other), copy=, non_blocking=:
    the same tensor when nothing changes, as torch; a cast otherwise."""
    ours, theirs = dg.tensor([1.5, -2.0]), torch.tensor([1.5, -2.0])
    double_ours = dg.zeros(1, dtype=dg.float64)
    double_theirs = torch.zeros(1, dtype=torch.float64)
    calls = [
        (("cpu",), {}),
        ((dg.float32,), {}),
        ((dg.float64,), {}),
        (("cpu", dg.int64), {}),
        ((), {"device": "cpu", "dtype": dg.float64}),
        ((double_ours,), {}),
        ((dg.float32,), {"copy": True}),
        (("cpu",), {"non_blocking": True}),
    ]
    torch_of = {dg.float32: torch.float32, dg.float64: torch.float64}
    torch_of[dg.int64] = torch.int64
    for args, kwargs in calls:
        torch_args = tuple(
            double_theirs if a is double_ours else torch_of.get(a, a) for a in args
        )
        torch_kwargs = {k: torch_of.get(v, v) for k, v in kwargs.items()}
        got, expected = ours.to(*args, **kwargs), theirs.to(*torch_args, **torch_kwargs)
        assert (got is ours) == (expected is theirs), (args, kwargs)
        assert got.dtype.name == _dtype_name(expected.dtype)
        assert got.tolist() == expected.tolist()
    assert ours.cpu() is ours and theirs.cpu() is theirs


def test_tensor_to_a_gpu_and_cuda_raise_one_clear_error():
    """x.to('cuda'), x.cuda() and Module.cuda() say deepgrad runs on the CPU."""
    x = dg.ones(2)
    for attempt in (lambda: x.to("cuda"), x.cuda, lambda: x.to("mps", dg.float64)):
        with pytest.raises(RuntimeError, match="deepgrad runs on the CPU only"):
            attempt()
    with pytest.raises(RuntimeError, match="deepgrad runs on the CPU only"):
        nn.Linear(2, 2).cuda()


def test_tensor_to_refuses_bad_arguments_with_a_type_error():
    """to() with an unknown keyword or a non-flag in non_blocking's place raises."""
    with pytest.raises(TypeError, match="unexpected keyword"):
        dg.ones(2).to(devise="cpu")
    with pytest.raises(TypeError, match="invalid combination"):
        dg.ones(2).to(dg.float64, "yes")


def test_module_to_cpu_double_float_half_as_torch():
    """Module.to('cpu', dtype), .double(), .half(), .float(), .cpu() convert the
    parameters as torch's do, and return the module."""
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    for convert in (
        lambda m, lib: m.to("cpu", lib.float64),
        lambda m, lib: m.half(),
        lambda m, lib: m.float(),
        lambda m, lib: m.double(),
        lambda m, lib: m.cpu(),
        lambda m, lib: m.to(device=lib.device("cpu")),
    ):
        assert convert(ours, dg) is ours and convert(theirs, torch) is theirs
        assert ours.weight.dtype.name == _dtype_name(theirs.weight.dtype)
    assert ours.weight.device == dg.device("cpu")


def test_set_default_device_accepts_only_the_cpu():
    """set_default_device('cpu') works; 'cuda' raises the one device error."""
    dg.set_default_device("cpu")
    assert dg.get_default_device() == dg.device("cpu")
    with pytest.raises(RuntimeError, match="deepgrad runs on the CPU only"):
        dg.set_default_device("cuda")


# -- item 7: formatting and the small methods --------------------------------------
@pytest.mark.parametrize("spec", [".4f", ".2e", "", "10.3f", ".1%"])
def test_format_of_a_0d_tensor_is_its_numbers_as_torch(spec):
    """f'{loss:.4f}' formats the number, as torch (float64: the same digits)."""
    ours = dg.tensor(0.123456789, dtype=dg.float64)
    theirs = torch.tensor(0.123456789, dtype=torch.float64)
    assert format(ours, spec) == format(theirs, spec)
    assert f"{dg.tensor(3)}" == f"{torch.tensor(3)}"


def test_format_spec_of_a_larger_tensor_raises_as_torch():
    """A format spec on a 1-d tensor is a TypeError in both; '' is str()."""
    with pytest.raises(TypeError):
        format(torch.tensor([1.0]), ".2f")
    with pytest.raises(TypeError):
        format(dg.tensor([1.0]), ".2f")
    assert f"{dg.tensor([1.0])}" == str(dg.tensor([1.0]))


@given(
    array=hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)
    ),
)
@settings(max_examples=25, deadline=None)
def test_size_methods_match_torch(array):
    """numel, nelement, dim, size(), size(d) for every d (negative too), tolist."""
    ours, theirs = dg.tensor(array), torch.tensor(array)
    assert ours.numel() == ours.nelement() == theirs.numel() == theirs.nelement()
    assert ours.dim() == theirs.dim()
    assert ours.size() == tuple(theirs.size())
    for d in range(-array.ndim, array.ndim):
        assert ours.size(d) == theirs.size(d)
    np.testing.assert_equal(ours.tolist(), theirs.tolist())


def test_size_of_a_missing_dimension_is_an_index_error_as_torch():
    """size(5) of a 2-d tensor and size(0) of a 0-d one: IndexError in both."""
    for lib in (torch, dg):
        with pytest.raises(IndexError, match="out of range|no dimensions"):
            lib.zeros(2, 3).size(5)
        with pytest.raises(IndexError):
            lib.tensor(1.0).size(0)


def test_item_matches_torch():
    """item() of one element gives torch's Python number; of more, an error."""
    for values in (2.5, [7], [[True]]):
        assert dg.tensor(values).item() == torch.tensor(values).item()
        assert type(dg.tensor(values).item()) is type(torch.tensor(values).item())
    with pytest.raises((ValueError, RuntimeError)):
        torch.tensor([1, 2]).item()
    with pytest.raises(ValueError, match="exactly one element"):
        dg.tensor([1, 2]).item()


# -- item 7: index assignment ------------------------------------------------------
SETITEM_CASES = [
    ("mask to a number", lambda lib, x: x.__setitem__(x > 2, 0)),
    ("mask to values", lambda lib, x: x.__setitem__(x > 2, lib.tensor([1.0, 2, 3]))),
    ("row mask", lambda lib, x: x.__setitem__(lib.tensor([True, False]), 7)),
    ("column", lambda lib, x: x.__setitem__((slice(None), 1), lib.tensor([5.0, 6]))),
    ("index list", lambda lib, x: x.__setitem__(lib.tensor([1, 0]), 9)),
    ("ellipsis", lambda lib, x: x.__setitem__(..., 1)),
    ("negative", lambda lib, x: x.__setitem__((-1, -1), -5)),
]


@pytest.mark.parametrize("case", SETITEM_CASES, ids=[name for name, _ in SETITEM_CASES])
def test_index_assignment_matches_torch(case):
    """x[mask] = v, x[:, 1] = t, x[[1, 0]] = v: the same values as torch."""
    _, assign = case
    ours = dg.arange(6.0).reshape(2, 3)
    theirs = torch.arange(6.0).reshape(2, 3)
    assign(dg, ours)
    assign(torch, theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


BAD_SETITEM_CASES = [
    ("too few values", lambda lib, x: x.__setitem__(x > 2, lib.tensor([1.0, 2]))),
    (
        "mask of another shape",
        lambda lib, x: x.__setitem__(lib.tensor([1, 0, 1]) > 0, 7),
    ),
    ("out of bounds", lambda lib, x: x.__setitem__((0, 5), 7)),
    ("float index", lambda lib, x: x.__setitem__(lib.tensor([0.0]), 7)),
    ("too many values", lambda lib, x: x.__setitem__((slice(None), 1), lib.ones(3))),
]


@pytest.mark.parametrize(
    "case", BAD_SETITEM_CASES, ids=[name for name, _ in BAD_SETITEM_CASES]
)
def test_bad_index_assignment_raises_torchs_error_category(case):
    """Where torch refuses an assignment, deepgrad raises the same exception
    class, and leaves the tensor unchanged."""
    _, assign = case
    theirs = torch.arange(6.0).reshape(2, 3)
    with pytest.raises(Exception) as expected:
        assign(torch, theirs)
    ours = dg.arange(6.0).reshape(2, 3)
    with pytest.raises(expected.type):
        assign(dg, ours)
    np.testing.assert_array_equal(ours.numpy(), np.arange(6.0).reshape(2, 3))


def test_index_assignment_on_a_leaf_that_requires_grad_raises_as_torch():
    """w[0] = 1 on a parameter: torch's leaf error; inside no_grad it works."""
    weight = dg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        weight[0] = 5.0
    with dg.no_grad():
        weight[0] = 5.0
    assert weight.tolist() == [5.0, 1.0, 1.0]


# -- item 9: grad modes ------------------------------------------------------------
def test_inference_mode_records_nothing_as_torch():
    """Inside inference_mode (as a context, a decorator with and without
    parentheses) results do not require grad, in both libraries."""
    for lib in (dg, torch):
        x = lib.ones(2, requires_grad=True)
        with lib.inference_mode():
            assert not lib.is_grad_enabled()
            assert not (x * 2).requires_grad

        @lib.inference_mode()
        def with_parentheses(t):
            return t * 2

        @lib.inference_mode
        def bare(t):
            return t * 2

        assert not with_parentheses(x).requires_grad and not bare(x).requires_grad
        with lib.inference_mode(False):
            assert (x * 2).requires_grad
        assert lib.is_grad_enabled() and (x * 2).requires_grad


def test_set_grad_enabled_works_as_function_and_context_as_torch():
    """set_grad_enabled(False) switches at once; in a with block it restores."""
    for lib in (dg, torch):
        x = lib.ones(2, requires_grad=True)
        with lib.set_grad_enabled(False):
            assert not lib.is_grad_enabled() and not (x * 2).requires_grad
            with lib.enable_grad():
                assert (x * 2).requires_grad
        assert lib.is_grad_enabled()
        lib.set_grad_enabled(False)
        try:
            assert not (x * 2).requires_grad
        finally:
            lib.set_grad_enabled(True)
        assert (x * 2).requires_grad


def test_inference_mode_is_per_thread():
    """Like no_grad: another thread keeps recording while one is in inference_mode."""
    x = dg.ones(2, requires_grad=True)
    seen = []
    with dg.inference_mode():
        thread = threading.Thread(target=lambda: seen.append((x * 2).requires_grad))
        thread.start()
        thread.join()
    assert seen == [True]


@pytest.mark.parametrize("seed", [0, 1])
@given(values=st.lists(st.floats(-3, 3), min_size=1, max_size=5))
@settings(max_examples=10, deadline=None)
def test_values_computed_in_inference_mode_equal_recorded_ones(seed, values):
    """inference_mode changes recording, never the values."""
    x = dg.tensor(values, dtype=dg.float64, requires_grad=True)
    recorded = x.tanh() * seed + x
    with dg.inference_mode():
        inferred = x.tanh() * seed + x
    np.testing.assert_array_equal(recorded.detach().numpy(), inferred.numpy())
