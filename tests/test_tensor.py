"""The Tensor: creation, conversion, the backward pass and its bookkeeping.

PyTorch is the oracle wherever it has the same behaviour (dtypes of creation
functions, printed text, retained gradients).
"""

from __future__ import annotations

import re
import tracemalloc
import warnings
import weakref
from typing import Any

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad.tensor import _CONSTANTS, constant


def torch_dtype_as_numpy(tensor: torch.Tensor) -> np.dtype:
    return tensor.detach().numpy().dtype


# ---------------------------------------------------------------------------
# Creation and dtypes
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        [1.0, 2.0],
        3.5,
        [1, 2],
        7,
        [1, 2.5],
        [[True, False]],
        np.array([1.0, 2.0]),
        np.array([1.0], dtype=np.float32),
        np.array([1, 2], dtype=np.int32),
        np.float64(1.5),
    ],
    ids=repr,
)
def test_tensor_infers_the_dtype_torch_infers(data):
    ours = dg.tensor(data)
    assert ours.dtype == torch_dtype_as_numpy(torch.tensor(data))


def test_python_floats_give_float32_ints_int64_and_numpy_float64_stays():
    assert dg.tensor([1.0, 2.0]).dtype == dg.float32
    assert dg.tensor([1, 2]).dtype == dg.int64
    assert dg.tensor(np.zeros(2)).dtype == dg.float64


def test_python_floats_asked_for_as_float64_keep_every_digit_as_in_torch():
    # they used to be rounded to float32 first: 1.358244607202122 became
    # 1.3582446575164795, an error of 4e-8 in every float64 oracle comparison
    values = [1.358244607202122, 0.1, 1 / 3]
    ours = dg.tensor(values, dtype=dg.float64)
    np.testing.assert_array_equal(
        ours.array, torch.tensor(values, dtype=torch.float64).numpy()
    )
    assert dg.tensor(values).dtype == dg.float32  # no dtype: float32, as before


def test_tensor_copies_a_numpy_array_but_from_numpy_shares_it():
    array = np.array([1.0, 2.0])
    copied, shared = dg.tensor(array), dg.from_numpy(array)
    array[0] = 9.0
    assert copied.tolist() == [1.0, 2.0]
    assert shared.tolist() == [9.0, 2.0]
    assert shared.array is array
    assert not np.shares_memory(copied.array, array)


def test_tensor_of_a_tensor_is_a_copy():
    original = dg.tensor([1.0, 2.0])
    copy = dg.tensor(original)
    copy.array[0] = 5.0
    assert original.tolist() == [1.0, 2.0]


CREATION = {
    "zeros": lambda lib: lib.zeros(2, 3),
    "zeros_tuple": lambda lib: lib.zeros((2, 3)),
    "zeros_float64": lambda lib: lib.zeros(4, dtype=lib.float64),
    "ones": lambda lib: lib.ones(3, 1),
    "ones_int64": lambda lib: lib.ones(2, dtype=lib.int64),
    "full_float": lambda lib: lib.full((2, 2), 1.5),
    "full_int": lambda lib: lib.full((3,), 7),
    "full_bool": lambda lib: lib.full((1,), True),
    "randn": lambda lib: lib.randn(2, 3),
    "randn_float64": lambda lib: lib.randn(5, dtype=lib.float64),
    "rand": lambda lib: lib.rand(4, 1),
    "zeros_like_int": lambda lib: lib.zeros_like(lib.tensor([1, 2, 3])),
    "ones_like_float64": lambda lib: lib.ones_like(
        lib.tensor([1.0]), dtype=lib.float64
    ),
    "arange_int": lambda lib: lib.arange(5),
    "arange_start_end": lambda lib: lib.arange(2, 6),
    "arange_float_step": lambda lib: lib.arange(0, 1, 0.25),
    "arange_float_end": lambda lib: lib.arange(3.0),
}


@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation_functions_give_torch_shapes_and_dtypes(name):
    ours, theirs = CREATION[name](dg), CREATION[name](torch)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == torch_dtype_as_numpy(theirs)
    if not name.startswith("rand"):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_rand_draws_from_the_unit_interval():
    values = dg.rand(1000).numpy()
    assert values.min() >= 0.0 and values.max() < 1.0


def test_manual_seed_makes_random_tensors_reproducible():
    dg.manual_seed(123)
    first, second = dg.randn(4), dg.rand(4)
    dg.manual_seed(123)
    np.testing.assert_array_equal(dg.randn(4).numpy(), first.numpy())
    np.testing.assert_array_equal(dg.rand(4).numpy(), second.numpy())
    assert not np.array_equal(dg.randn(4).numpy(), first.numpy())


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------
def test_item_returns_a_python_number():
    value = dg.tensor([[2.5]]).item()
    assert value == 2.5 and type(value) is float
    assert type(dg.tensor([3]).item()) is int


def test_item_on_several_elements_raises_with_the_shape():
    with pytest.raises(ValueError, match=re.escape("(2, 2)")):
        dg.tensor([[1.0, 2.0], [3.0, 4.0]]).item()


def test_numpy_refuses_a_tensor_that_requires_grad_and_suggests_detach():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape("detach().numpy()")):
        x.numpy()
    assert np.shares_memory(x.detach().numpy(), x.array)


def test_detach_gives_a_leaf_sharing_values_outside_the_graph():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 3
    detached = hidden.detach()
    assert detached.is_leaf and not detached.requires_grad
    assert detached.grad_fn is None
    assert np.shares_memory(detached.array, hidden.array)
    (detached * x).sum().backward()  # no gradient flows into `hidden`'s graph
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 6.0])


def test_ops_on_0d_tensors_keep_arrays_so_in_place_updates_work():
    total = dg.tensor(2.0) * dg.tensor(3.0)
    assert isinstance(total.numpy(), np.ndarray)
    total += 1
    assert total.item() == 7.0


# ---------------------------------------------------------------------------
# Gradients: retain_grad, accumulation, no_grad, in-place updates
# ---------------------------------------------------------------------------
def two_layer_loss(lib: Any, arrays: dict[str, np.ndarray]):
    """Z1 = X W1 + b1, A1 = sigmoid(Z1), loss = mean((A1 W2 - Y)^2), in lib."""
    leaves = {
        name: lib.tensor(value, dtype=lib.float64, requires_grad=name not in "XY")
        for name, value in arrays.items()
    }
    pre_activation = leaves["X"] @ leaves["W1"] + leaves["b1"]
    pre_activation.retain_grad()
    hidden = pre_activation.sigmoid()
    error = hidden @ leaves["W2"] - leaves["Y"]
    loss = (error * error).mean()
    return loss, pre_activation, hidden, leaves


def layer_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = {"X": (5, 3), "W1": (3, 4), "b1": (4,), "W2": (4, 2), "Y": (5, 2)}
    return {name: rng.standard_normal(shape) for name, shape in shapes.items()}


def test_retain_grad_gives_a_hidden_layers_dL_dZ_equal_to_torch():
    arrays = layer_arrays()
    loss, pre_activation, hidden, _ = two_layer_loss(dg, arrays)
    torch_loss, torch_pre_activation, _, _ = two_layer_loss(torch, arrays)
    loss.backward()
    torch_loss.backward()
    assert pre_activation.retains_grad
    np.testing.assert_allclose(
        pre_activation.grad.numpy(),
        torch_pre_activation.grad.numpy(),
        rtol=1e-10,
        atol=1e-12,
    )
    assert hidden.grad is None  # not retained, so not kept


def test_gradients_accumulate_across_backward_calls_until_zeroed_or_cleared():
    values = np.array([1.0, -2.0, 3.0])
    x = dg.tensor(values, requires_grad=True)
    for _ in range(2):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * values))  # d(x^2)/dx, twice

    x.grad.zero_()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * values)

    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * values)


def test_no_grad_records_no_graph():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    with dg.no_grad():
        y = x * 2 + 1
        assert not dg.is_grad_enabled()
    assert dg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_no_grad_works_as_a_decorator():
    @dg.no_grad()
    def predict(x: dg.Tensor) -> dg.Tensor:
        return x.sigmoid()

    x = dg.tensor([1.0, 2.0], requires_grad=True)
    assert not predict(x).requires_grad
    assert dg.is_grad_enabled()
    assert (x.sigmoid()).requires_grad


def test_in_place_updates_inside_no_grad_mutate_the_same_leaf_and_array():
    weight = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (weight * weight).sum().backward()
    same_object, same_array = weight, weight.array
    with dg.no_grad():
        weight -= 0.5 * weight.grad  # w - 0.5 * 2w = 0
        weight += 1.0
        weight *= 3.0
    assert weight is same_object and weight.array is same_array
    np.testing.assert_array_equal(weight.array, [3.0, 3.0, 3.0])
    assert weight.requires_grad and weight.is_leaf


@pytest.mark.parametrize("update", ["-=", "+=", "*="])
def test_in_place_update_of_a_leaf_outside_no_grad_raises(update):
    weight = dg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape("dg.no_grad()")):
        if update == "-=":
            weight -= 1.0
        elif update == "+=":
            weight += 1.0
        else:
            weight *= 2.0
    assert weight.array.tolist() == [1.0, 2.0]


def test_comparisons_give_bool_tensors_outside_the_graph():
    y = dg.tensor([0.2, 0.7, 0.9], requires_grad=True).sigmoid()
    above = y > 0.6
    assert above.dtype == dg.bool_
    assert not above.requires_grad and above.grad_fn is None
    as_float = (y > 0.6).float()
    assert as_float.dtype == dg.float32
    np.testing.assert_array_equal(as_float.array, [0.0, 1.0, 1.0])
    assert (y == y).array.all() and not (y != y).array.any()


# ---------------------------------------------------------------------------
# Printing like PyTorch
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        [[0.0], [1.0]],
        [0.5, 1.0],
        0.5,
        3.0,
        [-1.5, 2.0],
        [[1.5, 2.25, 3.0], [4.0, 5.0, 6.0]],
        [1e-5, 1.0],
        [1e8, 1.0],
        [float("inf"), 1.5],
        [1, 2, 3],
        [True, False],
    ],
    ids=repr,
)
def test_repr_matches_torch_text(data):
    assert repr(dg.tensor(data)) == repr(torch.tensor(data))


def test_repr_shows_requires_grad_like_torch():
    assert repr(dg.tensor([1.0, 2.0], requires_grad=True)) == repr(
        torch.tensor([1.0, 2.0], requires_grad=True)
    )


def test_repr_of_a_column_is_laid_out_on_two_lines():
    assert repr(dg.tensor([[0.0], [1.0]])) == "tensor([[0.],\n        [1.]])"


# ---------------------------------------------------------------------------
# backward() errors and graph freeing
# ---------------------------------------------------------------------------
def test_backward_on_a_non_scalar_without_gradient_names_the_shape():
    y = dg.tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=re.escape("(2, 3)")):
        y.backward()


def test_second_backward_through_a_freed_graph_raises():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_reusing_an_intermediate_after_its_graph_was_freed_raises():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    hidden = x.exp()
    hidden.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (hidden * 2).sum().backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])


# ---------------------------------------------------------------------------
# Anomaly detection
# ---------------------------------------------------------------------------
def test_detect_anomaly_names_the_op_whose_forward_gives_inf():
    x = dg.tensor([0.0, 1.0], requires_grad=True)
    with dg.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match="forward of 'LogBackward'"):
            x.log()


def test_detect_anomaly_names_the_op_whose_backward_gives_inf():
    x = dg.tensor([0.0, 4.0], requires_grad=True)
    with dg.autograd.detect_anomaly():
        loss = x.sqrt().sum()  # sqrt(0) = 0 is fine; its slope 1/(2 sqrt(0)) is not
        with pytest.raises(FloatingPointError, match="backward of 'SqrtBackward'"):
            loss.backward()


def test_without_detect_anomaly_inf_passes_silently():
    x = dg.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(x.log().array[0])


# ---------------------------------------------------------------------------
# Memory: graphs are freed
# ---------------------------------------------------------------------------
def train_raw_model(steps: int, params: list[dg.Tensor], x, y) -> None:
    weight, bias = params
    for _ in range(steps):
        prediction = (x @ weight + bias).sigmoid()
        loss = ((prediction - y) * (prediction - y)).mean()
        loss.backward()
        with dg.no_grad():
            weight -= 0.1 * weight.grad
            bias -= 0.1 * bias.grad
        weight.grad = None
        bias.grad = None


def test_ten_thousand_training_steps_do_not_grow_memory():
    dg.manual_seed(0)
    x, y = dg.randn(8, 3), dg.rand(8, 1)
    params = [dg.randn(3, 1, requires_grad=True), dg.zeros(1, requires_grad=True)]
    train_raw_model(10, params, x, y)  # warm caches before measuring
    tracemalloc.start()
    try:
        train_raw_model(1_000, params, x, y)
        after_1000, _ = tracemalloc.get_traced_memory()
        train_raw_model(9_000, params, x, y)
        after_10000, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a leaked graph holds kilobytes per step, tens of megabytes over 9,000 steps
    assert after_10000 - after_1000 < 64 * 1024


def test_backward_frees_the_graph_so_intermediates_die():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 2
    alive = weakref.ref(hidden)
    loss = hidden.sigmoid().sum()
    del hidden
    assert alive() is not None  # the graph still needs it
    loss.backward()
    assert alive() is None
    del loss


def test_retain_graph_keeps_intermediates_until_the_output_is_deleted():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 2
    alive = weakref.ref(hidden)
    loss = hidden.sigmoid().sum()
    del hidden
    loss.backward(retain_graph=True)
    assert alive() is not None
    del loss
    assert alive() is None


# ---------------------------------------------------------------------------
# Numerical stability and shape errors
# ---------------------------------------------------------------------------
# name -> (deepgrad op, torch op); each must survive logits of +-1e4
SATURATING = {
    "sigmoid": (dg.sigmoid, torch.sigmoid),
    "softmax": (lambda t: dg.softmax(t, dim=1), lambda t: torch.softmax(t, dim=1)),
    "log_softmax": (
        lambda t: dg.log_softmax(t, dim=1),
        lambda t: torch.log_softmax(t, dim=1),
    ),
}


@pytest.mark.parametrize("dtype", [dg.float32, dg.float64])
@pytest.mark.parametrize("name", sorted(SATURATING))
def test_extreme_logits_give_finite_values_and_gradients_without_warnings(name, dtype):
    ours, theirs = SATURATING[name]
    logits = dg.tensor(
        [[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=dtype, requires_grad=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ours(logits)
        out.backward(dg.ones_like(out))
    assert out.dtype == dtype
    assert np.all(np.isfinite(out.array)) and np.all(np.isfinite(logits.grad.array))
    expected = theirs(torch.tensor(logits.array, dtype=torch.float64))
    np.testing.assert_allclose(out.array, expected.numpy(), rtol=1e-6)


def test_matmul_of_mismatched_shapes_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(3, 4\)"):
        dg.randn(4, 2) @ dg.randn(3, 4)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ((3,), (), "both arguments need at least 1 dimension"),
        ((2, 3), (4, 5), "the inner dimensions 3 and 4 differ"),
        ((2, 2, 3), (3, 3, 4), "batch dimensions cannot be broadcast"),
    ],
)
def test_matmul_shape_errors_say_what_is_wrong(a, b, message):
    with pytest.raises(ValueError, match=message):
        dg.zeros(*a) @ dg.zeros(*b)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum"])
def test_binary_op_on_incompatible_shapes_names_the_op_and_both_shapes(op):
    a, b = dg.ones(4, 2), dg.ones(3)
    with pytest.raises(ValueError, match=rf"{op}: cannot broadcast shapes \(4, 2\) and \(3,\)"):
        getattr(dg, op)(a, b)


@pytest.mark.parametrize(
    ("m", "k", "n"),
    [(4, 2, 4), (1, 784, 256), (256, 1, 784), (2, 3, 1), (128, 784, 256), (33, 70, 65)],
)
def test_matrix_product_gives_the_values_of_matmul_by_either_route(m, k, n):
    # ndarray.dot (small operands, outer products) and np.matmul (large ones)
    # must agree with @ exactly, for plain and transposed operands and with out=
    from deepgrad.ops.arithmetic import matrix_product

    rng = np.random.default_rng(m * k * n)
    x = rng.standard_normal((m, k)).astype(np.float32)
    y = rng.standard_normal((k, n)).astype(np.float32)
    y_t = np.ascontiguousarray(y.T).T  # the same values, transposed in memory
    for b in (y, y_t):
        expected = x @ b
        np.testing.assert_array_equal(matrix_product(x, b), expected)
        out = np.empty((m, n), np.float32)
        assert matrix_product(x, b, out=out) is out
        np.testing.assert_array_equal(out, expected)
        out_f = np.empty((n, m), np.float32).T  # not C-ordered: np.dot refuses it
        matrix_product(x, b, out=out_f)
        # np.matmul into a strided out sums in another order, so it may differ from
        # @ by rounding: it must stay within the float32 dot-product error bound
        # |out - exact| <= k * eps * (|x| @ |b|) (a fixed atol failed where the
        # BLAS kernel sums 784 products whose magnitudes cancel)
        exact = x.astype(np.float64) @ b.astype(np.float64)
        scale = np.abs(x).astype(np.float64) @ np.abs(b).astype(np.float64)
        bound = k * np.finfo(np.float32).eps * scale
        assert np.all(np.abs(out_f - exact) <= bound)


def test_a_python_number_gives_numpys_values_signed_zeros_included():
    # scalars reach the ufuncs as cached 0-d arrays (constant() in deepgrad/tensor.py);
    # -0.0 == 0.0 shares a dict key, and must still give -0.0's signs
    x = dg.tensor([1.0, -2.0, 0.0])
    for scalar in (0.0, -0.0, 0.1, 3, -1e-30, 1e30):
        for name, got, expected in [
            ("*", x * scalar, x.array * scalar),
            ("+", x + scalar, x.array + scalar),
            ("-", x - scalar, x.array - scalar),
            ("r-", scalar - x, scalar - x.array),
        ]:
            assert got.dtype == expected.dtype == np.float32, (name, scalar)
            np.testing.assert_array_equal(
                got.array, expected, err_msg=f"{name} {scalar}"
            )
            assert np.array_equal(np.signbit(got.array), np.signbit(expected)), name


def test_constant_tells_negative_zero_from_zero_in_either_order():
    # -0.0 == 0.0 is one dict key: the cache holds 0.0 only, whichever came first
    for order in ((-0.0, 0.0, 0), (0, 0.0, -0.0)):
        _CONSTANTS.clear()  # a cache that has seen neither
        for value in order:
            for dtype in (np.dtype(np.float32), np.dtype(np.float64)):
                array = constant(value, dtype)
                assert array.dtype == dtype and array == 0
                assert np.signbit(array) == (str(value) == "-0.0"), (order, value)
                assert not array.flags.writeable or str(value) == "-0.0"


def test_a_python_number_that_overflows_the_dtype_warns_every_time():
    # constants are cached (constant() in deepgrad/tensor.py), but not one whose cast
    # overflowed: NumPy's warning (or error under np.errstate) comes each time
    x = dg.tensor([1.0, 2.0])
    for _ in range(2):
        with np.errstate(over="raise"), pytest.raises(FloatingPointError):
            x * 1e300
        with pytest.warns(RuntimeWarning, match="overflow"):
            assert np.isinf((x + 1e300).array).all()
