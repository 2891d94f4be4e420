"""Every differentiable op of deepgrad against PyTorch, the oracle.

Each test feeds the same float64 inputs to deepgrad and to torch, checks the
forward values, then calls ``out.backward(g)`` on both sides with the same
random upstream gradient ``g`` and checks the gradient with respect to every
input, to a relative 1e-10. hypothesis draws the shapes (0-d tensors, size-1
dimensions, broadcasting) and the values; values stay away from the points
where an op is undefined (log and sqrt of numbers <= 0, division by 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg

RTOL = 1e-10
ATOL = 1e-12

ORACLE = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


ANY = floats(-3, 3)
POSITIVE = floats(0.1, 3)
AWAY_FROM_ZERO = floats(0.1, 3) | floats(-3, -0.1)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)
NONEMPTY_SHAPES = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


def arrays(shape: tuple[int, ...], elements=ANY, **kwargs: Any):
    return hnp.arrays(np.float64, shape, elements=elements, **kwargs)


def axes(ndim: int) -> st.SearchStrategy[int]:
    """One axis of an ndim-dimensional tensor, negative axes included."""
    rank = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    return st.integers(-rank, rank - 1)


def reduction_dims(ndim: int) -> st.SearchStrategy[Any]:
    """A reduction's ``dim``: None, one axis, or a tuple of distinct axes."""
    rank = max(ndim, 1)
    distinct = st.lists(
        axes(ndim), min_size=1, max_size=rank, unique_by=lambda d: d % rank
    )
    return st.none() | axes(ndim) | distinct.map(tuple)


def assert_matches_torch(
    data: st.DataObject,
    dg_fn: Callable[..., dg.Tensor],
    torch_fn: Callable[..., torch.Tensor],
    *arrays_in: np.ndarray,
) -> None:
    """Same inputs, same upstream gradient: same outputs and same input gradients."""
    dg_inputs = [dg.tensor(a, dtype=dg.float64, requires_grad=True) for a in arrays_in]
    torch_inputs = [
        torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays_in
    ]
    dg_out = dg_fn(*dg_inputs)
    torch_out = torch_fn(*torch_inputs)
    expected = torch_out.detach().numpy()
    np.testing.assert_allclose(
        dg_out.array, expected, rtol=RTOL, atol=ATOL, strict=True, err_msg="forward"
    )

    upstream = data.draw(arrays(expected.shape, floats(-2, 2)), label="upstream")
    upstream = upstream.astype(expected.dtype)
    dg_out.backward(dg.tensor(upstream))
    torch_out.backward(torch.from_numpy(upstream))
    for position, (ours, theirs) in enumerate(
        zip(dg_inputs, torch_inputs, strict=True)
    ):
        assert ours.grad is not None and theirs.grad is not None
        np.testing.assert_allclose(
            ours.grad.array,
            theirs.grad.numpy(),
            rtol=RTOL,
            atol=ATOL,
            strict=True,
            err_msg=f"gradient with respect to input {position}",
        )


def same(fn: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """An expression that reads the same for deepgrad and torch tensors."""
    return fn, fn


# ---------------------------------------------------------------------------
# Elementwise ops of one tensor (scalars on either side included)
# ---------------------------------------------------------------------------
# name -> (deepgrad fn, torch fn, elements)
UNARY: dict[str, tuple[Callable[..., Any], Callable[..., Any], Any]] = {
    "add_scalar": (*same(lambda x: x + 2.5), ANY),
    "radd_scalar": (*same(lambda x: 2 + x), ANY),
    "sub_scalar": (*same(lambda x: x - 1.5), ANY),
    "rsub_scalar": (*same(lambda x: 1 - x), ANY),
    "mul_scalar": (*same(lambda x: x * 3), ANY),
    "rmul_scalar": (*same(lambda x: 2 * x), ANY),
    "div_scalar": (*same(lambda x: x / 4.0), ANY),
    "rdiv_scalar": (*same(lambda x: 10.0 / x), AWAY_FROM_ZERO),
    "neg": (*same(lambda x: -x), ANY),
    "neg_method": (*same(lambda x: x.neg()), ANY),
    "pow_2": (*same(lambda x: x**2), ANY),
    "pow_3": (*same(lambda x: x**3), ANY),
    "pow_0": (*same(lambda x: x**0), ANY),
    "pow_1": (*same(lambda x: x**1), ANY),
    "pow_half": (*same(lambda x: x**0.5), POSITIVE),
    "pow_minus_1": (*same(lambda x: x**-1), AWAY_FROM_ZERO),
    "pow_minus_1.5": (*same(lambda x: x**-1.5), POSITIVE),
    "pow_method": (*same(lambda x: x.pow(2.5)), POSITIVE),
    "rpow_2": (*same(lambda x: 2**x), ANY),
    "rpow_half": (*same(lambda x: 0.5**x), ANY),
    "rpow_2.5": (*same(lambda x: 2.5**x), ANY),
    "exp": (*same(lambda x: x.exp()), ANY),
    "exp_function": (dg.exp, torch.exp, ANY),
    "log": (*same(lambda x: x.log()), POSITIVE),
    "log_function": (dg.log, torch.log, POSITIVE),
    "sqrt": (*same(lambda x: x.sqrt()), POSITIVE),
    "sqrt_function": (dg.sqrt, torch.sqrt, POSITIVE),
    # at 0 both libraries take the subgradient sign(0) = 0, so zeros may be drawn
    "abs": (*same(lambda x: x.abs()), ANY),
    "abs_builtin": (*same(lambda x: abs(x)), ANY),
    "abs_function": (dg.abs, torch.abs, ANY),
    # clamp passes the gradient where min <= x <= max in both, bounds included
    "clamp_min": (*same(lambda x: x.clamp(min=-0.5)), ANY),
    "clamp_max": (*same(lambda x: x.clamp(max=0.5)), ANY),
    "clamp_both": (*same(lambda x: x.clamp(-1.0, 1.0)), ANY),
    "clamp_function": (
        lambda x: dg.clamp(x, min=-1, max=2),
        lambda x: torch.clamp(x, min=-1, max=2),
        ANY,
    ),
    "clip_method": (*same(lambda x: x.clip(-1.0, 1.0)), ANY),
    "sigmoid": (*same(lambda x: x.sigmoid()), ANY),
    "sigmoid_function": (dg.sigmoid, torch.sigmoid, floats(-40, 40)),
    "tanh": (*same(lambda x: x.tanh()), ANY),
    "tanh_function": (dg.tanh, torch.tanh, ANY),
    # relu'(0) = 0 and leaky_relu'(0) = negative_slope in both
    "relu": (*same(lambda x: x.relu()), ANY),
    "relu_function": (dg.relu, torch.relu, ANY),
    "leaky_relu": (dg.leaky_relu, torch_F.leaky_relu, ANY),
    "leaky_relu_slope": (
        lambda x: dg.leaky_relu(x, 0.2),
        lambda x: torch_F.leaky_relu(x, 0.2),
        ANY,
    ),
    "gelu": (dg.gelu, torch_F.gelu, floats(-5, 5)),
    "gelu_tanh": (
        lambda x: dg.gelu(x, approximate="tanh"),
        lambda x: torch_F.gelu(x, approximate="tanh"),
        floats(-5, 5),
    ),
    "clone": (*same(lambda x: x.clone()), ANY),
    # float64 -> float32 rounds the same way in both; the gradient comes back
    # as float64
    "float_cast": (*same(lambda x: x.float()), ANY),
    "double_cast_of_float": (*same(lambda x: x.float().double() * x), ANY),
    "double_cast_is_identity_on_float64": (*same(lambda x: x.double() * 3), ANY),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@ORACLE
@given(shape=SHAPES, data=st.data())
def test_elementwise_op_matches_torch_values_and_gradient(name, shape, data):
    dg_fn, torch_fn, elements = UNARY[name]
    x = data.draw(arrays(shape, elements), label="x")
    assert_matches_torch(data, dg_fn, torch_fn, x)


# ---------------------------------------------------------------------------
# Binary elementwise ops, with broadcasting
# ---------------------------------------------------------------------------
BINARY: dict[str, tuple[Callable[..., Any], Callable[..., Any], Any, Any]] = {
    "add": (*same(lambda a, b: a + b), ANY, ANY),
    "add_method": (*same(lambda a, b: a.add(b)), ANY, ANY),
    "sub": (*same(lambda a, b: a - b), ANY, ANY),
    "sub_method": (*same(lambda a, b: a.sub(b)), ANY, ANY),
    "mul": (*same(lambda a, b: a * b), ANY, ANY),
    "mul_method": (*same(lambda a, b: a.mul(b)), ANY, ANY),
    "div": (*same(lambda a, b: a / b), ANY, AWAY_FROM_ZERO),
    "div_method": (*same(lambda a, b: a.div(b)), ANY, AWAY_FROM_ZERO),
    "pow_tensor_exponent": (*same(lambda a, b: a**b), POSITIVE, floats(-2, 2)),
    "pow_method_tensor_exponent": (*same(lambda a, b: a.pow(b)), POSITIVE, ANY),
    # at ties both libraries give each side half of the gradient, so equal
    # values are allowed in the draw
    "maximum": (dg.maximum, torch.maximum, ANY, ANY),
    "minimum": (dg.minimum, torch.minimum, ANY, ANY),
    "maximum_method": (*same(lambda a, b: a.maximum(b)), ANY, ANY),
    "max_of_two_tensors": (dg.max, torch.max, ANY, ANY),
    "min_of_two_tensors": (dg.min, torch.min, ANY, ANY),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@ORACLE
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4),
    data=st.data(),
)
def test_binary_op_matches_torch_with_broadcasting(name, shapes, data):
    dg_fn, torch_fn, left_elements, right_elements = BINARY[name]
    left_shape, right_shape = shapes.input_shapes
    left = data.draw(arrays(left_shape, left_elements), label="left")
    right = data.draw(arrays(right_shape, right_elements), label="right")
    assert_matches_torch(data, dg_fn, torch_fn, left, right)


@ORACLE
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=4, max_side=4),
    data=st.data(),
)
def test_where_sends_each_branch_the_gradient_of_its_picks(shapes, data):
    condition_shape, left_shape, right_shape = shapes.input_shapes
    condition = data.draw(hnp.arrays(np.bool_, condition_shape), label="condition")
    left = data.draw(arrays(left_shape), label="left")
    right = data.draw(arrays(right_shape), label="right")
    assert_matches_torch(
        data,
        lambda a, b: dg.where(dg.tensor(condition), a, b),
        lambda a, b: torch.where(torch.from_numpy(condition), a, b),
        left,
        right,
    )


@ORACLE
@given(shape=SHAPES, data=st.data())
def test_where_with_a_scalar_branch_matches_torch(shape, data):
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(
        data,
        lambda t: dg.where(t > 0, t, 0.0),
        lambda t: torch.where(t > 0, t, 0.0),
        x,
    )


# ---------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)),  # dot product -> 0-d
    ((2, 3), (3, 4)),
    ((3,), (3, 4)),  # vector @ matrix
    ((2, 3), (3,)),  # matrix @ vector
    ((1, 3), (3, 1)),
    ((5, 2, 3), (5, 3, 4)),  # batched
    ((2, 1, 2, 3), (5, 3, 4)),  # batch dims broadcast: (2, 1) with (5,)
    ((3,), (2, 3, 4)),  # vector @ batch of matrices
    ((2, 4, 3), (3,)),
    ((4, 1, 2, 3), (1, 3, 3, 2)),
]


@pytest.mark.parametrize(("left_shape", "right_shape"), MATMUL_SHAPES)
@ORACLE
@given(data=st.data())
def test_matmul_matches_torch_for_1d_2d_and_batched_shapes(
    left_shape, right_shape, data
):
    left = data.draw(arrays(left_shape), label="left")
    right = data.draw(arrays(right_shape), label="right")
    assert_matches_torch(data, *same(lambda a, b: a @ b), left, right)


@pytest.mark.parametrize(
    "spelling",
    [
        (lambda a, b: a @ b, lambda a, b: a @ b),
        (lambda a, b: a.matmul(b), lambda a, b: a.matmul(b)),
        (dg.matmul, torch.matmul),
    ],
    ids=["operator", "method", "function"],
)
@ORACLE
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=3, max_side=4
    ),
    data=st.data(),
)
def test_matmul_matches_torch_for_drawn_shapes(spelling, shapes, data):
    left_shape, right_shape = shapes.input_shapes
    left = data.draw(arrays(left_shape), label="left")
    right = data.draw(arrays(right_shape), label="right")
    assert_matches_torch(data, *spelling, left, right)


# ---------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------
REDUCTIONS = {
    "sum": (
        lambda x, dim, keepdim: x.sum(dim=dim, keepdim=keepdim),
        lambda x, dim, keepdim: x.sum(dim=dim, keepdim=keepdim),
    ),
    "sum_function": (
        lambda x, dim, keepdim: dg.sum(x, dim=dim, keepdim=keepdim),
        lambda x, dim, keepdim: torch.sum(x, dim=dim, keepdim=keepdim),
    ),
    "mean": (
        lambda x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
        lambda x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
    ),
    "mean_function": (
        lambda x, dim, keepdim: dg.mean(x, dim=dim, keepdim=keepdim),
        lambda x, dim, keepdim: torch.mean(x, dim=dim, keepdim=keepdim),
    ),
    "var": (
        lambda x, dim, keepdim: x.var(dim=dim, keepdim=keepdim),
        lambda x, dim, keepdim: x.var(dim=dim, keepdim=keepdim),
    ),
    "var_biased": (
        lambda x, dim, keepdim: dg.var(x, dim=dim, unbiased=False, keepdim=keepdim),
        lambda x, dim, keepdim: torch.var(x, dim=dim, correction=0, keepdim=keepdim),
    ),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@ORACLE
@given(shape=SHAPES, keepdim=st.booleans(), data=st.data())
def test_reduction_matches_torch_for_every_dim_form(name, shape, keepdim, data):
    dg_fn, torch_fn = REDUCTIONS[name]
    dim = data.draw(reduction_dims(len(shape)), label="dim")
    if name.startswith("var"):
        reduced = range(len(shape)) if dim is None else np.atleast_1d(dim)
        count = int(np.prod([shape[d] for d in reduced])) if shape else 1
        assume(count > 1)  # the unbiased variance of one value is 0/0
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(
        data,
        lambda t: dg_fn(t, dim, keepdim),
        lambda t: torch_fn(t, dim, keepdim),
        x,
    )


@pytest.mark.parametrize("name", ["max", "min"])
@ORACLE
@given(shape=SHAPES, data=st.data())
def test_max_min_without_dim_share_the_gradient_among_ties_like_torch(
    name, shape, data
):
    # a small set of values makes ties common; both libraries split the
    # gradient evenly among the tied elements
    x = data.draw(arrays(shape, st.sampled_from([-1.0, 0.5, 2.0]) | ANY), label="x")
    assert_matches_torch(
        data, lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x
    )
    assert_matches_torch(
        data, lambda t: getattr(dg, name)(t), lambda t: getattr(torch, name)(t), x
    )


@pytest.mark.parametrize("name", ["max", "min"])
@ORACLE
@given(shape=SHAPES, keepdim=st.booleans(), data=st.data())
def test_max_min_along_dim_match_torch_values_indices_and_gradient(
    name, shape, keepdim, data
):
    dim = data.draw(axes(len(shape)), label="dim")
    # distinct values: at a tie the index PyTorch documents is the first one,
    # which NumPy's argmax also returns, but the draw stays tie-free so the
    # gradient test does not depend on that choice
    x = data.draw(arrays(shape, ANY, unique=True), label="x")

    ours = getattr(dg.tensor(x), name)(dim=dim, keepdim=keepdim)
    theirs = getattr(torch.tensor(x), name)(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(
        ours.indices.numpy(), theirs.indices.numpy(), strict=True
    )
    values, indices = ours
    assert values is ours.values and indices is ours.indices

    assert_matches_torch(
        data,
        lambda t: getattr(t, name)(dim=dim, keepdim=keepdim).values,
        lambda t: getattr(t, name)(dim=dim, keepdim=keepdim).values,
        x,
    )
    assert_matches_torch(
        data,
        lambda t: getattr(dg, name)(t, dim, keepdim)[0],
        lambda t: getattr(torch, name)(t, dim, keepdim)[0],
        x,
    )


# ---------------------------------------------------------------------------
# Shape ops
# ---------------------------------------------------------------------------
@ORACLE
@given(shape=SHAPES, data=st.data())
def test_reshape_and_view_match_torch(shape, data):
    target = data.draw(
        st.sampled_from([shape[::-1], (-1,), (1, -1), (*shape, 1), (1, *shape)]),
        label="target",
    )
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(data, *same(lambda t: t.reshape(target)), x)
    assert_matches_torch(data, *same(lambda t: t.view(target)), x)
    if target:  # torch's view() needs at least one size when they come unpacked
        assert_matches_torch(data, *same(lambda t: t.view(*target)), x)
    assert_matches_torch(
        data, lambda t: dg.reshape(t, target), lambda t: torch.reshape(t, target), x
    )


@ORACLE
@given(shape=SHAPES, data=st.data())
def test_flatten_matches_torch_for_any_dim_range(shape, data):
    start = data.draw(axes(len(shape)), label="start_dim")
    end = data.draw(axes(len(shape)), label="end_dim")
    rank = max(len(shape), 1)
    assume(start % rank <= end % rank)
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(data, *same(lambda t: t.flatten(start, end)), x)
    assert_matches_torch(data, dg.flatten, torch.flatten, x)


@ORACLE
@given(shape=NONEMPTY_SHAPES, data=st.data())
def test_transpose_matches_torch(shape, data):
    dim0 = data.draw(axes(len(shape)), label="dim0")
    dim1 = data.draw(axes(len(shape)), label="dim1")
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(data, *same(lambda t: t.transpose(dim0, dim1)), x)
    assert_matches_torch(
        data,
        lambda t: dg.transpose(t, dim0, dim1),
        lambda t: torch.transpose(t, dim0, dim1),
        x,
    )


@ORACLE
@given(shape=NONEMPTY_SHAPES, data=st.data())
def test_permute_matches_torch_with_negative_dims(shape, data):
    ndim = len(shape)
    order = data.draw(st.permutations(range(ndim)), label="order")
    negative = data.draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))
    dims = [d - ndim if flip else d for d, flip in zip(order, negative, strict=True)]
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(data, *same(lambda t: t.permute(*dims)), x)
    assert_matches_torch(data, *same(lambda t: t.permute(dims)), x)


@ORACLE
@given(shape=SHAPES, data=st.data())
def test_T_reverses_dimensions_like_torch_permute(shape, data):
    x = data.draw(arrays(shape), label="x")
    if len(shape) == 2:
        assert_matches_torch(data, *same(lambda t: t.T), x)
    else:
        # torch deprecates .T outside 2-D; its documented equivalent is the
        # permutation that reverses the dimensions
        reverse = tuple(reversed(range(len(shape))))
        assert_matches_torch(data, lambda t: t.T, lambda t: t.permute(reverse), x)
    if len(shape) >= 2:
        assert_matches_torch(data, *same(lambda t: t.mT), x)


@ORACLE
@given(shape=SHAPES, data=st.data())
def test_unsqueeze_matches_torch_at_every_position(shape, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)), label="dim")
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(data, *same(lambda t: t.unsqueeze(dim)), x)
    assert_matches_torch(
        data, lambda t: dg.unsqueeze(t, dim), lambda t: torch.unsqueeze(t, dim), x
    )


@ORACLE
@given(shape=SHAPES, data=st.data())
def test_squeeze_matches_torch_with_no_dim_one_dim_or_several(shape, data):
    dim = data.draw(reduction_dims(len(shape)), label="dim")
    x = data.draw(arrays(shape), label="x")
    if dim is None:
        assert_matches_torch(data, *same(lambda t: t.squeeze()), x)
    else:
        assert_matches_torch(data, *same(lambda t: t.squeeze(dim)), x)
        assert_matches_torch(
            data, lambda t: dg.squeeze(t, dim), lambda t: torch.squeeze(t, dim), x
        )


@ORACLE
@given(shape=SHAPES, data=st.data())
def test_expand_sums_the_gradient_over_the_copies_like_torch(shape, data):
    target = [
        data.draw(st.integers(1, 3))
        if size == 1
        else data.draw(st.sampled_from([size, -1]))
        for size in shape
    ]
    leading = data.draw(st.lists(st.integers(1, 3), max_size=2), label="leading")
    target = [*leading, *target]
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(data, *same(lambda t: t.expand(target)), x)
    if target:  # torch's expand() needs at least one size when they come unpacked
        assert_matches_torch(data, *same(lambda t: t.expand(*target)), x)


@ORACLE
@given(
    shape=NONEMPTY_SHAPES,
    count=st.integers(1, 3),
    data=st.data(),
)
def test_cat_gives_each_input_its_slice_of_the_gradient(shape, count, data):
    dim = data.draw(axes(len(shape)), label="dim")
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    pieces = []
    for size in sizes:
        piece_shape = list(shape)
        piece_shape[dim] = size
        pieces.append(data.draw(arrays(tuple(piece_shape)), label="piece"))
    assert_matches_torch(
        data,
        lambda *ts: dg.cat(ts, dim=dim),
        lambda *ts: torch.cat(ts, dim=dim),
        *pieces,
    )


@ORACLE
@given(shape=SHAPES, count=st.integers(1, 3), data=st.data())
def test_stack_matches_torch_at_every_new_axis(shape, count, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)), label="dim")
    pieces = [data.draw(arrays(shape), label="piece") for _ in range(count)]
    assert_matches_torch(
        data,
        lambda *ts: dg.stack(list(ts), dim=dim),
        lambda *ts: torch.stack(ts, dim=dim),
        *pieces,
    )


# ---------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------
def _has_negative_step(key: Any) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, slice) and (k.step or 1) < 0 for k in parts)


def torch_getitem(t: torch.Tensor, key: Any) -> torch.Tensor:
    """``t[key]`` in torch, which has no negative-step slices.

    For those, the oracle gathers the same elements through torch's own
    integer-array indexing of the flattened tensor (whose backward is torch's
    index_put with accumulation); everything else is indexed directly.
    """
    if _has_negative_step(key):
        positions = np.array(np.arange(t.numel()).reshape(t.shape)[key])  # a copy
        return t.reshape(-1)[torch.from_numpy(positions)]
    if isinstance(key, tuple):
        key = tuple(
            torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key
        )
    elif isinstance(key, np.ndarray):
        key = torch.from_numpy(key)
    return t[key]


INDEX_KEYS = {
    "int": (1,),
    "negative_int": -1,
    "int_and_slice": (slice(None), 2),
    "slice_with_step": (slice(1, None, 2),),
    "negative_step": (slice(None, None, -1),),
    "negative_step_inner": (slice(None), slice(3, 0, -2)),
    "none_and_ellipsis": (Ellipsis, None, 1),
    "none_first": (None, 0),
    "ellipsis_only": Ellipsis,
    "repeated_rows": (np.array([0, 0, 2, -1]),),
    "repeated_columns_after_slice": (slice(None), np.array([1, 1, -1])),
    "paired_arrays_with_repeats": (np.array([0, 2, 0]), np.array([1, 1, 1])),
    "array_of_arrays_2d": (np.array([[0, 1], [1, 1]]),),
    "boolean_mask_rows": np.array([True, False, True]),
    "boolean_mask_full": np.arange(60).reshape(3, 4, 5) % 3 == 0,
}


@pytest.mark.parametrize("name", sorted(INDEX_KEYS))
@ORACLE
@given(data=st.data())
def test_indexing_matches_torch_for_each_kind_of_key(name, data):
    key = INDEX_KEYS[name]
    x = data.draw(arrays((3, 4, 5)), label="x")
    assert_matches_torch(data, lambda t: t[key], lambda t: torch_getitem(t, key), x)


def test_repeated_fancy_indices_accumulate_their_gradients():
    x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_tensor_keys_index_like_arrays():
    x = dg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows = x[dg.tensor([1, 1])]
    masked = x[x > 2.5]
    (rows.sum() + masked.sum()).backward()
    np.testing.assert_array_equal(masked.array, [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0, 0.0], [3.0, 3.0, 3.0]])


@ORACLE
@given(shape=SHAPES, data=st.data())
def test_basic_indexing_matches_torch_for_drawn_keys(shape, data):
    key = data.draw(
        hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True),
        label="key",
    )
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(data, lambda t: t[key], lambda t: torch_getitem(t, key), x)


@ORACLE
@given(shape=NONEMPTY_SHAPES, data=st.data())
def test_integer_array_indexing_matches_torch_for_drawn_keys(shape, data):
    key = data.draw(
        hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=5)
        ),
        label="key",
    )
    key = tuple(k.astype(np.int64) for k in key)
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(data, lambda t: t[key], lambda t: torch_getitem(t, key), x)


@ORACLE
@given(shape=NONEMPTY_SHAPES, data=st.data())
def test_boolean_mask_indexing_matches_torch(shape, data):
    mask_ndim = data.draw(st.integers(1, len(shape)), label="mask_ndim")
    mask = data.draw(hnp.arrays(np.bool_, shape[:mask_ndim]), label="mask")
    x = data.draw(arrays(shape), label="x")
    assert_matches_torch(
        data, lambda t: t[dg.tensor(mask)], lambda t: t[torch.from_numpy(mask)], x
    )


# ---------------------------------------------------------------------------
# softmax and log_softmax
# ---------------------------------------------------------------------------
SOFTMAXES = {
    "softmax": (dg.softmax, torch.softmax),
    "log_softmax": (dg.log_softmax, torch.log_softmax),
    "softmax_method": (
        lambda t, dim: t.softmax(dim),
        lambda t, dim: t.softmax(dim),
    ),
    "log_softmax_method": (
        lambda t, dim: t.log_softmax(dim),
        lambda t, dim: t.log_softmax(dim),
    ),
}


@pytest.mark.parametrize("name", sorted(SOFTMAXES))
@ORACLE
@given(shape=SHAPES, data=st.data())
def test_softmax_family_matches_torch_over_every_dim(name, shape, data):
    dg_fn, torch_fn = SOFTMAXES[name]
    dim = data.draw(axes(len(shape)), label="dim")
    x = data.draw(arrays(shape, floats(-20, 20)), label="x")
    assert_matches_torch(data, lambda t: dg_fn(t, dim), lambda t: torch_fn(t, dim), x)


# ---------------------------------------------------------------------------
# dtype rules
# ---------------------------------------------------------------------------
# each case is written once and run with lib = deepgrad and lib = torch
DTYPE_CASES: dict[str, Callable[[Any], Any]] = {
    "float32_times_python_float": lambda lib: lib.tensor([1.5, 2.0]) * 0.1,
    "python_float_times_float32": lambda lib: 0.1 * lib.tensor([1.5, 2.0]),
    "float32_divided_by_python_int": lambda lib: lib.tensor([1.5, 2.0]) / 3,
    "float32_power_python_int": lambda lib: lib.tensor([1.5, 2.0]) ** 2,
    "python_int_power_float32": lambda lib: 2 ** lib.tensor([1.5, 2.0]),
    "float32_plus_int64_tensor": lambda lib: (
        lib.tensor([1.5, 2.0]) + lib.tensor([1, 2])
    ),
    "int64_tensor_times_float32": lambda lib: (
        lib.tensor([1, 2]) * lib.tensor([1.5, 2.0])
    ),
    "float32_plus_float64_tensor": lambda lib: (
        lib.tensor([1.5, 2.0]) + lib.tensor([1.0, 2.0], dtype=lib.float64)
    ),
    "float32_plus_0d_float64_tensor": lambda lib: (
        lib.tensor([1.5, 2.0]) + lib.tensor(2.0, dtype=lib.float64)
    ),
    "int64_plus_0d_float64_tensor": lambda lib: (
        lib.tensor([1, 2]) + lib.tensor(2.0, dtype=lib.float64)
    ),
    "int64_divided_by_python_int": lambda lib: lib.tensor([1, 2]) / 2,
    "int64_divided_by_int64_tensor": lambda lib: (
        lib.tensor([1, 2]) / lib.tensor([2, 2])
    ),
    "python_int_divided_by_int64": lambda lib: 1 / lib.tensor([1, 2]),
    "int64_times_python_float": lambda lib: lib.tensor([1, 2]) * 2.5,
    "int64_plus_python_int": lambda lib: lib.tensor([1, 2]) + 2,
    "int64_power_python_float": lambda lib: lib.tensor([1, 2]) ** 0.5,
    "python_float_power_int64": lambda lib: 2.5 ** lib.tensor([1, 2]),
    "int32_plus_int64": lambda lib: (
        lib.tensor([1, 2], dtype=lib.int32) + lib.tensor([1, 2])
    ),
    "int32_times_python_int": lambda lib: lib.tensor([1, 2], dtype=lib.int32) * 3,
    "float32_matmul": lambda lib: lib.ones(2, 3) @ lib.ones(3),
    "float32_mean": lambda lib: lib.tensor([1.5, 2.0]).mean(),
    "float32_var": lambda lib: lib.tensor([1.5, 2.0]).var(),
    "int64_sum": lambda lib: lib.tensor([1, 2]).sum(),
    "int32_sum_widens": lambda lib: lib.tensor([1, 2], dtype=lib.int32).sum(),
    "float64_float_cast": lambda lib: lib.tensor([1.0], dtype=lib.float64).float(),
    "float32_double_cast": lambda lib: lib.tensor([1.0]).double(),
    "int64_float_cast": lambda lib: lib.tensor([1, 2]).float(),
    "comparison_is_bool": lambda lib: lib.tensor([0.2, 0.7]) > 0.5,
    "comparison_then_float": lambda lib: (lib.tensor([0.2, 0.7]) > 0.5).float(),
    "where_float32_with_python_float": lambda lib: lib.where(
        lib.tensor([True, False]), lib.tensor([1.5, 2.0]), 0.0
    ),
    "maximum_float32_float64": lambda lib: lib.maximum(
        lib.tensor([1.5, 2.0]), lib.tensor([1.0, 3.0], dtype=lib.float64)
    ),
    "clamp_int64_with_ints": lambda lib: lib.tensor([0, 1, 2]).clamp(min=1),
    "clamp_int64_with_float_bound": lambda lib: lib.tensor([0, 1, 2]).clamp(min=0.5),
    "sigmoid_float32": lambda lib: lib.tensor([0.5]).sigmoid(),
    "softmax_float32": lambda lib: lib.tensor([0.5, 1.0]).softmax(0),
}


@pytest.mark.parametrize("name", sorted(DTYPE_CASES))
def test_result_dtype_and_values_follow_torch_promotion(name):
    ours = DTYPE_CASES[name](dg)
    theirs = DTYPE_CASES[name](torch)
    expected = theirs.detach().numpy()
    assert ours.dtype == expected.dtype
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-6, strict=True)


@pytest.mark.parametrize("op", ["mul", "div"])
def test_a_python_number_scales_a_wider_incoming_gradient_in_its_dtype_like_torch(op):
    # float16 * 0.1 feeding a float32 sum: the gradient that comes back is float32,
    # and 0.1 must be applied to it in float32 (not rounded to float16 first)
    values = np.array([1.0, 2.0, 3.0], np.float16)
    weights = np.array([3.0, 7.0, 11.0], np.float32)
    grads = []
    for lib in (dg, torch):
        x = lib.tensor(values, requires_grad=True)
        scaled = x * 0.1 if op == "mul" else x / 0.3
        z = (scaled + lib.tensor(np.zeros(3, np.float32))) * lib.tensor(weights)
        z.sum().backward()
        grads.append(np.asarray(x.grad.numpy(), dtype=np.float64))
    np.testing.assert_array_equal(grads[0], grads[1])
