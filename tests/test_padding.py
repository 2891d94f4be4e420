"""F.pad's four modes and the padding modules, against torch, the oracle.

Each call runs on the same float64 input in deepgrad and in torch: the output
must have torch's shape and values (to 1e-12), and after backward with one
random upstream gradient the input's gradient must equal torch's (to 1e-10),
which checks that every copied element sends its gradient back to its source.
A table covers each mode on every dimension count it pads (1-D/2-D/3-D padding,
with and without a batch dimension), negative counts (crops), the largest legal
pads and empty batches; hypothesis draws more; gradcheck checks the backward
against finite differences without trusting torch; every call torch rejects,
deepgrad rejects with an error naming pad.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn

VALUES_RTOL = 1e-12
GRAD_RTOL = 1e-10
ATOL = 1e-12


def values(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2, 2, shape)


def compare_with_torch(
    shape: tuple[int, ...], pad: tuple[int, ...], mode: str, seed: int = 0
) -> None:
    """Same float64 input: torch's output shape and values, and torch's input
    gradient after backward with one random upstream gradient."""
    array = values(shape, seed)
    ours = dg.tensor(array, dtype=dg.float64, requires_grad=True)
    theirs = torch.tensor(array, dtype=torch.float64, requires_grad=True)
    out = F.pad(ours, pad, mode=mode)
    expected = TF.pad(theirs, pad, mode=mode)
    case = f"{mode} {shape} {pad}"
    assert out.shape == tuple(expected.shape), case
    assert out.dtype == dg.float64, case
    np.testing.assert_allclose(
        out.array, expected.detach().numpy(), rtol=VALUES_RTOL, atol=ATOL, err_msg=case
    )
    upstream = np.random.default_rng(seed + 1).uniform(-2, 2, out.shape)
    (out * dg.tensor(upstream)).sum().backward()
    (expected * torch.from_numpy(upstream)).sum().backward()
    if out.numel() == 0:
        # nothing flows back; torch's reflect backward then returns
        # memory it never wrote (e.g. 6.9e-310), so zeros are the oracle here
        np.testing.assert_array_equal(ours.grad.array, np.zeros(shape), err_msg=case)
        return
    np.testing.assert_allclose(
        ours.grad.array, theirs.grad.numpy(), rtol=GRAD_RTOL, atol=ATOL, err_msg=case
    )


# (shape, pad): each padded dimension count, with and without a batch dimension
CASES = [
    # 1-D padding of a 2-D or 3-D input
    ((2, 5), (1, 2)),
    ((2, 3, 5), (2, 1)),
    ((1, 4), (3, 3)),  # reflect's largest: size - 1
    ((2, 5), (0, 0)),
    ((2, 5), (-1, 2)),  # crop one side, pad the other
    ((2, 5), (3, -2)),
    ((2, 3, 5), (-2, -1)),  # crops only
    ((0, 3, 5), (2, 1)),  # an empty batch
    # 2-D padding of a 3-D or 4-D input
    ((2, 3, 4), (1, 2, 2, 1)),
    ((2, 2, 3, 4), (3, 0, 2, 2)),
    ((1, 2, 4, 3), (2, 2, 3, 3)),
    ((2, 3, 4), (-1, 1, 1, -1)),
    ((2, 3, 4), (0, 0, 1, 0)),
    ((0, 2, 3, 4), (1, 1, 1, 1)),
    # 3-D padding of a 4-D or 5-D input
    ((2, 3, 3, 4), (1, 2, 2, 1, 1, 1)),
    ((1, 2, 3, 3, 4), (3, 1, 0, 2, 2, 1)),
    ((2, 3, 3, 4), (-1, 2, 1, -1, 2, 0)),
    ((2, 1, 3, 2, 2), (1, 1, 1, 1, 1, 1)),
]
MODES = ["reflect", "replicate", "circular"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("shape", "pad"), CASES)
def test_pad_modes_match_torch(mode, shape, pad) -> None:
    """reflect, replicate and circular: torch's output (which positions copy which
    element, crops included) and torch's gradient (each copy's gradient summed
    into its source) for every dimension count torch pads."""
    compare_with_torch(shape, pad, mode)


@pytest.mark.parametrize(
    ("mode", "shape", "pad"),
    [
        ("replicate", (1, 3), (5, 4)),  # more than the size: the edge, many times
        ("circular", (1, 3), (3, 3)),  # exactly once around
        ("circular", (2, 4), (2, -1)),  # wraps around the 3 elements kept
        ("circular", (2, 4), (-1, 3)),
        ("reflect", (1, 4), (-5, 2)),  # crop past the left edge, reflect on the right
        ("replicate", (1, 4), (4, -2)),
        ("circular", (2, 0), (0, 0)),  # circular keeps empty dimensions
        ("circular", (2, 0, 4), (1, 1)),
        ("constant", (2, 3), (-1, 2)),
    ],
)
def test_pad_edge_cases_match_torch(mode, shape, pad) -> None:
    """Pads past the edge (replicate), whole turns and crops that change what
    circular wraps around (torch crops first), crops past an edge, and the empty
    dimensions circular accepts give torch's values and gradients."""
    compare_with_torch(shape, pad, mode)


@st.composite
def pad_cases(draw) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """A mode, an input shape and a pad torch accepts for them."""
    mode = draw(st.sampled_from(MODES))
    padded = draw(st.integers(1, 3))
    leading = (draw(st.integers(1, 2)),)  # channels
    if draw(st.booleans()):
        leading = (draw(st.integers(0, 2)),) + leading  # a batch, maybe empty
    sizes = tuple(draw(st.integers(1, 4)) for _ in range(padded))
    pad: list[int] = []
    for size in reversed(sizes):  # pad's pairs go from the last dimension back
        high = {"reflect": size - 1, "replicate": size + 2, "circular": size}[mode]
        pad += [draw(st.integers(-size, high)), draw(st.integers(-size, high))]
    if mode == "circular":
        for i, size in enumerate(reversed(sizes)):
            before, after = pad[2 * i], pad[2 * i + 1]
            kept = size - max(-before, 0) - max(-after, 0)
            assume(kept >= max(before, after, 0) and kept >= 0)
    out_sizes = [
        size + pad[2 * i] + pad[2 * i + 1] for i, size in enumerate(reversed(sizes))
    ]
    assume(min(out_sizes) >= 0 and max(out_sizes) >= 1)
    return mode, leading + sizes, tuple(pad)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=pad_cases(), seed=st.integers(0, 1000))
def test_drawn_pads_match_torch(case, seed) -> None:
    """Random modes, shapes (batched or not, empty batches) and pads (crops
    included): torch's values and gradients."""
    mode, shape, pad = case
    compare_with_torch(shape, pad, mode, seed)


@pytest.mark.parametrize(
    ("mode", "shape", "pad"),
    [
        ("reflect", (2, 3, 4), (3, 1, 2, 2)),
        ("replicate", (2, 2, 3), (2, 3, -1, 2)),
        ("circular", (1, 2, 2, 3), (2, -1, 1, 2, 1, 0)),
    ],
)
def test_pad_gradcheck(mode, shape, pad) -> None:
    """The backward of each copying mode agrees with finite differences, with
    elements copied several times (corners) and crops."""
    x = dg.tensor(values(shape), dtype=dg.float64, requires_grad=True)
    weights = dg.tensor(values(F.pad(x, pad, mode=mode).shape, seed=3))
    assert dg.gradcheck(lambda t: (F.pad(t, pad, mode=mode) * weights).sum(), (x,))


@pytest.mark.parametrize("mode", MODES)
def test_pad_keeps_the_dtype_and_names_torchs_grad_fn(mode) -> None:
    """float32 stays float32 and integers pad as in torch; the op is named as
    torch's grad_fn (without the trailing 0)."""
    x = dg.tensor(values((2, 3, 4)), dtype=dg.float32, requires_grad=True)
    reference = torch.tensor(values((2, 3, 4)), dtype=torch.float32, requires_grad=True)
    out = F.pad(x, (1, 2, 2, 1), mode=mode)
    expected = TF.pad(reference, (1, 2, 2, 1), mode=mode)
    assert out.dtype == dg.float32
    np.testing.assert_array_equal(out.array, expected.detach().numpy())
    assert out.grad_fn == type(expected.grad_fn).__name__.removesuffix("0")
    integers = np.arange(12).reshape(1, 3, 4)
    np.testing.assert_array_equal(
        F.pad(dg.tensor(integers), (2, 1), mode=mode).array,
        TF.pad(torch.tensor(integers), (2, 1), mode=mode).numpy(),
    )


def test_a_zero_value_is_accepted_for_every_mode() -> None:
    """torch accepts value=0 with the copying modes (it is the default of the
    constant one); the result is the mode's padding."""
    array = values((2, 4))
    for mode in MODES:
        np.testing.assert_array_equal(
            F.pad(dg.tensor(array), (1, 2), mode, 0).array,
            TF.pad(torch.tensor(array), (1, 2), mode, 0).numpy(),
        )


# ---------------------------------------------------------------------------
# errors: torch raises for each, deepgrad names pad and what is wrong
# ---------------------------------------------------------------------------
ERRORS = [
    # (mode, shape, pad, value, deepgrad's error, message)
    ("reflect", (4,), (1, 1), None, NotImplementedError, "2-D or 3-D input"),
    ("replicate", (2, 4), (1, 1, 1, 1), None, NotImplementedError, "4 counts"),
    ("circular", (2, 2, 2, 2, 4), (1, 1, 1, 1), None, NotImplementedError, "5-D"),
    ("reflect", (1, 1, 1, 2, 2, 4), (1,) * 6, None, NotImplementedError, "6-D"),
    ("reflect", (2, 4), (), None, NotImplementedError, "0 counts"),
    ("reflect", (2, 4), (1, 1, 1), None, ValueError, "even"),
    ("constant", (2, 4), (1,) * 6, None, ValueError, "at most 2 \\* input.ndim"),
    ("reflect", (1, 4), (4, 0), None, ValueError, "less than the size.*size 4"),
    ("reflect", (2, 3, 4), (1, 1, 0, 3), None, ValueError, r"\(0, 3\).*dimension 1"),
    ("reflect", (1, 2, 3, 4), (0, 0, 0, 0, 2, 0), None, ValueError, "dimension 1"),
    ("reflect", (1, 4), (-4, 0), None, ValueError, r"sizes \[0\]"),
    ("replicate", (1, 4), (-2, -2), None, ValueError, r"sizes \[0\]"),
    ("replicate", (2, 3, 4), (-2, -2, -2, -1), None, ValueError, r"sizes \[0, 0\]"),
    ("replicate", (2, 3, 4), (1, 1, -4, 0), None, ValueError, r"sizes \[-1, 6\]"),
    ("reflect", (2, 0, 4), (1, 1), None, ValueError, "only a batch dimension"),
    ("replicate", (0, 4), (1, 1), None, ValueError, "only a batch dimension"),
    ("circular", (2, 4), (5, 0), None, ValueError, "wraps around more than once"),
    ("circular", (1, 4), (4, -2), None, ValueError, "2 after cropping"),
    ("circular", (2, 4), (-5, 0), None, ValueError, "negative size -1"),
    ("constant", (2, 4), (-3, -2), None, ValueError, "negative size -1"),
    ("reflect", (2, 4), (1, 1), 1.0, ValueError, "takes no value"),
    ("circular", (2, 4), (1, 1), -2.0, ValueError, "takes no value"),
    ("reflect", (2, 4), (1.5, 1), None, TypeError, "sequence of integers"),
    ("constant", (2, 4), 2, None, TypeError, "sequence of integers"),
]


@pytest.mark.parametrize(("mode", "shape", "pad", "value", "error", "message"), ERRORS)
def test_pads_torch_rejects_raise(mode, shape, pad, value, error, message) -> None:
    """torch rejects the call; deepgrad raises an error that names pad and says
    what is wrong (a ValueError where torch raises RuntimeError, torch's
    NotImplementedError for the dimensions torch does not pad)."""
    array = values(shape)
    with pytest.raises((RuntimeError, NotImplementedError, TypeError)):
        TF.pad(torch.tensor(array), pad, mode=mode, value=value)
    with pytest.raises(error, match=r"^pad: .*" + message):
        F.pad(dg.tensor(array), pad, mode=mode, value=value)


def test_an_unknown_mode_raises_naming_the_modes() -> None:
    """A misspelt mode: torch raises NotImplementedError, deepgrad a ValueError
    listing the four modes."""
    with pytest.raises(NotImplementedError):
        TF.pad(torch.zeros(2, 4), (1, 1), mode="reflexion")
    with pytest.raises(ValueError, match="pad: mode must be one of.*'circular'"):
        F.pad(dg.zeros(2, 4), (1, 1), mode="reflexion")


@pytest.mark.parametrize("pad", [(2, -3), (-3, 3), (-4, 1)])
def test_circular_wrapping_more_than_once_after_a_crop_raises(pad) -> None:
    """Where crops leave fewer elements than the padding wraps around, torch reads
    memory it has not written (or raises); deepgrad raises, naming the elements
    kept. Its check is torch's (at most the dimension's size) plus this one."""
    x = dg.tensor(values((2, 4)))
    with pytest.raises(ValueError, match=r"pad: circular .* after cropping\) wraps"):
        F.pad(x, pad, mode="circular")


# ---------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------
MODULES = [
    # (name, constructor arguments, input shape)
    ("ReflectionPad1d", (2,), (2, 3, 5)),
    ("ReflectionPad1d", ((3, 1),), (3, 5)),
    ("ReflectionPad2d", (1,), (2, 3, 4, 5)),
    ("ReflectionPad2d", ((1, 2, 0, 3),), (3, 4, 5)),
    ("ReflectionPad3d", ((1, 0, 2, 1, 1, 2),), (1, 2, 3, 4, 5)),
    ("ReplicationPad1d", ((3, 0),), (2, 3, 2)),
    ("ReplicationPad2d", (2,), (1, 2, 3, 3)),
    ("ReplicationPad3d", (1,), (2, 2, 3, 3)),
    ("CircularPad1d", ((1, 2),), (2, 3, 4)),
    ("CircularPad2d", ((2, 1, 1, 3),), (2, 3, 4, 5)),
    ("CircularPad3d", (1,), (2, 1, 2, 3, 4)),
    ("ConstantPad1d", (2, 3.5), (2, 4)),
    ("ConstantPad2d", ((1, -1, 2, 0), -1), (2, 3, 4)),
    ("ConstantPad3d", (1, 0.25), (2, 2, 2, 3)),
    ("ZeroPad1d", ((0, 3),), (2, 4)),
    ("ZeroPad2d", (2,), (1, 2, 3, 4)),
    ("ZeroPad3d", ((1, 0, 0, 1, 2, 2),), (2, 2, 2, 3)),
]


@pytest.mark.parametrize(("name", "args", "shape"), MODULES)
def test_padding_modules_match_torch(name, args, shape) -> None:
    """Each padding module has torch's repr and padding tuple, and its forward
    gives torch's values and gradients."""
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    array = values(shape)
    x = dg.tensor(array, dtype=dg.float64, requires_grad=True)
    reference = torch.tensor(array, requires_grad=True)
    out, expected = ours(x), theirs(reference)
    np.testing.assert_allclose(
        out.array, expected.detach().numpy(), rtol=VALUES_RTOL, atol=ATOL
    )
    upstream = values(out.shape, seed=1)
    (out * dg.tensor(upstream)).sum().backward()
    (expected * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(
        x.grad.array, reference.grad.numpy(), rtol=GRAD_RTOL, atol=ATOL
    )


@pytest.mark.parametrize("name", ["CircularPad1d", "CircularPad2d", "CircularPad3d"])
def test_circular_modules_reject_inputs_of_other_dimensions(name) -> None:
    """CircularPadNd checks the input's dimensions (N+1 or N+2), as torch: a
    ValueError with torch's message and the module's name."""
    dims = int(name[-2])
    shape = (2,) * (dims + 3)
    with pytest.raises(ValueError, match=f"expected {dims + 1}D or {dims + 2}D"):
        getattr(torch.nn, name)(1)(torch.zeros(shape))
    with pytest.raises(
        ValueError, match=f"{name}: expected {dims + 1}D or {dims + 2}D input"
    ):
        getattr(nn, name)(1)(dg.zeros(shape))


def test_padding_modules_reject_a_padding_of_the_wrong_length() -> None:
    """torch keeps any padding tuple (ReflectionPad2d((1, 2)) then pads one
    dimension, not two); deepgrad raises, naming the module and the count it
    needs. Non-integers raise a TypeError."""
    assert torch.nn.ReflectionPad2d((1, 2)).padding == (1, 2)
    with pytest.raises(ValueError, match=r"ReflectionPad2d: .* 4 ints, received 2"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(ValueError, match=r"ZeroPad1d: .* 2 ints, received 3"):
        nn.ZeroPad1d((1, 2, 3))
    with pytest.raises(TypeError, match=r"ConstantPad2d: .* 4 ints"):
        nn.ConstantPad2d((1.5, 1, 1, 1), 0.0)
