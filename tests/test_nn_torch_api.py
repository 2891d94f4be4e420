"""The torch.nn API added for issue 14 (item 12), against PyTorch in float64.

Activations, LayerNorm, Embedding, PReLU, the new losses, label smoothing,
containers, Module's traversal and nn.utils: every value and gradient equals
torch's to a relative 1e-10 from identical weights (copied from torch into
deepgrad), the differentiable ones pass gradcheck, and bad input raises an
error naming the op or module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn
from deepgrad.autograd import gradcheck

torch = pytest.importorskip("torch")
torch_F = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12
REDUCTIONS = ("mean", "sum", "none")
oracle = settings(max_examples=25, deadline=None)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


def floats(shape, low=-6.0, high=6.0):
    return hnp.arrays(
        np.float64,
        shape,
        elements=st.floats(low, high, allow_nan=False, allow_infinity=False),
    )


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
    """Equal outputs, then equal gradients for every (deepgrad, torch) leaf pair
    after a backward pass seeded with the same random upstream gradient."""
    assert_matches(ours, theirs)
    seed = np.random.default_rng(0).standard_normal(theirs.shape)
    ours.backward(seed)
    theirs.backward(torch.tensor(seed))
    for mine, reference in pairs:
        if reference.requires_grad:
            assert mine.grad is not None
            assert_matches(mine.grad, reference.grad)


def copy_weights(torch_module, module) -> None:
    """Load torch's (randomised) weights into the deepgrad module."""
    module.load_state_dict(
        {k: v.detach().numpy() for k, v in torch_module.state_dict().items()}
    )


def assert_module_matches(module, torch_module, array) -> None:
    """Same output, input gradient and parameter gradients as the torch module."""
    x, tx = leaves(array)
    assert_same_values_and_grads(module(x), torch_module(tx), [(x, tx)])
    for (name, param), (_, reference) in zip(
        module.named_parameters(), torch_module.named_parameters(), strict=True
    ):
        assert reference.grad is not None, name
        assert_matches(param.grad, reference.grad)


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------
ACTIVATIONS = {
    "elu": (lambda t: F.elu(t, 0.7), lambda t: torch_F.elu(t, 0.7)),
    "silu": (F.silu, torch_F.silu),
    "softplus": (F.softplus, torch_F.softplus),
    "softplus_beta": (
        lambda t: F.softplus(t, beta=2.0, threshold=3.0),
        lambda t: torch_F.softplus(t, beta=2.0, threshold=3.0),
    ),
    "hardtanh": (
        lambda t: F.hardtanh(t, -0.5, 2.0),
        lambda t: torch_F.hardtanh(t, -0.5, 2.0),
    ),
    "mish": (F.mish, torch_F.mish),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@oracle
@given(data=st.data())
def test_activation_values_and_gradients_match_torch(name, data):
    """F.elu/silu/softplus/hardtanh/mish equal torch's forward and backward."""
    ours, theirs = ACTIVATIONS[name]
    x, tx = leaves(data.draw(floats(data.draw(shapes), -30.0, 30.0)))
    assert_same_values_and_grads(ours(x), theirs(tx), [(x, tx)])


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_passes_gradcheck(name):
    """The closed-form derivative agrees with finite differences (away from kinks)."""
    ours, _ = ACTIVATIONS[name]
    values = np.random.default_rng(1).uniform(-4, 4, (3, 4))
    values[np.abs(values - np.round(values * 2) / 2) < 1e-3] += (
        0.01  # kinks of hardtanh
    )
    assert gradcheck(ours, (dg.tensor(values, requires_grad=True),))


def test_softplus_is_linear_above_the_threshold_and_finite_at_large_inputs():
    """No overflow for beta * x far above the threshold, as torch."""
    x, tx = leaves(np.array([-800.0, -20.0, 0.0, 20.5, 800.0]))
    assert_same_values_and_grads(F.softplus(x), torch_F.softplus(tx), [(x, tx)])


@pytest.mark.parametrize(
    "module, torch_module",
    [
        (lambda: nn.ELU(alpha=0.5), lambda: torch.nn.ELU(alpha=0.5)),
        (nn.SiLU, torch.nn.SiLU),
        (nn.Mish, torch.nn.Mish),
        (lambda: nn.Softplus(beta=0.5), lambda: torch.nn.Softplus(beta=0.5)),
        (lambda: nn.Hardtanh(-2.0, 0.5), lambda: torch.nn.Hardtanh(-2.0, 0.5)),
        (nn.Identity, torch.nn.Identity),
        (lambda: nn.Softmax(dim=0), lambda: torch.nn.Softmax(dim=0)),
        (lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
    ],
)
def test_activation_modules_match_torch_and_their_repr(module, torch_module):
    """The modules compute torch's function and print torch's repr."""
    ours, theirs = module(), torch_module()
    x, tx = leaves(np.random.default_rng(2).standard_normal((4, 3)) * 3)
    assert_same_values_and_grads(ours(x), theirs(tx), [(x, tx)])
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    "op",
    [
        F.elu,
        F.silu,
        F.softplus,
        F.hardtanh,
        F.mish,
        lambda x: F.prelu(x, nn.PReLU().weight),
        lambda x: F.layer_norm(x, (4,)),
        lambda x: F.smooth_l1_loss(x, dg.zeros(3, 4)),
        lambda x: F.huber_loss(x, dg.zeros(3, 4)),
        lambda x: F.kl_div(x, dg.ones(3, 4) / 4),
        lambda x: F.cross_entropy(x, dg.tensor([0, 1, 3]), label_smoothing=0.1),
    ],
)
def test_new_ops_keep_float32_in_values_and_gradients(op):
    """float32 in, float32 out and float32 gradients (deepgrad's default dtype)."""
    x = dg.tensor(
        np.linspace(-3, 3, 12).reshape(3, 4), dtype=dg.float32, requires_grad=True
    )
    out = op(x)
    out.sum().backward()
    assert out.dtype == dg.float32 and x.grad.dtype == dg.float32


def test_identity_accepts_and_ignores_arguments_like_torch():
    """nn.Identity(54, unused=0.1) is the identity, as torch's."""
    x = dg.ones(2)
    assert nn.Identity(54, unused_argument=0.1)(x) is x


def test_hardtanh_with_min_above_max_is_a_value_error():
    """Hardtanh names both bounds when they are reversed."""
    with pytest.raises(ValueError, match="Hardtanh: min_val"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="hardtanh: min_val"):
        F.hardtanh(dg.zeros(2), 1.0, -1.0)


@pytest.mark.parametrize(
    "num_parameters, shape", [(1, (5,)), (1, (4, 3)), (3, (4, 3, 2))]
)
def test_prelu_learns_the_slopes_like_torch(num_parameters, shape):
    """PReLU: output, input gradient and slope gradient equal torch's, one slope
    shared or one per channel."""
    theirs = torch.nn.PReLU(num_parameters, init=0.1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.linspace(-0.5, 0.7, num_parameters))
    ours = nn.PReLU(num_parameters, init=0.1).double()
    copy_weights(theirs, ours)
    assert_module_matches(ours, theirs, np.random.default_rng(3).standard_normal(shape))
    assert repr(ours) == repr(theirs)
    assert ours.num_parameters() == theirs.num_parameters  # Module's count


def test_prelu_gradcheck_and_starts_at_a_quarter():
    """PReLU's weight starts at 0.25; its input and slope gradients pass gradcheck."""
    assert np.all(nn.PReLU(3).weight.array == 0.25)
    x = dg.tensor(np.random.default_rng(4).standard_normal((4, 3)), requires_grad=True)
    weight = dg.tensor([0.2, -0.3, 0.5], dtype=dg.float64, requires_grad=True)
    assert gradcheck(F.prelu, (x, weight))


def test_prelu_with_the_wrong_number_of_slopes_is_a_value_error():
    """A weight that is neither 1 slope nor one per channel names prelu and the shapes."""
    with pytest.raises(ValueError, match=r"prelu: weight must hold 1 slope or one per"):
        nn.PReLU(4)(dg.zeros(2, 3))


# ---------------------------------------------------------------------------
# LayerNorm
# ---------------------------------------------------------------------------
@oracle
@given(data=st.data())
def test_layer_norm_matches_torch_on_drawn_shapes(data):
    """LayerNorm over the last 1 or 2 dims: output and gradients of input,
    weight and bias equal torch's, from torch's (randomised) weights."""
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4))
    normalized = shape[-data.draw(st.integers(1, 2)) :]
    theirs = torch.nn.LayerNorm(normalized, eps=1e-3).double()
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    ours = nn.LayerNorm(normalized, eps=1e-3).double()
    copy_weights(theirs, ours)
    assert_module_matches(ours, theirs, data.draw(floats(shape)))


def test_layer_norm_without_affine_and_its_repr():
    """elementwise_affine=False has no parameters and matches F.layer_norm of torch."""
    ours, theirs = (
        nn.LayerNorm(3, elementwise_affine=False),
        torch.nn.LayerNorm(3, elementwise_affine=False),
    )
    assert list(ours.parameters()) == []
    x, tx = leaves(np.random.default_rng(5).standard_normal((2, 3)))
    assert_same_values_and_grads(ours(x), theirs(tx), [(x, tx)])
    assert repr(ours) == repr(theirs)


def test_layer_norm_passes_gradcheck():
    """The composite backward of layer_norm agrees with finite differences."""
    rng = np.random.default_rng(6)
    x = dg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    weight = dg.tensor(rng.standard_normal(4), requires_grad=True)
    bias = dg.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda a, w, b: F.layer_norm(a, (4,), w, b), (x, weight, bias))


def test_layer_norm_with_a_mismatched_shape_names_the_module_and_shapes():
    """normalized_shape that is not the input's trailing dims is a ValueError."""
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\)\).*\(2, 3\)"):
        nn.LayerNorm(4)(dg.zeros(2, 3))
    with pytest.raises(ValueError, match="layer_norm: normalized_shape"):
        F.layer_norm(dg.zeros(2, 3), (2,))


# ---------------------------------------------------------------------------
# Embedding
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_rows_and_summed_gradients_match_torch(padding_idx):
    """Repeated indices sum their gradients into one row; the padding row gets none."""
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    ours = nn.Embedding(6, 3, padding_idx=padding_idx).double()
    copy_weights(theirs, ours)
    indices = np.array([[0, 2, 5], [2, 2, 1]])
    out, tout = ours(dg.tensor(indices)), theirs(torch.tensor(indices))
    assert_same_values_and_grads(out, tout, [])
    assert_matches(ours.weight.grad, theirs.weight.grad)
    assert ours.padding_idx == theirs.padding_idx
    assert repr(ours) == repr(theirs)


def test_embedding_padding_row_starts_at_zero_and_from_pretrained_freezes():
    """The padding row is zero at init; from_pretrained keeps the rows, frozen."""
    assert np.all(nn.Embedding(4, 2, padding_idx=1).weight.array[1] == 0)
    rows = dg.tensor(np.arange(6.0).reshape(3, 2))
    frozen = nn.Embedding.from_pretrained(rows)
    trainable = nn.Embedding.from_pretrained(rows, freeze=False)
    np.testing.assert_array_equal(frozen(dg.tensor([2, 0])).array, [[4, 5], [0, 1]])
    assert not frozen.weight.requires_grad and trainable.weight.requires_grad


def test_embedding_passes_gradcheck():
    """embedding's scatter-add backward agrees with finite differences."""
    weight = dg.tensor(
        np.random.default_rng(7).standard_normal((5, 2)), requires_grad=True
    )
    assert gradcheck(lambda w: F.embedding(dg.tensor([[1, 1], [4, 0]]), w), (weight,))


def test_embedding_index_out_of_range_and_float_indices_are_clear_errors():
    """An index past num_embeddings is an IndexError naming Embedding and the
    range; float indices a TypeError saying to use .long()."""
    with pytest.raises(IndexError, match=r"index 10 is out of range for an Embedding"):
        nn.Embedding(10, 2)(dg.tensor([3, 10]))
    with pytest.raises(IndexError, match=r"\[0, 9\]"):
        nn.Embedding(10, 2)(dg.tensor([-1]))
    with pytest.raises(TypeError, match=r"embedding: expected integer indices.*long"):
        nn.Embedding(10, 2)(dg.tensor([1.0]))


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------
@st.composite
def pairs(draw):
    shape = draw(shapes)
    return draw(floats(shape, -4, 4)), draw(floats(shape, -4, 4))


REGRESSION_LOSSES = {
    "mse_loss": (F.mse_loss, torch_F.mse_loss, {}),
    "l1_loss": (F.l1_loss, torch_F.l1_loss, {}),
    "smooth_l1_loss": (F.smooth_l1_loss, torch_F.smooth_l1_loss, {"beta": 0.7}),
    "smooth_l1_loss_beta0": (F.smooth_l1_loss, torch_F.smooth_l1_loss, {"beta": 0.0}),
    "huber_loss": (F.huber_loss, torch_F.huber_loss, {"delta": 1.5}),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", REGRESSION_LOSSES)
@oracle
@given(values=pairs())
def test_regression_losses_match_torch_for_every_reduction(name, reduction, values):
    """mse/l1/smooth_l1 (beta, 0)/huber (delta): values and both gradients."""
    ours, theirs, options = REGRESSION_LOSSES[name]
    (x, tx), (y, ty) = leaves(values[0]), leaves(values[1])
    assert_same_values_and_grads(
        ours(x, y, reduction=reduction, **options),
        theirs(tx, ty, reduction=reduction, **options),
        [(x, tx), (y, ty)],
    )


@pytest.mark.parametrize(
    "module, torch_module",
    [
        (lambda: nn.SmoothL1Loss(beta=0.5), lambda: torch.nn.SmoothL1Loss(beta=0.5)),
        (lambda: nn.HuberLoss(delta=2.0), lambda: torch.nn.HuberLoss(delta=2.0)),
        (
            lambda: nn.HuberLoss(reduction="sum"),
            lambda: torch.nn.HuberLoss(reduction="sum"),
        ),
    ],
)
def test_smooth_l1_and_huber_modules_match_torch(module, torch_module):
    """The loss modules pass their options to the functions."""
    rng = np.random.default_rng(8)
    (x, tx), (y, ty) = (
        leaves(rng.standard_normal(7) * 3),
        leaves(rng.standard_normal(7)),
    )
    assert_same_values_and_grads(
        module()(x, y), torch_module()(tx, ty), [(x, tx), (y, ty)]
    )


def test_smooth_l1_and_huber_pass_gradcheck():
    """Both pieces of the piecewise losses agree with finite differences."""
    rng = np.random.default_rng(9)
    x = dg.tensor(rng.standard_normal(8) * 3, requires_grad=True)
    y = dg.tensor(rng.standard_normal(8), requires_grad=True)
    assert gradcheck(lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), (x, y))
    assert gradcheck(lambda a, b: F.huber_loss(a, b, delta=2.0), (x, y))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("reduction", (*REDUCTIONS, "batchmean"))
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    """kl_div from log-probabilities, target as probabilities (with zeros) or
    log-probabilities: values and gradients of both, every reduction."""
    rng = np.random.default_rng(10)
    log_q = np.log(rng.dirichlet(np.ones(4), size=3))
    p = rng.dirichlet(np.ones(4), size=3)
    if log_target:
        p = np.log(p)
    else:
        p[0, 1] = 0.0  # xlogy: a zero target contributes 0
    (x, tx), (t, tt) = leaves(log_q), leaves(p, requires_grad=log_target)
    assert_same_values_and_grads(
        F.kl_div(x, t, reduction=reduction, log_target=log_target),
        torch_F.kl_div(tx, tt, reduction=reduction, log_target=log_target),
        [(x, tx), (t, tt)],
    )
    module = nn.KLDivLoss(reduction=reduction, log_target=log_target)
    reference = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)
    assert_matches(module(x, t), reference(tx, tt))


def test_kl_div_gradcheck_and_bad_reduction():
    """kl_div's gradients agree with finite differences; an unknown reduction
    names kl_div and the four accepted ones."""
    rng = np.random.default_rng(11)
    x = dg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    t = dg.tensor(rng.uniform(0.1, 1, (2, 3)), requires_grad=True)
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction="batchmean"), (x, t))
    with pytest.raises(ValueError, match="kl_div: reduction must be.*batchmean"):
        F.kl_div(x, t, reduction="average")
    with pytest.raises(ValueError, match="KLDivLoss: reduction"):
        nn.KLDivLoss(reduction="average")


@st.composite
def class_index_case(draw):
    """Logits (N, C) or (N, C, d), integer labels, some set to ignore_index."""
    batch, classes = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    spatial = draw(st.sampled_from([(), (3,)]))
    logits = draw(floats((batch, classes, *spatial), -5, 5))
    labels = np.asarray(
        draw(
            hnp.arrays(
                np.int64, (batch, *spatial), elements=st.integers(0, classes - 1)
            )
        )
    )
    if draw(st.booleans()):
        labels.flat[0] = -100
    return logits, labels


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@oracle
@given(case=class_index_case(), smoothing=st.sampled_from([0.0, 0.1, 0.35, 1.0]))
def test_cross_entropy_label_smoothing_matches_torch(
    reduction, weighted, case, smoothing
):
    """cross_entropy(label_smoothing=e) with class indices, class weights and
    ignored labels: values and logit gradients equal torch's."""
    logits, labels = case
    weight = np.linspace(0.5, 2.0, logits.shape[1]) if weighted else None
    x, tx = leaves(logits)
    ours = F.cross_entropy(
        x,
        dg.tensor(labels),
        weight=None if weight is None else dg.tensor(weight),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    theirs = torch_F.cross_entropy(
        tx,
        torch.tensor(labels),
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    if reduction == "mean" and (labels != -100).sum() == 0:
        assert np.isnan(ours.array) and torch.isnan(theirs)
        return
    assert_same_values_and_grads(ours, theirs, [(x, tx)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_label_smoothing_with_probability_targets(reduction):
    """Soft targets are mixed with the uniform distribution, as torch; the
    module passes label_smoothing through."""
    rng = np.random.default_rng(12)
    (x, tx), (t, tt) = (
        leaves(rng.standard_normal((4, 3))),
        leaves(rng.dirichlet(np.ones(3), size=4)),
    )
    assert_same_values_and_grads(
        nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.2)(x, t),
        torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.2)(tx, tt),
        [(x, tx), (t, tt)],
    )


def test_cross_entropy_label_smoothing_passes_gradcheck_and_checks_its_range():
    """The smoothed loss's closed-form gradient agrees with finite differences;
    a label_smoothing outside [0, 1] is a ValueError naming it."""
    x = dg.tensor(np.random.default_rng(13).standard_normal((3, 4)), requires_grad=True)
    labels = dg.tensor([0, 3, 1])
    weight = dg.tensor([1.0, 2.0, 0.5, 1.5], dtype=dg.float64)
    assert gradcheck(
        lambda z: F.cross_entropy(z, labels, weight=weight, label_smoothing=0.3), (x,)
    )
    with pytest.raises(ValueError, match="label_smoothing must be between"):
        F.cross_entropy(x, labels, label_smoothing=1.5)
    with pytest.raises(ValueError, match="CrossEntropyLoss: label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=-0.1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_with_weights_and_ignore_index_matches_torch(reduction):
    """nll_loss and NLLLoss after log_softmax, with class weights and an ignored label."""
    rng = np.random.default_rng(14)
    x, tx = leaves(rng.standard_normal((5, 3)))
    labels = np.array([0, 2, -100, 1, 2])
    weight = np.array([0.3, 1.0, 2.0])
    ours = nn.NLLLoss(weight=dg.tensor(weight), reduction=reduction)(
        F.log_softmax(x, dim=1), dg.tensor(labels)
    )
    theirs = torch.nn.NLLLoss(weight=torch.tensor(weight), reduction=reduction)(
        torch_F.log_softmax(tx, dim=1), torch.tensor(labels)
    )
    assert_same_values_and_grads(ours, theirs, [(x, tx)])


def test_nll_loss_with_float_targets_is_a_type_error_naming_it():
    """Float targets (e.g. one-hot rows) for nll_loss say to use integer labels."""
    with pytest.raises(TypeError, match=r"nll_loss: expected integer class labels"):
        F.nll_loss(dg.zeros(2, 3), dg.tensor([0.0, 1.0]))


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.SmoothL1Loss(reduction="avg"),
        lambda: nn.HuberLoss(reduction="avg"),
        lambda: nn.SmoothL1Loss(beta=-1.0),
        lambda: nn.HuberLoss(delta=0.0),
    ],
)
def test_bad_loss_options_are_value_errors_naming_the_module(make):
    """An unknown reduction or a negative beta / non-positive delta is refused."""
    with pytest.raises(ValueError, match=r"^(SmoothL1Loss|HuberLoss): "):
        make()


def test_new_losses_refuse_mismatched_shapes():
    """(N, 1) against (N,) is an error, not torch's broadcast with a warning."""
    for loss in (F.smooth_l1_loss, F.huber_loss, F.kl_div):
        with pytest.raises(ValueError, match="must be equal"):
            loss(dg.zeros(3, 1), dg.zeros(3))


# ---------------------------------------------------------------------------
# Containers and Module's API
# ---------------------------------------------------------------------------
def populate(module, api, ones, zeros):
    """The same containers, buffer and layers, built with deepgrad's or torch's nn."""
    module.layers = api.ModuleList([api.Linear(2, 3), api.ReLU()])
    module.layers.append(api.Linear(3, 2))
    module.heads = api.ModuleDict({"a": api.Linear(2, 1)})
    module.scales = api.ParameterList([api.Parameter(ones(2))])
    module.extras = api.ParameterDict({"shift": api.Parameter(zeros(1))})
    module.register_buffer("steps", zeros(1))
    return module


def test_containers_register_what_they_hold_under_torchs_names():
    """ModuleList/ModuleDict/ParameterList/ParameterDict and a buffer give the
    same state_dict keys, named_modules and named_parameters as torch."""
    ours = populate(nn.Module(), nn, dg.ones, dg.zeros)
    theirs = populate(torch.nn.Module(), torch.nn, torch.ones, torch.zeros)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [
        n for n, _ in theirs.named_modules()
    ]
    assert [n for n, _ in ours.named_parameters(prefix="m")] == [
        n for n, _ in theirs.named_parameters(prefix="m")
    ]
    assert [n for n, _ in ours.named_parameters(recurse=False)] == []
    assert [n for n, _ in ours.named_buffers()] == [
        n for n, _ in theirs.named_buffers()
    ]
    assert [n for n, _ in ours.named_children()] == [
        n for n, _ in theirs.named_children()
    ]


def test_module_list_indexing_insert_delete_and_slices_follow_torch():
    """Negative indices, slices, insert and del renumber the names as torch does."""
    ours = nn.ModuleList([nn.Linear(1, 1), nn.ReLU(), nn.Tanh()])
    theirs = torch.nn.ModuleList(
        [torch.nn.Linear(1, 1), torch.nn.ReLU(), torch.nn.Tanh()]
    )
    for module_list in (ours, theirs):
        module_list.insert(1, type(module_list[2])())
        del module_list[0]
        module_list += [type(module_list[-1])()]
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert list(ours._modules) == list(theirs._modules)
    assert isinstance(ours[1:], nn.ModuleList) and len(ours[1:]) == len(theirs[1:])
    with pytest.raises(IndexError, match="ModuleList: index 9 is out of range"):
        ours[9]


def test_module_dict_and_parameter_dict_behave_like_dicts():
    """Keys in order, membership, pop, update from pairs; tensors wrapped as Parameters."""
    heads = nn.ModuleDict([("b", nn.ReLU()), ("a", nn.Tanh())])
    heads.update({"c": nn.Identity()})
    assert list(heads) == ["b", "a", "c"] and "a" in heads
    assert isinstance(heads.pop("a"), nn.Tanh) and list(heads.keys()) == ["b", "c"]
    params = nn.ParameterDict({"w": dg.ones(2)})
    params["v"] = dg.zeros(3)
    assert all(isinstance(p, nn.Parameter) for p in params.values())
    assert [n for n, _ in params.named_parameters()] == ["w", "v"]
    plist = nn.ParameterList([dg.ones(1), dg.ones(2)])
    assert isinstance(plist[-1], nn.Parameter) and len(plist) == 2
    assert [n for n, _ in plist.named_parameters()] == ["0", "1"]


def test_module_api_get_submodule_apply_requires_grad_and_modes():
    """get_submodule walks dotted paths (clear error otherwise); apply visits
    children first; requires_grad_, train() and eval() return the module."""
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    assert isinstance(model.get_submodule("1.1"), nn.Linear)
    assert model.get_submodule("") is model
    with pytest.raises(AttributeError, match="has no attribute `5`"):
        model.get_submodule("1.5")
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    assert model.eval() is model and not model[1][0].training
    assert model.train() is model and model[1][0].training


def test_load_state_dict_strict_false_reports_missing_and_unexpected_keys_like_torch():
    """strict=False loads what matches and returns torch's missing/unexpected keys."""
    ours, theirs = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    state = {"weight": np.ones((2, 2)), "extra": np.zeros(1)}
    result = ours.load_state_dict(state, strict=False)
    expected = theirs.load_state_dict(
        {k: torch.tensor(v, dtype=torch.float32) for k, v in state.items()},
        strict=False,
    )
    assert result.missing_keys == expected.missing_keys
    assert result.unexpected_keys == expected.unexpected_keys
    np.testing.assert_array_equal(ours.weight.array, 1.0)


# ---------------------------------------------------------------------------
# nn.utils
# ---------------------------------------------------------------------------
def models_with_grads():
    """A torch MLP and the same deepgrad one, after the same backward pass."""
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    )
    theirs = theirs.double()
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    copy_weights(theirs, ours)
    x = np.random.default_rng(15).standard_normal((5, 3)) * 4
    (ours(dg.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_scales_gradients_like_torch(norm_type, max_norm):
    """The returned total norm and the clipped gradients equal torch's (the
    large max_norm leaves them unchanged)."""
    ours, theirs = models_with_grads()
    total = nn.utils.clip_grad_norm_(ours.parameters(), max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type)
    assert_matches(total, expected)
    for mine, reference in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert_matches(mine.grad, reference.grad)


def test_clip_grad_norm_raises_on_a_non_finite_norm_when_asked():
    """error_if_nonfinite=True refuses a nan total norm, naming the function."""
    param = nn.Parameter(dg.zeros(2, dtype=dg.float64))
    param.grad = dg.tensor([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm"):
        nn.utils.clip_grad_norm_(param, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_each_element_like_torch():
    """clip_grad_value_ clamps every gradient element to [-v, v]."""
    ours, theirs = models_with_grads()
    nn.utils.clip_grad_value_(ours.parameters(), 0.3)
    torch.nn.utils.clip_grad_value_(theirs.parameters(), 0.3)
    for mine, reference in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert_matches(mine.grad, reference.grad)


def test_parameters_to_vector_and_back_round_trip_like_torch():
    """parameters_to_vector equals torch's; vector_to_parameters writes the
    slices back; a wrong length or a non-Tensor is refused with its name."""
    ours, theirs = models_with_grads()
    vector = nn.utils.parameters_to_vector(ours.parameters())
    assert_matches(vector, torch.nn.utils.parameters_to_vector(theirs.parameters()))
    nn.utils.vector_to_parameters(
        dg.tensor(np.arange(vector.shape[0], dtype=float)), ours.parameters()
    )
    torch.nn.utils.vector_to_parameters(
        torch.arange(vector.shape[0], dtype=torch.float64), theirs.parameters()
    )
    for mine, reference in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert_matches(mine, reference)
    with pytest.raises(ValueError, match="vector_to_parameters: vec must be 1-D"):
        nn.utils.vector_to_parameters(dg.zeros(3), ours.parameters())
    with pytest.raises(TypeError, match="vector_to_parameters: expected a Tensor"):
        nn.utils.vector_to_parameters(np.zeros(3), ours.parameters())
