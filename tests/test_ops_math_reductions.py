"""Norms, reductions (prod, cumsum, std, logsumexp, amax/amin, median, max/min
ties), diff, sorting, the matrix products, grids and one_hot against PyTorch.

As in test_ops_math.py: same float64 inputs, same upstream gradient, the values,
dtypes and input gradients equal to a relative 1e-10; hypothesis draws shapes
and values; gradcheck checks each backward against finite differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg
import deepgrad.nn.functional as F
from test_ops_math import (
    ANY,
    ORACLE,
    SHAPES,
    arrays,
    assert_same_values,
    compare_with_torch,
    floats,
    random_input,
)

NONEMPTY = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
INF = math.inf


def axis_of(data: st.DataObject, ndim: int) -> int:
    rank = max(ndim, 1)
    return data.draw(st.integers(-rank, rank - 1), label="dim")


def dims_of(data: st.DataObject, ndim: int):
    """None, one axis, or a tuple of distinct axes."""
    rank = max(ndim, 1)
    distinct = st.lists(
        st.integers(-rank, rank - 1),
        min_size=1,
        max_size=rank,
        unique_by=lambda d: d % rank,
    ).map(tuple)
    return data.draw(st.none() | st.integers(-rank, rank - 1) | distinct, label="dim")


# ---------------------------------------------------------------------------
# Norms
# ---------------------------------------------------------------------------
ORDS = [2, 1, INF, -INF, 0, 3, 1.5, 0.5, -1]
# not tiny: norm^(p - 1) in the gradient underflows below ~1e-150, where the two
# libraries' roundings give 0 or NaN
NOT_TINY = floats(-3, -0.01) | floats(0.01, 3)


@pytest.mark.parametrize("ord", ORDS)
@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_vector_norm_matches_torch(ord, data, shape, keepdim):
    """linalg.vector_norm for each ord, over all or some dims, zeros included:
    values and gradients (torch's subgradients at 0)."""
    x = data.draw(arrays(shape, NOT_TINY | st.just(0.0)), label="x")
    dim = dims_of(data, len(shape))
    compare_with_torch(
        data,
        lambda t: dg.linalg.vector_norm(t, ord, dim, keepdim),
        lambda t: torch.linalg.vector_norm(t, ord, dim, keepdim),
        x,
    )


@pytest.mark.parametrize("ord", ORDS)
def test_norm_of_the_zero_vector_has_gradient_zero(ord):
    """At the zero vector every norm's gradient is 0 in torch and in deepgrad
    (no NaN from 0/0)."""
    x = dg.zeros(3, dtype=dg.float64, requires_grad=True)
    dg.linalg.vector_norm(x, ord).backward()
    np.testing.assert_array_equal(x.grad.array, np.zeros(3))
    t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    torch.linalg.vector_norm(t, ord).backward()
    np.testing.assert_array_equal(
        np.zeros(3) if t.grad is None else t.grad.numpy(), x.grad.array
    )


def test_infinity_norm_shares_the_gradient_between_ties():
    """Two elements at the maximum |x| share the gradient, with their signs, as torch."""
    values = np.array([2.0, -2.0, 1.0])
    ours = dg.tensor(values, dtype=dg.float64, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    dg.linalg.vector_norm(ours, INF).backward()
    torch.linalg.vector_norm(theirs, INF).backward()
    np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("ord", [2, 1, INF, 3, 0.5])
def test_vector_norm_passes_gradcheck(ord):
    """Backward of each p-norm equals finite differences (away from ties and zeros)."""
    x = dg.tensor(
        [[0.5, -1.25, 2.0], [1.5, 0.75, -0.3]], dtype=dg.float64, requires_grad=True
    )
    assert dg.gradcheck(lambda t: dg.linalg.vector_norm(t, ord, dim=1), (x,))


@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_torch_norm_and_tensor_norm_match_torch(data, shape, keepdim):
    """torch.norm / Tensor.norm: p='fro' (default) and numbers, dim and keepdim."""
    x = data.draw(arrays(shape, NOT_TINY), label="x")
    dim = dims_of(data, len(shape))
    p = data.draw(st.sampled_from(["fro", 2, 1, INF, 3]), label="p")
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        p = 2  # torch.norm takes 'fro' over at most 2 dims (tested below)
    compare_with_torch(
        data,
        lambda t: dg.norm(t, p, dim, keepdim),
        lambda t: torch.norm(t, p, dim, keepdim),
        x,
    )
    compare_with_torch(data, lambda t: t.norm(), lambda t: t.norm(), x)
    compare_with_torch(
        data, lambda t: t.norm(p=p, dim=dim), lambda t: t.norm(p=p, dim=dim), x
    )


@pytest.mark.parametrize("ord", [None, "fro", 1, -1, INF, -INF])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2)])
def test_linalg_norm_of_matrices_matches_torch(ord, shape):
    """linalg.norm and matrix_norm: Frobenius and the 1/inf matrix norms, values and
    gradients (ties of column or row sums excluded by the random values)."""
    values = np.random.default_rng(5).normal(size=shape)
    ours = dg.tensor(values, dtype=dg.float64, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    dim = None if len(shape) == 2 or ord is None else (-2, -1)
    out, expected = dg.linalg.norm(ours, ord, dim), torch.linalg.norm(theirs, ord, dim)
    assert_same_values(out, expected)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-10)
    if ord is not None:
        assert_same_values(
            dg.linalg.matrix_norm(dg.tensor(values), ord, keepdim=True),
            torch.linalg.matrix_norm(torch.tensor(values), ord, keepdim=True),
        )
        assert dg.gradcheck(
            lambda t: dg.linalg.matrix_norm(t, ord), (random_input(shape, -1, 1),)
        )


def test_vector_norm_dtype_argument_matches_torch():
    """dtype=float64 computes a float32 input's norm in float64 (as torch) and sends
    the gradient back in float32."""
    values = np.array([3.0, -4.0, 1.5], dtype=np.float32)
    ours = dg.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    out = dg.linalg.vector_norm(ours, 3, dtype=dg.float64)
    expected = torch.linalg.vector_norm(theirs, 3, dtype=torch.float64)
    assert_same_values(out, expected)
    out.backward()
    expected.backward()
    assert ours.grad.dtype == np.float32
    np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-6)


def test_norm_errors_name_the_op_and_the_fix():
    """Unsupported ords, string ords for vectors, integer input and a 1-D matrix
    raise errors naming the function."""
    x = dg.ones(2, 2)
    with pytest.raises(ValueError, match=r"matrix_norm: ord='nuc' is not supported"):
        dg.linalg.norm(x, "nuc")
    with pytest.raises(
        ValueError, match=r"matrix_norm: ord=2 is not supported.*singular values"
    ):
        dg.linalg.matrix_norm(x, 2)
    with pytest.raises(TypeError, match=r"vector_norm: ord must be a number"):
        dg.linalg.vector_norm(x, "fro")
    with pytest.raises(ValueError, match=r"norm: p='nuc' is not supported"):
        dg.norm(x, "nuc")
    with pytest.raises(RuntimeError, match="dim must be a 2-tuple"):
        torch.norm(torch.ones(2, 2, 2), "fro", (0, 1, 2))
    with pytest.raises(ValueError, match=r"norm: p='fro' takes at most 2 dims"):
        dg.norm(dg.ones(2, 2, 2), "fro", (0, 1, 2))
    with pytest.raises(
        TypeError, match=r"vector_norm: expected a floating point tensor"
    ):
        dg.linalg.vector_norm(dg.tensor([1, 2]))
    with pytest.raises(
        ValueError, match=r"matrix_norm: expected a tensor with at least 2"
    ):
        dg.linalg.matrix_norm(dg.ones(3))
    with pytest.raises(IndexError, match=r"vector_norm: dimension 3 is out of range"):
        dg.linalg.vector_norm(x, dim=3)


# ---------------------------------------------------------------------------
# prod, cumsum, std, logsumexp
# ---------------------------------------------------------------------------
@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_prod_with_zeros_matches_torch(data, shape, keepdim):
    """prod over everything and along one dim, with zeros likely (none, one, two
    or more in a slice): the exact gradient, no division by zero."""
    x = data.draw(arrays(shape, ANY | st.just(0.0) | st.just(0.0)), label="x")
    compare_with_torch(data, dg.prod, torch.prod, x)
    dim = axis_of(data, len(shape))
    compare_with_torch(
        data,
        lambda t: t.prod(dim, keepdim=keepdim),
        lambda t: t.prod(dim, keepdim=keepdim),
        x,
    )


@pytest.mark.parametrize("row", [[2.0, 3.0, 4.0], [2.0, 0.0, 4.0], [0.0, 3.0, 0.0]])
def test_prod_passes_gradcheck_with_zeros(row):
    """With no zero, one zero and two zeros, prod's backward equals finite differences."""
    x = dg.tensor([row, [1.5, -2.0, 0.5]], dtype=dg.float64, requires_grad=True)
    assert dg.gradcheck(lambda t: dg.prod(t, 1), (x,))
    assert dg.gradcheck(dg.prod, (x,))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool])
def test_prod_and_cumsum_of_integers_are_int64(dtype):
    """Products and running sums of int32, int64 and bool tensors are int64, as torch."""
    values = torch.tensor([[1, 2, 0], [3, 1, 2]]).to(dtype)
    ours = dg.tensor(values.numpy())
    assert_same_values(dg.prod(ours), torch.prod(values))
    assert_same_values(dg.prod(ours, 1), torch.prod(values, 1))
    assert_same_values(dg.cumsum(ours, 0), torch.cumsum(values, 0))


def test_prod_and_cumsum_take_torchs_dtype_argument():
    """dtype= converts the input first: int64 in, float64 out, as torch; the
    gradient flows back to a float32 input in float32."""
    values = torch.tensor([[1, 2, 3], [4, 5, 6]])
    ours = dg.tensor(values.numpy())
    assert_same_values(
        dg.prod(ours, 1, dtype=dg.float64), torch.prod(values, 1, dtype=torch.float64)
    )
    assert_same_values(
        dg.cumsum(ours, 0, dtype=dg.float64),
        torch.cumsum(values, 0, dtype=torch.float64),
    )
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    dg.cumsum(x, 0, dtype=dg.float64).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.array, [2.0, 1.0])


def test_prod_takes_one_dim():
    """prod(x, dim=(0, 1)) is a TypeError naming prod (torch takes one dim too)."""
    with pytest.raises(TypeError, match="prod: dim must be one integer"):
        dg.prod(dg.ones(2, 2), (0, 1))


@ORACLE
@given(data=st.data(), shape=SHAPES)
def test_cumsum_matches_torch(data, shape):
    """Running sums along each dim: values, and the reversed running sum of the
    gradient."""
    x = data.draw(arrays(shape), label="x")
    dim = axis_of(data, len(shape))
    compare_with_torch(
        data, lambda t: dg.cumsum(t, dim), lambda t: torch.cumsum(t, dim), x
    )
    compare_with_torch(
        data, lambda t: t.cumsum(dim=dim), lambda t: t.cumsum(dim=dim), x
    )


def test_cumsum_passes_gradcheck_and_names_a_bad_dim():
    """cumsum's backward equals finite differences; dim 2 of a 2-D tensor is an
    IndexError naming cumsum."""
    assert dg.gradcheck(lambda t: dg.cumsum(t, 1), (random_input((2, 3), -1, 1),))
    with pytest.raises(IndexError, match="cumsum: dimension 2 is out of range"):
        dg.cumsum(dg.ones(2, 2), 2)


@pytest.mark.filterwarnings("ignore:std.*degrees of freedom:UserWarning")
@ORACLE
@given(data=st.data(), shape=NONEMPTY, keepdim=st.booleans())
def test_std_matches_torch(data, shape, keepdim):
    """std with correction 0, 1, 2 and unbiased True/False, over dims, keepdim;
    slices of one value (std 0 or NaN) included. The values are distinct: for a
    slice of n > 1 equal values like 0.3, the float mean is an ulp off in one
    library and exact in the other, and the gradient at that degenerate point is
    +-1/(n-1) or 0 by rounding alone (torch itself gives 0.08 for thirteen 0.3s);
    the test below covers equal values whose mean is exact."""
    x = data.draw(arrays(shape, ANY, unique=True), label="x")
    dim = dims_of(data, len(shape))
    correction = data.draw(st.sampled_from([0, 1, 2]), label="correction")
    compare_with_torch(
        data,
        lambda t: dg.std(t, dim, keepdim=keepdim, correction=correction),
        lambda t: torch.std(t, dim, keepdim=keepdim, correction=correction),
        x,
    )
    unbiased = data.draw(st.booleans(), label="unbiased")
    compare_with_torch(
        data,
        lambda t: t.std(dim, unbiased, keepdim),
        lambda t: t.std(dim, unbiased, keepdim),
        x,
    )
    compare_with_torch(data, lambda t: t.std(unbiased), lambda t: t.std(unbiased), x)


@pytest.mark.parametrize("value", [0.0, 0.5, -2.0, 3.0])
def test_std_of_equal_values_is_zero_with_a_zero_gradient_as_torch(value):
    """A slice of equal values whose mean is exact: std 0 and gradient 0 in both
    libraries (torch masks the 0/0 of (x - mean) / std; so does deepgrad)."""
    x = np.full((3, 8), value)
    ours = dg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    dg.std(ours, 1).sum().backward()
    torch.std(theirs, 1).sum().backward()
    np.testing.assert_array_equal(dg.std(ours, 1).array, np.zeros(3))
    np.testing.assert_array_equal(ours.grad.array, theirs.grad.numpy())
    np.testing.assert_array_equal(ours.grad.array, np.zeros((3, 8)))


def test_std_passes_gradcheck():
    """std's backward equals finite differences."""
    assert dg.gradcheck(lambda t: dg.std(t, 1), (random_input((2, 4), -1, 1),))
    assert dg.gradcheck(lambda t: dg.std(t, correction=0), (random_input((5,), -1, 1),))


@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_logsumexp_matches_torch(data, shape, keepdim):
    """logsumexp over dims, with values up to 800 (exp overflows without the shift)."""
    x = data.draw(arrays(shape, floats(-800, 800)), label="x")
    dim = dims_of(data, len(shape))
    if dim is None:
        dim = tuple(range(len(shape)))
    compare_with_torch(
        data,
        lambda t: dg.logsumexp(t, dim, keepdim),
        lambda t: torch.logsumexp(t, dim, keepdim),
        x,
    )


def test_logsumexp_of_minus_infinity_and_integers_match_torch():
    """A row of -inf gives -inf (no NaN); integers give float32; gradcheck passes."""
    values = torch.tensor([[-INF, -INF], [1.0, 2.0]], dtype=torch.float64)
    assert_same_values(
        dg.logsumexp(dg.tensor(values.numpy()), 1), torch.logsumexp(values, 1)
    )
    ints = torch.tensor([1, 2, 3])
    assert_same_values(
        dg.logsumexp(dg.tensor(ints.numpy()), 0), torch.logsumexp(ints, 0)
    )
    assert dg.gradcheck(lambda t: dg.logsumexp(t, 1), (random_input((2, 3), -2, 2),))


# ---------------------------------------------------------------------------
# amax/amin, max/min ties, median
# ---------------------------------------------------------------------------
TIES = st.integers(-2, 2).map(float)


@pytest.mark.parametrize("name", ["amax", "amin"])
@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_amax_amin_share_ties_as_torch(name, data, shape, keepdim):
    """amax/amin over dims with many ties: the gradient shared evenly, as torch."""
    x = data.draw(arrays(shape, TIES), label="x")
    dim = dims_of(data, len(shape))
    dim = () if dim is None else dim
    compare_with_torch(
        data,
        lambda t: getattr(dg, name)(t, dim, keepdim),
        lambda t: getattr(torch, name)(t, dim, keepdim),
        x,
    )
    compare_with_torch(
        data, lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x
    )


def test_amax_passes_gradcheck():
    """amax's backward equals finite differences (distinct values)."""
    assert dg.gradcheck(lambda t: dg.amax(t, 1), (random_input((2, 3), -1, 1),))
    assert dg.gradcheck(lambda t: dg.amin(t, 0), (random_input((2, 3), -1, 1),))


@pytest.mark.parametrize("name", ["max", "min"])
@ORACLE
@given(data=st.data(), shape=SHAPES)
def test_max_and_min_without_dim_share_ties_as_torch(name, data, shape):
    """max()/min() of the whole tensor split the gradient among ties, as torch."""
    x = data.draw(arrays(shape, TIES), label="x")
    compare_with_torch(data, getattr(dg, name), getattr(torch, name), x)


@ORACLE
@given(data=st.data(), shape=SHAPES)
def test_median_without_dim_matches_torch(data, shape):
    """The lower median of all elements, ties likely: value and shared gradient."""
    x = data.draw(arrays(shape, TIES), label="x")
    compare_with_torch(data, dg.median, torch.median, x)


@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_median_with_dim_matches_torch(data, shape, keepdim):
    """median(dim) gives torch's (values, indices) and gradient (distinct values)."""
    x = data.draw(arrays(shape, ANY, unique=True), label="x")
    dim = axis_of(data, len(shape))
    ours = dg.median(dg.tensor(x, dtype=dg.float64), dim, keepdim)
    theirs = torch.median(torch.tensor(x), dim, keepdim)
    assert_same_values(ours.values, theirs.values)
    assert_same_values(ours.indices, theirs.indices)
    compare_with_torch(
        data,
        lambda t: t.median(dim, keepdim).values,
        lambda t: t.median(dim, keepdim).values,
        x,
    )


def test_median_of_integers_nan_and_empty():
    """median of int64 stays int64; a NaN makes the median NaN; an empty input is
    a ValueError naming median."""
    ints = torch.tensor([3, 1, 2, 4])
    assert_same_values(dg.median(dg.tensor(ints.numpy())), torch.median(ints))
    with_nan = torch.tensor([1.0, float("nan"), 2.0], dtype=torch.float64)
    np.testing.assert_array_equal(
        dg.median(dg.tensor(with_nan.numpy())).array, torch.median(with_nan).numpy()
    )
    with pytest.raises(ValueError, match=r"median: the input is empty"):
        dg.median(dg.zeros(0))
    assert dg.gradcheck(
        lambda t: dg.median(t, 1).values, (random_input((2, 3), -1, 1),)
    )
    assert dg.gradcheck(dg.median, (random_input((2, 3), -1, 1),))


@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_mode_matches_torch(data, shape, keepdim):
    """mode(dim) with many repeated values: torch's value (the smallest of the
    most frequent), index (its last occurrence) and gradient."""
    x = data.draw(arrays(shape, TIES), label="x")
    dim = axis_of(data, len(shape))
    ours = dg.mode(dg.tensor(x, dtype=dg.float64), dim, keepdim)
    theirs = torch.mode(torch.tensor(x), dim, keepdim)
    assert_same_values(ours.values, theirs.values)
    assert_same_values(ours.indices, theirs.indices)
    compare_with_torch(
        data,
        lambda t: t.mode(dim, keepdim).values,
        lambda t: t.mode(dim, keepdim).values,
        x,
    )


def test_mode_passes_gradcheck_and_rejects_empty():
    """mode's backward equals finite differences (distinct values, so that a small
    step changes no count); an empty input names mode."""
    x = dg.tensor(
        [[0.5, 0.2, 1.0], [2.0, 3.0, 2.5]], dtype=dg.float64, requires_grad=True
    )
    assert dg.gradcheck(lambda t: dg.mode(t, 1).values, (x,))
    with pytest.raises(ValueError, match=r"mode: the input is empty"):
        dg.mode(dg.zeros(0))


@pytest.mark.parametrize("name", ["max", "min"])
@ORACLE
@given(data=st.data(), shape=SHAPES, keepdim=st.booleans())
def test_max_and_min_with_dim_send_ties_gradient_to_the_index_returned(
    name, data, shape, keepdim
):
    """max(dim)/min(dim) with ties return torch's index (the first) and send the
    whole gradient there, as torch."""
    x = data.draw(arrays(shape, TIES), label="x")
    dim = axis_of(data, len(shape))
    ours = getattr(dg, name)(dg.tensor(x, dtype=dg.float64), dim, keepdim)
    theirs = getattr(torch, name)(torch.tensor(x), dim, keepdim)
    assert_same_values(ours.indices, theirs.indices)
    compare_with_torch(
        data,
        lambda t: getattr(t, name)(dim, keepdim).values,
        lambda t: getattr(t, name)(dim, keepdim).values,
        x,
    )


# ---------------------------------------------------------------------------
# diff
# ---------------------------------------------------------------------------
@ORACLE
@given(data=st.data(), shape=NONEMPTY)
def test_diff_matches_torch(data, shape):
    """diff with n = 1..3 along each dim, with prepend and append tensors: values and
    gradients of all three."""
    x = data.draw(arrays(shape), label="x")
    dim = axis_of(data, len(shape))
    n = data.draw(st.integers(1, 3), label="n")
    edge = list(shape)
    edge[dim] = 1
    before = data.draw(arrays(tuple(edge)), label="prepend")
    after = data.draw(arrays(tuple(edge)), label="append")
    compare_with_torch(
        data, lambda t: dg.diff(t, n, dim), lambda t: torch.diff(t, n, dim), x
    )
    compare_with_torch(
        data,
        lambda t, p, a: t.diff(n, dim, prepend=p, append=a),
        lambda t, p, a: t.diff(n, dim, prepend=p, append=a),
        x,
        before,
        after,
    )


def test_diff_passes_gradcheck_and_rejects_0d():
    """diff's backward equals finite differences; a 0-d tensor is a ValueError."""
    assert dg.gradcheck(lambda t: dg.diff(t, 2), (random_input((2, 4), -1, 1),))
    with pytest.raises(ValueError, match="diff: expected a tensor with at least 1"):
        dg.diff(dg.tensor(1.0))


# ---------------------------------------------------------------------------
# sort, argsort, topk
# ---------------------------------------------------------------------------
@ORACLE
@given(data=st.data(), shape=SHAPES, descending=st.booleans())
def test_sort_and_argsort_match_torch(data, shape, descending):
    """sort/argsort along each dim, ascending and descending (distinct values):
    values, indices and the gradient sent back to where each value came from."""
    x = data.draw(arrays(shape, ANY, unique=True), label="x")
    dim = axis_of(data, len(shape))
    ours = dg.sort(dg.tensor(x, dtype=dg.float64), dim, descending)
    theirs = torch.sort(torch.tensor(x), dim, descending)
    assert_same_values(ours.values, theirs.values)
    assert_same_values(ours.indices, theirs.indices)
    values, indices = ours  # a namedtuple, as torch.return_types.sort
    assert values is ours.values and indices is ours.indices
    compare_with_torch(
        data,
        lambda t: t.sort(dim=dim, descending=descending).values,
        lambda t: t.sort(dim=dim, descending=descending).values,
        x,
    )
    assert_same_values(
        dg.argsort(dg.tensor(x), dim, descending),
        torch.argsort(torch.tensor(x), dim, descending),
    )


@ORACLE
@given(data=st.data(), shape=NONEMPTY, descending=st.booleans())
def test_stable_sort_with_ties_matches_torch(data, shape, descending):
    """With ties (and NaN, sorted as the largest), stable=True keeps equal values in
    their original order: torch's indices exactly."""
    x = data.draw(arrays(shape, TIES | st.just(math.nan)), label="x")
    dim = axis_of(data, len(shape))
    ours = dg.sort(dg.tensor(x), dim, descending, stable=True)
    theirs = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(ours.values.array, theirs.values.numpy())
    assert_same_values(ours.indices, theirs.indices)
    assert_same_values(
        dg.tensor(x).argsort(dim, descending, stable=True),
        torch.tensor(x).argsort(dim=dim, descending=descending, stable=True),
    )


@ORACLE
@given(data=st.data(), shape=NONEMPTY, largest=st.booleans())
def test_topk_matches_torch(data, shape, largest):
    """topk(k) for every k, largest and smallest: values, indices and gradient."""
    x = data.draw(arrays(shape, ANY, unique=True), label="x")
    dim = axis_of(data, len(shape))
    k = data.draw(st.integers(0, shape[dim]), label="k")
    ours = dg.topk(dg.tensor(x), k, dim, largest)
    theirs = torch.topk(torch.tensor(x), k, dim, largest)
    assert_same_values(ours.values, theirs.values)
    assert_same_values(ours.indices, theirs.indices)
    compare_with_torch(
        data,
        lambda t: t.topk(k, dim=dim, largest=largest).values,
        lambda t: t.topk(k, dim=dim, largest=largest).values,
        x,
    )


def test_sorting_passes_gradcheck_and_names_bad_arguments():
    """sort/topk backward equal finite differences; k too large and a bad dim raise
    errors naming the op."""
    x = random_input((2, 4), -1, 1)
    assert dg.gradcheck(lambda t: dg.sort(t, 1, descending=True).values, (x,))
    assert dg.gradcheck(lambda t: dg.topk(t, 2, dim=0).values, (x,))
    with pytest.raises(ValueError, match=r"topk: k must be an integer in \[0, 4\]"):
        dg.topk(x, 5)
    with pytest.raises(IndexError, match="sort: dimension 2 is out of range"):
        dg.sort(x, 2)
    with pytest.raises(IndexError, match="topk: dimension -3 is out of range"):
        dg.topk(x, 1, dim=-3)


# ---------------------------------------------------------------------------
# outer, dot, mv, mm, bmm
# ---------------------------------------------------------------------------
PRODUCTS = {
    "dot": ((3,), (3,)),
    "outer": ((3,), (4,)),
    "mv": ((2, 3), (3,)),
    "mm": ((2, 3), (3, 4)),
    "bmm": ((2, 2, 3), (2, 3, 4)),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
@ORACLE
@given(data=st.data())
def test_products_match_torch(name, data):
    """dot/outer/mv/mm/bmm as functions and methods: values and both gradients;
    their backward passes gradcheck."""
    a_shape, b_shape = PRODUCTS[name]
    a = data.draw(arrays(a_shape), label="a")
    b = data.draw(arrays(b_shape), label="b")
    compare_with_torch(data, getattr(dg, name), getattr(torch, name), a, b)
    compare_with_torch(
        data, lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), a, b
    )


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_product_passes_gradcheck_and_rejects_wrong_dimensions(name):
    """Each product's backward equals finite differences; an operand with the wrong
    number of dimensions is a ValueError naming the op and the shape."""
    a_shape, b_shape = PRODUCTS[name]
    a, b = random_input(a_shape, -1, 1, 1), random_input(b_shape, -1, 1, 2)
    assert dg.gradcheck(getattr(dg, name), (a, b))
    with pytest.raises(
        ValueError,
        match=rf"{name}: \w+ must have \d dimension\(s\), received shape \(2, 2, 2, 2\)",
    ):
        getattr(dg, name)(dg.ones(2, 2, 2, 2), b)


def test_dot_and_bmm_check_sizes():
    """dot of vectors of different lengths, bmm of different batch sizes, dot of
    float32 with float64: errors naming the op."""
    with pytest.raises(
        ValueError, match=r"dot: the two vectors must have the same length"
    ):
        dg.dot(dg.ones(2), dg.ones(3))
    with pytest.raises(ValueError, match=r"bmm: the batch sizes differ"):
        dg.bmm(dg.ones(2, 2, 2), dg.ones(3, 2, 2))
    with pytest.raises(
        TypeError, match=r"dot: expected both operands to have the same dtype"
    ):
        dg.dot(dg.ones(2), dg.ones(2, dtype=dg.float64))


# ---------------------------------------------------------------------------
# meshgrid, logspace, arange, linspace
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("sizes", [(3,), (2, 3), (2, 3, 4), (1, 4)])
def test_meshgrid_matches_torch_with_gradients(indexing, sizes):
    """meshgrid's grids and the gradients summed back to each 1-D input, both
    indexings; the default is "ij" and gives no warning."""
    rng = np.random.default_rng(len(sizes))
    arrays_in = [rng.normal(size=n) for n in sizes]
    ours_in = [dg.tensor(a, dtype=dg.float64, requires_grad=True) for a in arrays_in]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays_in]
    ours = dg.meshgrid(*ours_in, indexing=indexing)
    theirs = torch.meshgrid(*theirs_in, indexing=indexing)
    weights = [rng.normal(size=tuple(t.shape)) for t in theirs]
    for o, t in zip(ours, theirs, strict=True):
        assert_same_values(o, t)
    sum((o * dg.tensor(w)).sum() for o, w in zip(ours, weights, strict=True)).backward()
    sum(
        (t * torch.tensor(w)).sum() for t, w in zip(theirs, weights, strict=True)
    ).backward()
    for o, t in zip(ours_in, theirs_in, strict=True):
        np.testing.assert_allclose(o.grad.array, t.grad.numpy(), rtol=1e-10)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        default = dg.meshgrid(ours_in)
    for o, t in zip(default, torch.meshgrid(*theirs_in, indexing="ij"), strict=True):
        assert_same_values(o, t)


def test_meshgrid_passes_gradcheck():
    """meshgrid's gradients (each grid summed back to its vector) equal finite
    differences, for both indexings."""
    x, y = random_input((2,), -1, 1, 1), random_input((3,), -1, 1, 2)
    for indexing in ("ij", "xy"):
        assert dg.gradcheck(
            lambda a, b, i=indexing: dg.meshgrid(a, b, indexing=i), (x, y)
        )


def test_meshgrid_rejects_2d_tensors_and_unknown_indexing():
    """A 2-D input and indexing="yx" are ValueErrors naming meshgrid."""
    with pytest.raises(
        ValueError, match=r"meshgrid: expected 0-d or 1-D tensors, received \(2, 2\)"
    ):
        dg.meshgrid(dg.ones(2, 2), dg.ones(2))
    with pytest.raises(ValueError, match=r"meshgrid: indexing must be 'ij' or 'xy'"):
        dg.meshgrid(dg.ones(2), indexing="yx")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((0, 2, 5), {}),
        ((-1, 1, 3), {"base": 2.0}),
        ((0, 3, 4), {"dtype": torch.float64}),
        ((1, 0, 1), {}),
        ((0, 1, 0), {}),
    ],
)
def test_logspace_matches_torch(args, kwargs):
    """logspace's values and dtype (float32 by default), bases and dtypes."""
    dtype = kwargs.pop("dtype", None)
    ours = dg.logspace(*args, **kwargs, dtype=None if dtype is None else dg.float64)
    assert_same_values(ours, torch.logspace(*args, **kwargs, dtype=dtype))


def test_arange_and_linspace_take_torchs_keywords():
    """arange(start=, end=, step=) and linspace(start=, end=, steps=): torch's values
    and dtypes (int64 for integer arguments, float32 otherwise)."""
    assert_same_values(
        dg.arange(start=1, end=7, step=2), torch.arange(start=1, end=7, step=2)
    )
    assert_same_values(dg.arange(0, 1, 0.25), torch.arange(0, 1, 0.25))
    assert_same_values(
        dg.linspace(start=0, end=1, steps=5), torch.linspace(start=0, end=1, steps=5)
    )


# ---------------------------------------------------------------------------
# one_hot
# ---------------------------------------------------------------------------
@ORACLE
@given(
    labels=hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
        elements=st.integers(0, 4),
    ),
    extra=st.integers(0, 2),
)
def test_one_hot_matches_torch(labels, extra):
    """F.one_hot: int64 rows of the labels' shape + (num_classes,), with the number of
    classes inferred (-1, the default) or given."""
    ours, theirs = dg.tensor(labels), torch.tensor(labels)
    assert_same_values(F.one_hot(ours), torch_F.one_hot(theirs))
    classes = int(labels.max()) + 1 + extra
    assert_same_values(F.one_hot(ours, classes), torch_F.one_hot(theirs, classes))


def test_one_hot_errors_name_the_op():
    """Float labels, a label at or above num_classes, and a negative label raise
    errors naming one_hot."""
    with pytest.raises(TypeError, match="one_hot: expected integer class labels"):
        F.one_hot(dg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"one_hot: labels must lie in \[0, 1\]"):
        F.one_hot(dg.tensor([0, 2]), 2)
    with pytest.raises(ValueError, match=r"one_hot: labels must lie in"):
        F.one_hot(dg.tensor([-1, 0]), 3)
