"""Elementwise math, comparisons and logical ops against PyTorch, the oracle.

Each op gets the same float64 inputs in deepgrad and in torch: the values, the
result's dtype and the gradient of every input (for one random upstream
gradient) must agree to a relative 1e-10. hypothesis draws the shapes
(0-d tensors, size-1 dimensions, broadcasting) and the values, kept inside
each op's domain. gradcheck then checks each differentiable op's backward
against finite differences, without trusting torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg

RTOL = 1e-10
ATOL = 1e-12
ORACLE = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
TORCH_DTYPES = {
    torch.bool: np.dtype(bool),
    torch.int32: np.dtype(np.int32),
    torch.int64: np.dtype(np.int64),
    torch.float32: np.dtype(np.float32),
    torch.float64: np.dtype(np.float64),
}


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


ANY = floats(-3, 3)


def arrays(shape: tuple[int, ...], elements=ANY, **kwargs: Any):
    return hnp.arrays(np.float64, shape, elements=elements, **kwargs)


def assert_same_values(ours: dg.Tensor, theirs: torch.Tensor, what: str = "") -> None:
    """Same dtype (deepgrad's NumPy dtype for torch's), same shape, same values."""
    assert ours.dtype == TORCH_DTYPES[theirs.dtype], what
    np.testing.assert_allclose(
        ours.array,
        theirs.detach().numpy(),
        rtol=RTOL if ours.dtype != np.float32 else 1e-6,
        atol=ATOL,
        strict=True,
        err_msg=what,
    )


def compare_with_torch(
    data: st.DataObject,
    dg_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    *inputs: np.ndarray,
) -> None:
    """Same float64 inputs and upstream gradient: same outputs, dtypes and input
    gradients (a None gradient on one side is zeros on the other)."""
    ours_in = [dg.tensor(a, dtype=dg.float64, requires_grad=True) for a in inputs]
    theirs_in = [
        torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in inputs
    ]
    ours, theirs = dg_fn(*ours_in), torch_fn(*theirs_in)
    assert_same_values(ours, theirs, "forward")
    if not theirs.requires_grad:
        assert not ours.requires_grad
        return
    upstream = data.draw(arrays(tuple(theirs.shape), floats(-2, 2)), label="upstream")
    ours.backward(dg.tensor(upstream))
    theirs.backward(torch.from_numpy(upstream))
    for position, (a, b) in enumerate(zip(ours_in, theirs_in, strict=True)):
        expected = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad.array
        np.testing.assert_allclose(
            got,
            expected,
            rtol=RTOL,
            atol=ATOL,
            strict=True,
            err_msg=f"gradient of input {position}",
        )


def random_input(shape: tuple[int, ...], low: float, high: float, seed: int = 0):
    values = np.random.default_rng(seed).uniform(low, high, shape)
    return dg.tensor(values, dtype=dg.float64, requires_grad=True)


# ---------------------------------------------------------------------------
# Smooth unary ops: values, dtypes and gradients, then gradcheck
# ---------------------------------------------------------------------------
# name -> (low, high): the values drawn, inside the op's domain
UNARY_DOMAINS = {
    "sin": (-3, 3),
    "cos": (-3, 3),
    "tan": (-1.4, 1.4),
    "asin": (-0.95, 0.95),
    "acos": (-0.95, 0.95),
    "atan": (-3, 3),
    "sinh": (-3, 3),
    "cosh": (-3, 3),
    "asinh": (-3, 3),
    "acosh": (1.05, 4),
    "atanh": (-0.95, 0.95),
    "log2": (0.1, 4),
    "log10": (0.1, 4),
    "log1p": (-0.9, 3),
    "expm1": (-3, 3),
    "exp2": (-3, 3),
    "reciprocal": (0.2, 3),
    "rsqrt": (0.2, 3),
    "square": (-3, 3),
    "frac": (-3, 3),
}


@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
@ORACLE
@given(data=st.data(), shape=SHAPES)
def test_unary_op_matches_torch_as_function_and_method(name, data, shape):
    """dg.<op>(x) and x.<op>() give torch's values and gradients, inside the domain."""
    low, high = UNARY_DOMAINS[name]
    x = data.draw(arrays(shape, floats(low, high)), label="x")
    compare_with_torch(data, getattr(dg, name), getattr(torch, name), x)
    compare_with_torch(
        data, lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x
    )


def test_negative_reciprocal_and_frac_match_torch():
    """reciprocal of negative numbers, and frac's sign (frac(-1.5) = -0.5), as torch."""
    values = np.array([-2.5, -1.5, -0.25, 0.75, 3.5])
    for name in ("reciprocal", "frac"):
        ours = getattr(dg, name)(dg.tensor(values, dtype=dg.float64))
        assert_same_values(ours, getattr(torch, name)(torch.tensor(values)), name)


@pytest.mark.parametrize("name", sorted(UNARY_DOMAINS))
def test_unary_op_passes_gradcheck(name):
    """The op's backward equals central finite differences (no torch involved)."""
    low, high = UNARY_DOMAINS[name]
    x = random_input((2, 3), low, high)
    assert dg.gradcheck(getattr(dg, name), (x,))


@pytest.mark.parametrize("name", sorted(set(UNARY_DOMAINS) - {"frac"}))
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_unary_op_on_integers_gives_torchs_dtype(name, dtype):
    """Integer and bool inputs give torch's result dtype (float32, or int64 for
    square) and values, e.g. sin(int64) is float32."""
    values = torch.tensor([1, 2, 3]).to(dtype)
    if name in ("acosh",):
        values = torch.tensor([1, 2, 3]).to(dtype) + (1 if dtype != torch.bool else 0)
    expected = getattr(torch, name)(values)
    ours = getattr(dg, name)(dg.tensor(values.numpy()))
    assert ours.dtype == TORCH_DTYPES[expected.dtype]
    np.testing.assert_allclose(ours.array, expected.numpy(), rtol=1e-6, equal_nan=True)


def test_unary_ops_keep_float32():
    """A float32 input stays float32, in the value and in the gradient."""
    for name in UNARY_DOMAINS:
        low, high = UNARY_DOMAINS[name]
        x = dg.tensor(np.linspace(low, high, 4), dtype=dg.float32, requires_grad=True)
        out = getattr(dg, name)(x)
        out.sum().backward()
        assert out.dtype == np.float32 and x.grad.dtype == np.float32, name


def test_frac_of_integers_names_the_op():
    """frac of an integer tensor raises a TypeError naming frac and the fix."""
    with pytest.raises(
        TypeError, match=r"frac: expected a floating point.*\.float\(\)"
    ):
        dg.frac(dg.tensor([1, 2]))


def test_ops_outside_their_domain_give_nan_as_torch():
    """asin(2), log2(-1), acosh(0): NaN, without a NumPy warning, as torch."""
    for name, value in (("asin", 2.0), ("log2", -1.0), ("acosh", 0.0), ("atanh", 1.0)):
        ours = getattr(dg, name)(dg.tensor([value], dtype=dg.float64))
        theirs = getattr(torch, name)(torch.tensor([value], dtype=torch.float64))
        np.testing.assert_array_equal(ours.array, theirs.numpy())


# ---------------------------------------------------------------------------
# Rounding and sign: piecewise constant, gradient 0, integer dtypes kept
# ---------------------------------------------------------------------------
ROUNDING = ["floor", "ceil", "trunc", "sign", "round"]


@pytest.mark.parametrize("name", ROUNDING)
@ORACLE
@given(data=st.data(), shape=SHAPES)
def test_rounding_op_matches_torch_with_zero_gradient(name, data, shape):
    """Values (halves included: round is half to even) and the zero gradient."""
    halves = st.integers(-8, 8).map(lambda k: k / 2)
    x = data.draw(arrays(shape, ANY | halves), label="x")
    compare_with_torch(data, getattr(dg, name), getattr(torch, name), x)


@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 2])
def test_round_with_decimals_matches_torch(decimals):
    """round(x, decimals=d) rounds to d digits after the point, half to even."""
    values = np.array([0.5, 1.5, 2.5, -0.5, 1.25, 1.35, 12345.678, -151.0, 250.0])
    ours = dg.round(dg.tensor(values, dtype=dg.float64), decimals=decimals)
    theirs = torch.round(torch.tensor(values), decimals=decimals)
    assert_same_values(ours, theirs)
    assert_same_values(
        dg.tensor(values, dtype=dg.float64).round(decimals=decimals), theirs
    )


@pytest.mark.parametrize("name", ROUNDING)
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_rounding_integers_keeps_their_dtype(name, dtype):
    """floor/ceil/trunc/round/sign of an integer tensor: the same dtype, as torch."""
    values = torch.tensor([-3, 0, 2, 7], dtype=dtype)
    assert_same_values(
        getattr(dg, name)(dg.tensor(values.numpy())), getattr(torch, name)(values)
    )


def test_sign_of_bool_stays_bool():
    """sign(True) is True: torch.sign keeps bool."""
    values = torch.tensor([True, False])
    assert_same_values(dg.sign(dg.tensor(values.numpy())), torch.sign(values))


def test_round_rejects_non_integer_decimals_and_decimals_of_integers():
    """decimals=0.5 is a TypeError naming round; so is decimals=-1 for an integer
    tensor, which torch does not implement either."""
    with pytest.raises(TypeError, match="round: decimals must be an integer"):
        dg.round(dg.tensor([1.0]), decimals=0.5)
    with pytest.raises(NotImplementedError):
        torch.round(torch.tensor([15]), decimals=-1)
    with pytest.raises(TypeError, match=r"round: decimals=-1 needs a floating point"):
        dg.round(dg.tensor([15]), decimals=-1)


@pytest.mark.parametrize("name", ROUNDING)
def test_rounding_op_gradient_is_zero_by_gradcheck(name):
    """Away from the jumps, finite differences agree: the gradient is 0."""
    x = dg.tensor([[0.3, -1.2, 2.7]], dtype=dg.float64, requires_grad=True)
    assert dg.gradcheck(getattr(dg, name), (x,))


# ---------------------------------------------------------------------------
# atan2: broadcasting binary op
# ---------------------------------------------------------------------------
@ORACLE
@given(
    data=st.data(),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
)
def test_atan2_broadcasts_and_matches_torch(data, shapes):
    """atan2(y, x) with y and x of broadcastable shapes: values and both gradients."""
    y = data.draw(arrays(shapes.input_shapes[0], floats(-3, 3)), label="y")
    x = data.draw(
        arrays(shapes.input_shapes[1], floats(0.1, 3) | floats(-3, -0.1)), label="x"
    )
    compare_with_torch(data, dg.atan2, torch.atan2, y, x)
    compare_with_torch(data, lambda a, b: a.atan2(b), lambda a, b: a.atan2(b), y, x)


def test_atan2_passes_gradcheck_and_names_bad_shapes():
    """atan2's backward equals finite differences; shapes that don't broadcast
    raise a ValueError naming atan2."""
    y, x = random_input((2, 3), -2, 2, 1), random_input((3,), 0.5, 2, 2)
    assert dg.gradcheck(dg.atan2, (y, x))
    with pytest.raises(
        ValueError, match=r"atan2: cannot broadcast shapes \(2, 3\) and \(2,\)"
    ):
        dg.atan2(dg.zeros(2, 3), dg.zeros(2))


def test_atan2_of_integers_is_float32():
    """atan2 of two int64 tensors is float32, as torch."""
    a, b = torch.tensor([1, -2]), torch.tensor([3, 4])
    assert_same_values(
        dg.atan2(dg.tensor(a.numpy()), dg.tensor(b.numpy())), torch.atan2(a, b)
    )


# ---------------------------------------------------------------------------
# Comparisons, logical and bitwise ops
# ---------------------------------------------------------------------------
COMPARISONS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
SMALL_INTS = st.integers(-2, 2).map(float)  # equal values are likely


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@ORACLE
@given(
    data=st.data(),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
)
def test_comparison_function_method_and_operator_match_torch(name, data, shapes):
    """dg.eq(a, b), a.eq(b) and a == b broadcast and give torch's bool tensor."""
    a = data.draw(arrays(shapes.input_shapes[0], SMALL_INTS), label="a")
    b = data.draw(arrays(shapes.input_shapes[1], SMALL_INTS), label="b")
    ta, tb = torch.tensor(a), torch.tensor(b)
    expected = getattr(torch, name)(ta, tb)
    da, db = dg.tensor(a), dg.tensor(b)
    assert_same_values(getattr(dg, name)(da, db), expected, "function")
    assert_same_values(getattr(da, name)(db), expected, "method")
    assert_same_values(COMPARISONS[name](da, db), expected, "operator")
    assert_same_values(
        getattr(dg, name)(da, 1.0), getattr(torch, name)(ta, 1.0), "scalar"
    )


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparison_of_shapes_that_do_not_broadcast_names_the_op(name):
    """A shape mismatch raises a ValueError naming the op and both shapes."""
    with pytest.raises(
        ValueError, match=rf"{name}: cannot broadcast shapes \(2,\) and \(3,\)"
    ):
        getattr(dg, name)(dg.zeros(2), dg.zeros(3))


def test_comparisons_have_no_gradient():
    """A comparison of a tensor that requires grad is a bool tensor outside the graph."""
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    result = x > 1.5
    assert result.dtype == np.bool_ and not result.requires_grad


LOGICAL = ["logical_and", "logical_or", "logical_xor"]


@pytest.mark.parametrize("name", LOGICAL)
@ORACLE
@given(
    data=st.data(),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
)
def test_logical_op_matches_torch(name, data, shapes):
    """logical_* of float tensors (nonzero is True) broadcast into torch's bool tensor."""
    a = data.draw(arrays(shapes.input_shapes[0], SMALL_INTS), label="a")
    b = data.draw(arrays(shapes.input_shapes[1], SMALL_INTS), label="b")
    expected = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    assert_same_values(getattr(dg, name)(dg.tensor(a), dg.tensor(b)), expected)
    assert_same_values(getattr(dg.tensor(a), name)(dg.tensor(b)), expected)
    x = torch.tensor(a)
    assert_same_values(dg.logical_not(dg.tensor(a)), torch.logical_not(x))


@pytest.mark.parametrize("dtype", [torch.bool, torch.int64])
def test_bitwise_operators_match_torch(dtype):
    """&, |, ^ and ~ on bool and integer tensors are torch's bitwise ops."""
    a = torch.tensor([0, 1, 5, 6]).to(dtype)
    b = torch.tensor([1, 1, 3, 0]).to(dtype)
    da, db = dg.tensor(a.numpy()), dg.tensor(b.numpy())
    assert_same_values(da & db, a & b)
    assert_same_values(da | db, a | b)
    assert_same_values(da ^ db, a ^ b)
    assert_same_values(~da, ~a)
    assert_same_values(dg.bitwise_and(da, db), torch.bitwise_and(a, b))


def test_bitwise_operators_on_floats_name_the_op():
    """x & y for float tensors is a TypeError naming bitwise_and (torch refuses too)."""
    with pytest.raises(TypeError, match="bitwise_and: expected bool or integer"):
        dg.tensor([1.0]) & dg.tensor([1.0])
    with pytest.raises(TypeError, match="bitwise_not: expected a bool or integer"):
        ~dg.tensor([1.0])


@pytest.mark.parametrize("name", ["all", "any"])
@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_all_and_any_with_dim_match_torch(name, data, shape, keepdim):
    """all/any over everything and along each dim (keepdim too): torch's bool tensors."""
    x = data.draw(arrays(shape, st.sampled_from([0.0, 1.0, -2.0])), label="x")
    t, d = torch.tensor(x), dg.tensor(x)
    assert_same_values(getattr(dg, name)(d), getattr(torch, name)(t))
    assert_same_values(getattr(d, name)(), getattr(t, name)())
    rank = max(len(shape), 1)
    dim = data.draw(st.integers(-rank, rank - 1), label="dim")
    assert_same_values(
        getattr(dg, name)(d, dim, keepdim=keepdim),
        getattr(torch, name)(t, dim, keepdim=keepdim),
    )


def test_all_with_a_bad_dim_names_the_op():
    """all(x, dim=2) for a 2-D tensor: an IndexError naming all and the valid range."""
    with pytest.raises(
        IndexError, match=r"all: dimension 2 is out of range.*\[-2, 1\]"
    ):
        dg.all(dg.ones(2, 2), dim=2)


def test_isnan_isinf_isfinite_match_torch():
    """The three tests give torch's bool tensors, for floats and integers."""
    values = torch.tensor([0.0, float("nan"), float("inf"), -float("inf"), -1.5])
    for name in ("isnan", "isinf", "isfinite"):
        assert_same_values(
            getattr(dg, name)(dg.tensor(values.numpy())), getattr(torch, name)(values)
        )
        assert_same_values(
            getattr(dg.tensor(values.numpy()), name)(), getattr(values, name)()
        )
        ints = torch.tensor([1, 2])
        assert_same_values(
            getattr(dg, name)(dg.tensor(ints.numpy())), getattr(torch, name)(ints)
        )


# ---------------------------------------------------------------------------
# masked_fill
# ---------------------------------------------------------------------------
@ORACLE
@given(
    data=st.data(),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
)
def test_masked_fill_with_broadcast_mask_matches_torch(data, shapes):
    """masked_fill(x, mask, value) with a mask that broadcasts against x (and a
    0-d value tensor that requires grad): values and both gradients."""
    x_shape, mask_shape = shapes.input_shapes
    x = data.draw(arrays(x_shape), label="x")
    mask = data.draw(hnp.arrays(bool, mask_shape), label="mask")
    fill = data.draw(floats(-5, 5), label="value")
    compare_with_torch(
        data,
        lambda t, v: dg.masked_fill(t, dg.tensor(mask), v),
        lambda t, v: torch.masked_fill(t, torch.tensor(mask), v),
        x,
        np.asarray(fill),
    )
    compare_with_torch(
        data,
        lambda t: t.masked_fill(dg.tensor(mask), fill),
        lambda t: t.masked_fill(torch.tensor(mask), fill),
        x,
    )


def test_masked_fill_passes_gradcheck():
    """Backward of masked_fill for the input and the 0-d value equals finite differences."""
    x, value = random_input((2, 3), -1, 1), random_input((), -1, 1, 3)
    mask = dg.tensor([[True, False, True]])
    assert dg.gradcheck(lambda a, v: dg.masked_fill(a, mask, v), (x, value))


def test_masked_fill_errors_name_the_op():
    """A float mask, a 1-D value tensor and a mask that doesn't broadcast each raise
    an error that names masked_fill and says what to do."""
    x = dg.zeros(2, 3)
    with pytest.raises(
        TypeError,
        match=r"masked_fill: the mask must be a bool tensor, received dtype float32.*\.bool\(\)",
    ):
        dg.masked_fill(x, dg.ones(2, 3), 1.0)
    with pytest.raises(
        ValueError, match=r"masked_fill: value must be a number or a 0-d tensor"
    ):
        dg.masked_fill(x, x > 0, dg.ones(3))
    with pytest.raises(
        ValueError, match=r"masked_fill: cannot broadcast shapes \(2, 3\) and \(2,\)"
    ):
        dg.masked_fill(x, dg.tensor([True, False]), 1.0)


def test_masked_fill_keeps_integer_dtype():
    """masked_fill of an int64 tensor stays int64 (the value is cast), as torch."""
    values, mask = torch.tensor([1, 2, 3]), torch.tensor([True, False, True])
    ours = dg.masked_fill(dg.tensor(values.numpy()), dg.tensor(mask.numpy()), 7)
    assert_same_values(ours, torch.masked_fill(values, mask, 7))


# ---------------------------------------------------------------------------
# torch's keyword names: input=, other=, axis=
# ---------------------------------------------------------------------------
def test_torch_keyword_names_are_accepted():
    """input=, other= and axis= (for dim=) work for functions and methods as in torch."""
    a = np.arange(6.0).reshape(2, 3)
    d, t = dg.tensor(a), torch.tensor(a)
    assert_same_values(dg.sum(input=d, axis=0), torch.sum(input=t, axis=0))
    assert_same_values(d.sum(axis=1, keepdim=True), t.sum(axis=1, keepdim=True))
    assert_same_values(d.mean(axis=0), t.mean(axis=0))
    assert_same_values(dg.eq(input=d, other=d), torch.eq(input=t, other=t))
    assert_same_values(dg.add(d, other=d), torch.add(t, other=t))
    assert_same_values(d.atan2(other=d + 1), t.atan2(other=t + 1))
    assert_same_values(dg.cat([d, d], axis=1), torch.cat([t, t], axis=1))
    assert_same_values(dg.softmax(d, axis=1), torch.softmax(t, axis=1))
    assert_same_values(dg.cumsum(d, axis=1), torch.cumsum(t, axis=1))
    assert_same_values(dg.std(d, axis=0), torch.std(t, axis=0))
    assert_same_values(dg.max(d, axis=1).values, torch.max(t, axis=1).values)
    assert_same_values(dg.sin(input=d), torch.sin(input=t))
    assert_same_values(
        dg.where(d > 2, input=d, other=-d), torch.where(t > 2, input=t, other=-t)
    )
    assert_same_values(dg.max(d, other=d + 1), torch.max(t, other=t + 1))
    assert_same_values(
        dg.topk(d, k=1, axis=0).values, torch.topk(t, k=1, axis=0).values
    )
    assert_same_values(
        dg.linalg.vector_norm(d, axis=1), torch.linalg.vector_norm(t, axis=1)
    )


def test_a_keyword_given_twice_is_an_error():
    """dim= and axis= together (or x and input=) raise a TypeError saying which."""
    with pytest.raises(
        TypeError, match=r"sum\(\) got axis= and dim= for the same argument"
    ):
        dg.sum(dg.ones(2), dim=0, axis=0)
    with pytest.raises(TypeError, match=r"add\(\) got other= and b= for the same"):
        dg.add(dg.ones(2), dg.ones(2), other=dg.ones(2))


# ---------------------------------------------------------------------------
# clamp / clip with tensor bounds
# ---------------------------------------------------------------------------
@ORACLE
@given(
    data=st.data(),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3),
)
def test_clamp_with_tensor_bounds_matches_torch(data, shapes):
    """clamp(x, min, max) and clip with broadcasting tensor bounds (min > max
    included): values and the gradients of x, min and max, as torch."""
    # x has the result's shape: torch's backward fails for an x that broadcasts
    _, low_shape, high_shape = shapes.input_shapes
    x = data.draw(arrays(shapes.result_shape, ANY | SMALL_INTS), label="x")
    low = data.draw(arrays(low_shape, floats(-2, 1) | SMALL_INTS), label="min")
    high = data.draw(arrays(high_shape, floats(-1, 2) | SMALL_INTS), label="max")
    compare_with_torch(data, dg.clamp, torch.clamp, x, low, high)
    compare_with_torch(
        data,
        lambda t, lo: t.clip(min=lo),
        lambda t, lo: t.clip(min=lo),
        x,
        low,
    )
    compare_with_torch(
        data,
        lambda t, hi: dg.clip(t, max=hi),
        lambda t, hi: torch.clip(t, max=hi),
        x,
        high,
    )


def test_clamp_with_tensor_bounds_passes_gradcheck():
    """clamp's backward for x and both tensor bounds equals finite differences."""
    x = dg.tensor(
        [[-2.0, 0.5, 3.0], [1.2, 2.0, -1.0]], dtype=dg.float64, requires_grad=True
    )
    low = dg.tensor([0.0, 0.1, 1.0], dtype=dg.float64, requires_grad=True)
    high = dg.tensor([[1.1], [1.5]], dtype=dg.float64, requires_grad=True)
    assert dg.gradcheck(dg.clamp, (x, low, high))


def test_masked_fill_in_place_matches_torch_outside_and_inside_a_graph():
    """masked_fill_ writes into the tensor (version counted) outside a graph; in a
    graph it is recorded, so the gradient skips the filled elements, as torch."""
    values = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    mask = np.array([True, False, True])
    ours, theirs = dg.tensor(values, dtype=dg.float64), torch.tensor(values)
    version = ours._version
    assert ours.masked_fill_(dg.tensor(mask), 0.5) is ours
    theirs.masked_fill_(torch.tensor(mask), 0.5)
    assert_same_values(ours, theirs)
    assert ours._version == version + 1

    x = dg.tensor(values, dtype=dg.float64, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    y, u = x * 3, t * 3
    y.masked_fill_(dg.tensor(mask), -1.0)
    u.masked_fill_(torch.tensor(mask), -1.0)
    assert_same_values(y, u)
    (y * y).sum().backward()
    (u * u).sum().backward()
    np.testing.assert_allclose(x.grad.array, t.grad.numpy(), rtol=RTOL)


def test_masked_fill_in_place_rejects_a_mask_larger_than_the_tensor():
    """A mask that would broadcast the tensor to a larger shape raises a ValueError
    naming masked_fill_ (the tensor's shape cannot change in place)."""
    with pytest.raises(
        ValueError, match=r"in-place masked_fill_: a mask of shape \(2, 3\)"
    ):
        dg.zeros(3).masked_fill_(dg.ones(2, 3).bool(), 1.0)
