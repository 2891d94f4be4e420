"""deepgrad.nn.functional against torch.nn.functional, in float64.

Every value and every gradient must equal PyTorch's to a relative 1e-10. The
absolute floor of 1e-12 only matters where a result cancels to about zero
(``sigmoid(z) - y`` near ``y``), where the two libraries' last-ulp roundings
differ. Gradients are compared after a backward pass seeded with the same
random upstream gradient, so reduction='none' is tested with a non-trivial
vector-Jacobian product.

Where deepgrad deliberately differs from torch (losses refuse mismatched
shapes instead of broadcasting with a warning), the error is tested instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg
import deepgrad.nn.functional as F

torch = pytest.importorskip("torch")
torch_F = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12
REDUCTIONS = ("mean", "sum", "none")
oracle = settings(max_examples=25, deadline=None)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def leaves(array, requires_grad: bool = True):
    """The same values as a deepgrad leaf and a torch leaf."""
    array = np.asarray(array)
    grad = requires_grad and array.dtype.kind == "f"
    return dg.tensor(array, requires_grad=grad), torch.tensor(array, requires_grad=grad)


def assert_matches(ours, theirs) -> None:
    expected = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    actual = ours.array if isinstance(ours, dg.Tensor) else np.asarray(ours)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def assert_same_values_and_grads(ours, theirs, pairs) -> None:
    """Equal outputs, then equal gradients for every (deepgrad, torch) leaf pair."""
    assert_matches(ours, theirs)
    seed = np.random.default_rng(0).standard_normal(theirs.shape)
    ours.backward(seed)
    theirs.backward(torch.tensor(seed))
    for mine, reference in pairs:
        if reference.requires_grad:
            assert mine.grad is not None
            assert_matches(mine.grad, reference.grad)


def finite(low: float, high: float, **kwargs) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, **kwargs)


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
probabilities = st.one_of(st.sampled_from([0.0, 1.0]), finite(0.0, 1.0))
labels_01 = st.one_of(st.sampled_from([0.0, 1.0]), finite(0.0, 1.0))


@st.composite
def class_index_case(draw, spatial_dims: int = 0):
    """Logits (N, C, *spatial) and integer labels (N, *spatial)."""
    batch, classes = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    spatial = tuple(
        draw(st.lists(st.integers(1, 3), min_size=spatial_dims, max_size=spatial_dims))
    )
    logits = draw(
        hnp.arrays(np.float64, (batch, classes, *spatial), elements=finite(-30, 30))
    )
    labels = draw(
        hnp.arrays(np.int64, (batch, *spatial), elements=st.integers(0, classes - 1))
    )
    return logits, labels


@st.composite
def class_weights(draw, classes: int):
    return draw(hnp.arrays(np.float64, (classes,), elements=finite(0.1, 3.0)))


@st.composite
def probability_target_case(draw):
    """Logits and rows of class probabilities (summing to 1 over dim 1)."""
    shape = draw(st.sampled_from([(4,), (3, 4), (2, 3, 2), (5, 2)]))
    logits = draw(hnp.arrays(np.float64, shape, elements=finite(-20, 20)))
    raw = draw(hnp.arrays(np.float64, shape, elements=finite(0.0, 1.0)))
    class_axis = 0 if len(shape) == 1 else 1
    raw = raw + 1e-3  # no row of all zeros
    return logits, raw / raw.sum(axis=class_axis, keepdims=True)


# ---------------------------------------------------------------------------
# binary_cross_entropy
# ---------------------------------------------------------------------------
@oracle
@given(
    data=st.data(),
    reduction=st.sampled_from(REDUCTIONS),
    weight_kind=st.sampled_from(["none", "full", "last_dim"]),
)
def test_binary_cross_entropy_matches_torch_with_probabilities_0_and_1(
    data, reduction, weight_kind
):
    shape = data.draw(shapes)
    p = data.draw(hnp.arrays(np.float64, shape, elements=probabilities))
    y = data.draw(hnp.arrays(np.float64, shape, elements=labels_01))
    weight_shape = {"none": None, "full": shape, "last_dim": shape[-1:]}[weight_kind]
    weight = (
        None
        if weight_shape is None
        else data.draw(hnp.arrays(np.float64, weight_shape, elements=finite(0, 3)))
    )
    (p_dg, p_t), (y_dg, y_t) = leaves(p), leaves(y, requires_grad=False)
    w_dg, w_t = (None, None) if weight is None else leaves(weight, requires_grad=False)

    ours = F.binary_cross_entropy(p_dg, y_dg, weight=w_dg, reduction=reduction)
    theirs = torch_F.binary_cross_entropy(p_t, y_t, weight=w_t, reduction=reduction)

    assert np.all(np.isfinite(ours.array))
    assert_same_values_and_grads(ours, theirs, [(p_dg, p_t)])


def test_binary_cross_entropy_clamps_each_log_at_minus_100_as_torch():
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1.0 - 1e-16])
    y = np.array([1.0, 0.0, 0.25, 0.75, 1.0, 0.0])
    (p_dg, p_t), (y_dg, y_t) = leaves(p), leaves(y, requires_grad=False)

    ours = F.binary_cross_entropy(p_dg, y_dg, reduction="none")
    theirs = torch_F.binary_cross_entropy(p_t, y_t, reduction="none")

    np.testing.assert_array_equal(ours.array[:2], [100.0, 100.0])
    np.testing.assert_array_equal(ours.array[4], 100.0)
    assert_same_values_and_grads(ours, theirs, [(p_dg, p_t)])


@pytest.mark.parametrize(
    ("value", "dtype"),
    [(300.0, np.float16), (1e20, np.float32), (-1e20, np.float32), (1e200, np.float64)],
)
def test_binary_cross_entropy_rejects_a_huge_input_with_its_message_alone(value, dtype):
    # the range check must not overflow on the way to its clear error
    p = dg.tensor(np.array([value, 0.5], dtype))
    y = dg.tensor(np.array([1.0, 0.0], dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"), pytest.raises(ValueError, match="between 0 and 1"):
            F.binary_cross_entropy(p, y)


@pytest.mark.parametrize("tiny", [1e-50, 3e-44, 5e-44, 1e-30])
def test_binary_cross_entropy_clamps_tiny_probabilities_without_zeros_as_torch(tiny):
    # no p is 0 or 1, but log(tiny) may still fall below -100 (e^-100 = 3.7e-44):
    # the loss skips its clamp only when no log can reach it
    p = np.array([tiny, 1.0 - 1e-16, 0.5, tiny])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    (p_dg, p_t), (y_dg, y_t) = leaves(p), leaves(y, requires_grad=False)
    for reduction in ("none", "mean"):
        ours = F.binary_cross_entropy(p_dg, y_dg, reduction=reduction)
        theirs = torch_F.binary_cross_entropy(p_t, y_t, reduction=reduction)
        assert_same_values_and_grads(ours, theirs, [(p_dg, p_t)])
        p_dg.grad = None
        p_t.grad = None


@oracle
@given(data=st.data(), reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans())
def test_binary_cross_entropy_gradient_wrt_target_matches_torch(
    data, reduction, weighted
):
    # Away from the clamp (p >= 1e-30, p < 1): see the test below for p in {0, 1}.
    shape = data.draw(shapes)
    p = data.draw(
        hnp.arrays(np.float64, shape, elements=finite(1e-30, 1.0, exclude_max=True))
    )
    y = data.draw(hnp.arrays(np.float64, shape, elements=labels_01))
    weight = data.draw(hnp.arrays(np.float64, shape, elements=finite(0, 3)))
    (p_dg, p_t), (y_dg, y_t) = leaves(p), leaves(y)
    w_dg, w_t = leaves(weight, requires_grad=False) if weighted else (None, None)

    ours = F.binary_cross_entropy(p_dg, y_dg, weight=w_dg, reduction=reduction)
    theirs = torch_F.binary_cross_entropy(p_t, y_t, weight=w_t, reduction=reduction)

    assert_same_values_and_grads(ours, theirs, [(p_dg, p_t), (y_dg, y_t)])


def test_binary_cross_entropy_target_gradient_is_that_of_the_clamped_loss_at_0_and_1():
    # dL/dy = log(1 - p) - log(p) with both logs clamped at -100, as in the forward
    # pass: +-100 at p = 0 or 1. (torch returns -logit(p) = +-inf there instead.)
    p_dg = dg.tensor(np.array([0.0, 1.0]))
    y_dg = dg.tensor(np.array([0.5, 0.5]), requires_grad=True)

    F.binary_cross_entropy(p_dg, y_dg, reduction="sum").backward()

    np.testing.assert_array_equal(y_dg.grad.array, [100.0, -100.0])


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_binary_cross_entropy_rejects_values_outside_0_1(bad):
    p = dg.tensor(np.array([0.5, bad]))
    with pytest.raises(ValueError, match="probabilities between 0 and 1"):
        F.binary_cross_entropy(p, dg.tensor(np.array([0.0, 1.0])))


# ---------------------------------------------------------------------------
# binary_cross_entropy_with_logits
# ---------------------------------------------------------------------------
logits_up_to_1e4 = st.one_of(st.sampled_from([-1e4, 1e4, 0.0]), finite(-1e4, 1e4))


@oracle
@given(
    data=st.data(),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    pos_weighted=st.booleans(),
)
def test_bce_with_logits_matches_torch_up_to_1e4_without_overflow(
    data, reduction, weighted, pos_weighted
):
    shape = data.draw(shapes)
    z = data.draw(hnp.arrays(np.float64, shape, elements=logits_up_to_1e4))
    y = data.draw(hnp.arrays(np.float64, shape, elements=labels_01))
    weight = data.draw(hnp.arrays(np.float64, shape, elements=finite(0, 3)))
    pos_weight = data.draw(hnp.arrays(np.float64, shape[-1:], elements=finite(0.1, 5)))
    (z_dg, z_t), (y_dg, y_t) = leaves(z), leaves(y, requires_grad=False)
    w_dg, w_t = leaves(weight, requires_grad=False) if weighted else (None, None)
    pw_dg, pw_t = (
        leaves(pos_weight, requires_grad=False) if pos_weighted else (None, None)
    )

    with (
        warnings.catch_warnings(),
        np.errstate(over="raise", divide="raise", invalid="raise"),
    ):
        warnings.simplefilter("error")
        ours = F.binary_cross_entropy_with_logits(
            z_dg, y_dg, weight=w_dg, reduction=reduction, pos_weight=pw_dg
        )
        theirs = torch_F.binary_cross_entropy_with_logits(
            z_t, y_t, weight=w_t, reduction=reduction, pos_weight=pw_t
        )
        assert np.all(np.isfinite(ours.array))
        assert_same_values_and_grads(ours, theirs, [(z_dg, z_t)])
        assert np.all(np.isfinite(z_dg.grad.array))


@oracle
@given(
    data=st.data(), reduction=st.sampled_from(REDUCTIONS), pos_weighted=st.booleans()
)
def test_bce_with_logits_gradient_wrt_target_matches_torch(
    data, reduction, pos_weighted
):
    # |z| <= 30: torch's target gradient takes log(sigmoid(z)), which is -inf
    # for huge logits in float64.
    shape = data.draw(shapes)
    z = data.draw(hnp.arrays(np.float64, shape, elements=finite(-30, 30)))
    y = data.draw(hnp.arrays(np.float64, shape, elements=labels_01))
    pos_weight = data.draw(hnp.arrays(np.float64, shape[-1:], elements=finite(0.1, 5)))
    (z_dg, z_t), (y_dg, y_t) = leaves(z), leaves(y)
    pw_dg, pw_t = (
        leaves(pos_weight, requires_grad=False) if pos_weighted else (None, None)
    )

    ours = F.binary_cross_entropy_with_logits(
        z_dg, y_dg, reduction=reduction, pos_weight=pw_dg
    )
    theirs = torch_F.binary_cross_entropy_with_logits(
        z_t, y_t, reduction=reduction, pos_weight=pw_t
    )

    assert_same_values_and_grads(ours, theirs, [(z_dg, z_t), (y_dg, y_t)])


# ---------------------------------------------------------------------------
# cross_entropy and nll_loss with class-index targets
# ---------------------------------------------------------------------------
def _with_ignored(data, labels: np.ndarray, classes: int) -> tuple[np.ndarray, int]:
    """Replace some labels with an ignore_index (the default -100, or a class)."""
    ignore_index = data.draw(st.sampled_from([-100, 0, classes - 1]))
    mask = data.draw(hnp.arrays(np.bool_, labels.shape))
    return np.where(mask, ignore_index, labels), ignore_index


@oracle
@given(
    data=st.data(),
    spatial_dims=st.sampled_from([0, 1]),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    ignoring=st.booleans(),
)
def test_cross_entropy_with_class_indices_matches_torch(
    data, spatial_dims, reduction, weighted, ignoring
):
    logits, labels = data.draw(class_index_case(spatial_dims))
    classes = logits.shape[1]
    ignore_index = -100
    if ignoring:
        labels, ignore_index = _with_ignored(data, labels, classes)
    (z_dg, z_t), (t_dg, t_t) = leaves(logits), leaves(labels)
    weight = data.draw(class_weights(classes))
    w_dg, w_t = leaves(weight, requires_grad=False) if weighted else (None, None)

    ours = F.cross_entropy(
        z_dg, t_dg, weight=w_dg, ignore_index=ignore_index, reduction=reduction
    )
    theirs = torch_F.cross_entropy(
        z_t, t_t, weight=w_t, ignore_index=ignore_index, reduction=reduction
    )

    assert_same_values_and_grads(ours, theirs, [(z_dg, z_t)])


@oracle
@given(data=st.data(), reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans())
def test_cross_entropy_on_one_sample_of_shape_c_with_0d_target_matches_torch(
    data, reduction, weighted
):
    classes = data.draw(st.integers(1, 6))
    logits = data.draw(hnp.arrays(np.float64, (classes,), elements=finite(-30, 30)))
    label = np.array(data.draw(st.integers(0, classes - 1)), dtype=np.int64)
    (z_dg, z_t), (t_dg, t_t) = leaves(logits), leaves(label)
    weight = data.draw(class_weights(classes))
    w_dg, w_t = leaves(weight, requires_grad=False) if weighted else (None, None)

    ours = F.cross_entropy(z_dg, t_dg, weight=w_dg, reduction=reduction)
    theirs = torch_F.cross_entropy(z_t, t_t, weight=w_t, reduction=reduction)

    assert ours.shape == ()
    assert_same_values_and_grads(ours, theirs, [(z_dg, z_t)])


@oracle
@given(
    case=probability_target_case(),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
)
def test_cross_entropy_with_probability_targets_matches_torch(
    case, reduction, weighted
):
    logits, probs = case
    classes = logits.shape[0] if logits.ndim == 1 else logits.shape[1]
    (z_dg, z_t), (p_dg, p_t) = leaves(logits), leaves(probs)
    weight = np.linspace(0.5, 2.0, classes)
    w_dg, w_t = leaves(weight, requires_grad=False) if weighted else (None, None)

    ours = F.cross_entropy(z_dg, p_dg, weight=w_dg, reduction=reduction)
    theirs = torch_F.cross_entropy(z_t, p_t, weight=w_t, reduction=reduction)

    assert_same_values_and_grads(ours, theirs, [(z_dg, z_t), (p_dg, p_t)])


def test_cross_entropy_of_a_batch_with_every_target_ignored_is_nan_with_zero_gradient():
    (z_dg, z_t), (t_dg, t_t) = leaves(np.ones((3, 4))), leaves(np.full(3, -100))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = F.cross_entropy(z_dg, t_dg)
        theirs = torch_F.cross_entropy(z_t, t_t)
        assert np.isnan(ours.item())
        assert_same_values_and_grads(ours, theirs, [(z_dg, z_t)])
    np.testing.assert_array_equal(z_dg.grad.array, np.zeros((3, 4)))


@oracle
@given(
    data=st.data(),
    spatial_dims=st.sampled_from([0, 1]),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    ignoring=st.booleans(),
)
def test_nll_loss_on_log_softmax_matches_torch_through_to_the_logits(
    data, spatial_dims, reduction, weighted, ignoring
):
    logits, labels = data.draw(class_index_case(spatial_dims))
    classes = logits.shape[1]
    ignore_index = -100
    if ignoring:
        labels, ignore_index = _with_ignored(data, labels, classes)
    (z_dg, z_t), (t_dg, t_t) = leaves(logits), leaves(labels)
    weight = data.draw(class_weights(classes))
    w_dg, w_t = leaves(weight, requires_grad=False) if weighted else (None, None)

    ours = F.nll_loss(
        F.log_softmax(z_dg, dim=1),
        t_dg,
        weight=w_dg,
        ignore_index=ignore_index,
        reduction=reduction,
    )
    theirs = torch_F.nll_loss(
        torch_F.log_softmax(z_t, dim=1),
        t_t,
        weight=w_t,
        ignore_index=ignore_index,
        reduction=reduction,
    )

    assert_same_values_and_grads(ours, theirs, [(z_dg, z_t)])


@oracle
@given(data=st.data(), reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans())
def test_nll_loss_on_one_sample_of_shape_c_with_0d_target_matches_torch(
    data, reduction, weighted
):
    classes = data.draw(st.integers(1, 6))
    logits = data.draw(hnp.arrays(np.float64, (classes,), elements=finite(-30, 30)))
    label = np.array(data.draw(st.integers(0, classes - 1)), dtype=np.int64)
    (z_dg, z_t), (t_dg, t_t) = leaves(logits), leaves(label)
    weight = data.draw(class_weights(classes))
    w_dg, w_t = leaves(weight, requires_grad=False) if weighted else (None, None)

    ours = F.nll_loss(
        F.log_softmax(z_dg, dim=0), t_dg, weight=w_dg, reduction=reduction
    )
    theirs = torch_F.nll_loss(
        torch_F.log_softmax(z_t, dim=0), t_t, weight=w_t, reduction=reduction
    )

    assert_same_values_and_grads(ours, theirs, [(z_dg, z_t)])


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("bad_label", [3, 7, -1])
def test_class_index_losses_name_the_out_of_range_label_and_the_class_count(
    loss, bad_label
):
    logits = dg.tensor(np.zeros((4, 3)))
    labels = dg.tensor(np.array([0, 1, bad_label, 2]))
    with pytest.raises(
        ValueError, match=f"target label {bad_label} is out of range for 3 classes"
    ):
        loss(logits, labels)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("target_shape", [(4, 1), (3,), (4, 3, 1)])
def test_class_index_losses_reject_a_target_of_the_wrong_shape(loss, target_shape):
    logits = dg.tensor(np.zeros((4, 3)))
    labels = dg.tensor(np.zeros(target_shape, dtype=np.int64))
    with pytest.raises(ValueError, match=r"needs class-index targets of shape \(4,\)"):
        loss(logits, labels)


def test_cross_entropy_rejects_probability_targets_of_another_shape():
    logits = dg.tensor(np.zeros((4, 3)))
    with pytest.raises(
        ValueError,
        match=r"input has shape \(4, 3\) but target has "
        r"shape \(4, 2\)",
    ):
        F.cross_entropy(logits, dg.tensor(np.full((4, 2), 0.5)))


def test_nll_loss_rejects_float_targets():
    with pytest.raises(TypeError, match="expected integer class labels"):
        F.nll_loss(dg.tensor(np.zeros((2, 3))), dg.tensor(np.array([0.0, 1.0])))


# ---------------------------------------------------------------------------
# mse_loss, l1_loss
# ---------------------------------------------------------------------------
@oracle
@given(
    data=st.data(),
    reduction=st.sampled_from(REDUCTIONS),
    loss_name=st.sampled_from(["mse_loss", "l1_loss"]),
)
def test_regression_losses_match_torch_for_input_and_target(data, reduction, loss_name):
    shape = data.draw(shapes)
    # small integers make some differences exactly 0, where l1's gradient is 0
    values = st.one_of(st.integers(-2, 2).map(float), finite(-100, 100))
    x = data.draw(hnp.arrays(np.float64, shape, elements=values))
    y = data.draw(hnp.arrays(np.float64, shape, elements=values))
    (x_dg, x_t), (y_dg, y_t) = leaves(x), leaves(y)

    ours = getattr(F, loss_name)(x_dg, y_dg, reduction=reduction)
    theirs = getattr(torch_F, loss_name)(x_t, y_t, reduction=reduction)

    assert_same_values_and_grads(ours, theirs, [(x_dg, x_t), (y_dg, y_t)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("mse_loss", np.zeros((0, 3))),
        ("l1_loss", np.zeros((0, 3))),
        ("binary_cross_entropy", np.zeros((0, 3))),
        ("binary_cross_entropy_with_logits", np.zeros((0, 3))),
        ("cross_entropy", np.zeros(0, dtype=np.int64)),
        ("cross_entropy", np.zeros((0, 3))),
        ("nll_loss", np.zeros(0, dtype=np.int64)),
    ],
)
def test_losses_of_an_empty_batch_match_torch_silently(name, target, reduction):
    # mean of nothing is nan, sum is 0, 'none' is empty; gradients are empty
    (x_dg, x_t), (t_dg, t_t) = leaves(np.zeros((0, 3))), leaves(target, False)

    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        ours = getattr(F, name)(x_dg, t_dg, reduction=reduction)
        theirs = getattr(torch_F, name)(x_t, t_t, reduction=reduction)
        assert_same_values_and_grads(ours, theirs, [(x_dg, x_t)])


@pytest.mark.parametrize(
    "loss",
    [F.mse_loss, F.l1_loss, F.binary_cross_entropy, F.binary_cross_entropy_with_logits],
)
def test_elementwise_losses_refuse_to_broadcast_mismatched_shapes(loss):
    # torch broadcasts (N, 1) against (N,) to (N, N) with only a warning.
    predictions = dg.tensor(np.full((4, 1), 0.5))
    labels = dg.tensor(np.array([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(
        ValueError,
        match=r"input has shape \(4, 1\) but target has "
        r"shape \(4,\); they must be equal",
    ):
        loss(predictions, labels)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: F.mse_loss(dg.zeros(2), dg.zeros(2), reduction=r),
        lambda r: F.l1_loss(dg.zeros(2), dg.zeros(2), reduction=r),
        lambda r: F.binary_cross_entropy(dg.zeros(2), dg.zeros(2), reduction=r),
        lambda r: F.binary_cross_entropy_with_logits(
            dg.zeros(2), dg.zeros(2), reduction=r
        ),
        lambda r: F.cross_entropy(dg.zeros(2, 3), dg.tensor([0, 1]), reduction=r),
        lambda r: F.nll_loss(dg.zeros(2, 3), dg.tensor([0, 1]), reduction=r),
    ],
)
def test_losses_reject_an_unknown_reduction_showing_it(call):
    with pytest.raises(
        ValueError,
        match="reduction must be 'mean', 'sum' or 'none', received: 'average'",
    ):
        call("average")


# ---------------------------------------------------------------------------
# linear, softmax, log_softmax, dropout, one_hot, batch_norm
# ---------------------------------------------------------------------------
@oracle
@given(
    data=st.data(), batch_dims=st.sampled_from([(5,), (2, 3)]), with_bias=st.booleans()
)
def test_linear_matches_torch_on_2d_and_3d_inputs(data, batch_dims, with_bias):
    in_features, out_features = (
        data.draw(st.integers(1, 5)),
        data.draw(st.integers(1, 5)),
    )
    x = data.draw(
        hnp.arrays(np.float64, (*batch_dims, in_features), elements=finite(-10, 10))
    )
    w = data.draw(
        hnp.arrays(np.float64, (out_features, in_features), elements=finite(-10, 10))
    )
    b = data.draw(hnp.arrays(np.float64, (out_features,), elements=finite(-10, 10)))
    (x_dg, x_t), (w_dg, w_t), (b_dg, b_t) = leaves(x), leaves(w), leaves(b)
    if not with_bias:
        b_dg = b_t = None

    ours = F.linear(x_dg, w_dg, b_dg)
    theirs = torch_F.linear(x_t, w_t, b_t)

    pairs = [(x_dg, x_t), (w_dg, w_t)] + ([(b_dg, b_t)] if with_bias else [])
    assert_same_values_and_grads(ours, theirs, pairs)


@oracle
@given(
    data=st.data(),
    function=st.sampled_from(["softmax", "log_softmax"]),
    dim=st.sampled_from([0, 1, -1]),
)
def test_softmax_and_log_softmax_match_torch_on_logits_up_to_1e4(data, function, dim):
    logits = data.draw(hnp.arrays(np.float64, (3, 4), elements=logits_up_to_1e4))
    z_dg, z_t = leaves(logits)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = getattr(F, function)(z_dg, dim=dim)
        theirs = getattr(torch_F, function)(z_t, dim=dim)
        assert np.all(np.isfinite(ours.array))
        assert_same_values_and_grads(ours, theirs, [(z_dg, z_t)])


def test_softmax_of_plus_minus_1e4_is_exactly_one_hot_as_torch():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    ours = F.softmax(dg.tensor(logits), dim=1)
    theirs = torch_F.softmax(torch.tensor(logits), dim=1)
    np.testing.assert_array_equal(ours.array, theirs.numpy())
    np.testing.assert_array_equal(ours.array, [[1, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize(
    ("p", "training"), [(0.0, True), (0.0, False), (0.5, False), (1.0, False)]
)
def test_dropout_is_the_identity_with_p_0_or_when_not_training(p, training):
    x = np.random.default_rng(1).standard_normal((4, 5))
    (x_dg, x_t) = leaves(x)

    ours = F.dropout(x_dg, p=p, training=training)
    theirs = torch_F.dropout(x_t, p=p, training=training)

    np.testing.assert_array_equal(ours.array, x)
    assert_same_values_and_grads(ours, theirs, [(x_dg, x_t)])


@oracle
@given(data=st.data(), explicit_classes=st.booleans())
def test_one_hot_matches_torch(data, explicit_classes):
    labels = data.draw(
        hnp.arrays(np.int64, data.draw(shapes), elements=st.integers(0, 4))
    )
    num_classes = (
        int(labels.max()) + data.draw(st.integers(1, 3)) if explicit_classes else -1
    )

    ours = F.one_hot(dg.tensor(labels), num_classes=num_classes)
    theirs = torch_F.one_hot(torch.tensor(labels), num_classes=num_classes)

    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.array, theirs.numpy())


def test_one_hot_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        F.one_hot(dg.tensor([0, 3]), num_classes=3)


@oracle
@given(
    data=st.data(),
    with_length=st.booleans(),
    training=st.booleans(),
    affine=st.booleans(),
)
def test_batch_norm_matches_torch_values_gradients_and_running_stats(
    data, with_length, training, affine
):
    batch, channels = data.draw(st.integers(2, 6)), data.draw(st.integers(1, 4))
    shape = (batch, channels) + ((data.draw(st.integers(1, 3)),) if with_length else ())
    x = data.draw(hnp.arrays(np.float64, shape, elements=finite(-10, 10)))
    # keep every channel's batch variance clear of 0, where 1/sqrt(var + eps) is
    # ill-conditioned and the last digits depend on the order of the sums
    x = x + np.linspace(0, 1, x.size).reshape(shape)
    momentum = data.draw(finite(0.0, 1.0))
    running_mean = data.draw(
        hnp.arrays(np.float64, (channels,), elements=finite(-1, 1))
    )
    running_var = data.draw(
        hnp.arrays(np.float64, (channels,), elements=finite(0.1, 2))
    )
    weight = data.draw(hnp.arrays(np.float64, (channels,), elements=finite(-2, 2)))
    bias = data.draw(hnp.arrays(np.float64, (channels,), elements=finite(-2, 2)))
    (x_dg, x_t), (w_dg, w_t), (b_dg, b_t) = leaves(x), leaves(weight), leaves(bias)
    (rm_dg, rm_t), (rv_dg, rv_t) = (
        leaves(running_mean, requires_grad=False),
        leaves(running_var, requires_grad=False),
    )
    if not affine:
        w_dg = w_t = b_dg = b_t = None

    ours = F.batch_norm(
        x_dg, rm_dg, rv_dg, w_dg, b_dg, training=training, momentum=momentum, eps=1e-5
    )
    theirs = torch_F.batch_norm(
        x_t, rm_t, rv_t, w_t, b_t, training=training, momentum=momentum, eps=1e-5
    )

    pairs = [(x_dg, x_t)] + ([(w_dg, w_t), (b_dg, b_t)] if affine else [])
    assert_same_values_and_grads(ours, theirs, pairs)
    assert_matches(rm_dg, rm_t)
    assert_matches(rv_dg, rv_t)
