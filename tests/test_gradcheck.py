"""dg.gradcheck and dg.model_gradcheck: backprop against central finite differences.

The first half proves every differentiable op's backward right without any
other library; the second half proves the checker itself can fail, and says
where and by how much.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.autograd import GradcheckError

ANY, POSITIVE, AWAY_FROM_ZERO = "any", "positive", "away_from_zero"


def make_inputs(specs: list[tuple[tuple[int, ...], str]]) -> list[dg.Tensor]:
    """float64 leaves with values kept clear of each op's kinks and singularities.

    ``away_from_zero`` keeps |x| >= 0.5, far beyond the finite-difference step,
    for abs, relu, leaky_relu and divisors; ``positive`` is for log, sqrt and
    fractional powers.
    """
    rng = np.random.default_rng(0)
    tensors = []
    for shape, kind in specs:
        values = rng.standard_normal(shape)
        if kind == POSITIVE:
            values = np.abs(values) + 0.5
        elif kind == AWAY_FROM_ZERO:
            values = np.where(values >= 0, 1.0, -1.0) * (np.abs(values) + 0.5)
        tensors.append(dg.tensor(values, dtype=dg.float64, requires_grad=True))
    return tensors


MASK = np.array([[True, False, True], [False, False, True]])

# name -> (fn, input specs)
CASES: dict[str, tuple[Callable[..., Any], list[tuple[tuple[int, ...], str]]]] = {
    "add_broadcast": (lambda a, b: a + b, [((2, 3), ANY), ((3,), ANY)]),
    "sub_broadcast": (lambda a, b: a - b, [((2, 1), ANY), ((1, 3), ANY)]),
    "mul_broadcast": (lambda a, b: a * b, [((2, 3), ANY), ((2, 1), ANY)]),
    "div_broadcast": (lambda a, b: a / b, [((2, 3), ANY), ((3,), AWAY_FROM_ZERO)]),
    "pow_integer_exponent": (lambda a: a**3, [((2, 3), ANY)]),
    "pow_fractional_exponent": (lambda a: a**1.5, [((2, 3), POSITIVE)]),
    "pow_negative_exponent": (lambda a: a**-2, [((2, 3), AWAY_FROM_ZERO)]),
    "pow_tensor_exponent": (lambda a, b: a**b, [((2, 3), POSITIVE), ((3,), ANY)]),
    "rpow": (lambda a: 2**a, [((2, 3), ANY)]),
    "radd": (lambda a: 2 + a, [((2, 3), ANY)]),
    "rmul": (lambda a: 2 * a, [((2, 3), ANY)]),
    "rdiv": (lambda a: 10.0 / a, [((2, 3), AWAY_FROM_ZERO)]),
    "rsub": (lambda a: 1 - a, [((2, 3), ANY)]),
    "neg": (lambda a: -a, [((2, 3), ANY)]),
    "matmul_1d_1d": (lambda a, b: a @ b, [((3,), ANY), ((3,), ANY)]),
    "matmul_2d_2d": (lambda a, b: a @ b, [((2, 3), ANY), ((3, 4), ANY)]),
    "matmul_1d_2d": (lambda a, b: a @ b, [((3,), ANY), ((3, 2), ANY)]),
    "matmul_2d_1d": (lambda a, b: a @ b, [((2, 3), ANY), ((3,), ANY)]),
    "matmul_batched_broadcast": (
        lambda a, b: a @ b,
        [((2, 1, 2, 3), ANY), ((3, 3, 2), ANY)],
    ),
    "exp": (dg.exp, [((2, 3), ANY)]),
    "log": (dg.log, [((2, 3), POSITIVE)]),
    "sqrt": (dg.sqrt, [((2, 3), POSITIVE)]),
    "abs": (dg.abs, [((2, 3), AWAY_FROM_ZERO)]),
    "clamp_min": (lambda a: a.clamp(min=-0.3), [((3, 3), ANY)]),
    "clamp_max": (lambda a: a.clamp(max=0.3), [((3, 3), ANY)]),
    "clamp_both": (lambda a: a.clamp(-0.5, 0.5), [((3, 3), ANY)]),
    "maximum": (dg.maximum, [((2, 3), ANY), ((3,), ANY)]),
    "minimum": (dg.minimum, [((2, 3), ANY), ((2, 1), ANY)]),
    "where": (lambda a, b: dg.where(a > 0, a, b), [((2, 3), ANY), ((3,), ANY)]),
    "sum_all": (lambda a: a.sum(), [((2, 3), ANY)]),
    "sum_dims_keepdim": (
        lambda a: a.sum(dim=(0, -1), keepdim=True),
        [((2, 3, 2), ANY)],
    ),
    "mean_dim": (lambda a: a.mean(dim=1), [((2, 3, 2), ANY)]),
    "mean_negative_dim_keepdim": (lambda a: a.mean(-1, keepdim=True), [((2, 3), ANY)]),
    "var_all": (lambda a: a.var(), [((2, 3), ANY)]),
    "var_dim": (lambda a: a.var(dim=-1), [((2, 3), ANY)]),
    "var_biased_dims": (
        lambda a: a.var(dim=(0, 2), unbiased=False),
        [((2, 3, 2), ANY)],
    ),
    "max_all": (lambda a: a.max(), [((2, 3), ANY)]),
    "min_all": (lambda a: a.min(), [((2, 3), ANY)]),
    "max_dim": (lambda a: a.max(dim=1).values, [((2, 3), ANY)]),
    "min_dim_keepdim": (lambda a: a.min(dim=0, keepdim=True).values, [((2, 3), ANY)]),
    "reshape": (lambda a: a.reshape(3, 2), [((2, 3), ANY)]),
    "view": (lambda a: a.view(-1), [((2, 3), ANY)]),
    "flatten": (lambda a: a.flatten(1), [((2, 3, 2), ANY)]),
    "transpose": (lambda a: a.transpose(0, -1), [((2, 3, 2), ANY)]),
    "permute": (lambda a: a.permute(2, 0, 1), [((2, 3, 2), ANY)]),
    "T": (lambda a: a.T, [((2, 3), ANY)]),
    "unsqueeze": (lambda a: a.unsqueeze(-2), [((2, 3), ANY)]),
    "squeeze": (lambda a: a.squeeze(1), [((2, 1, 3), ANY)]),
    "expand": (lambda a: a.expand(2, -1, 3), [((3, 1), ANY)]),
    "index_slices_negative_step": (lambda a: a[1:, ::-1], [((3, 3), ANY)]),
    "index_none_ellipsis": (lambda a: a[None, ..., 0], [((2, 3, 2), ANY)]),
    "index_repeated_array": (lambda a: a[[0, 0, 1, -1]], [((3, 2), ANY)]),
    "index_boolean_mask": (lambda a: a[MASK], [((2, 3), ANY)]),
    "cat": (lambda a, b: dg.cat([a, b], dim=1), [((2, 1), ANY), ((2, 3), ANY)]),
    "stack": (lambda a, b: dg.stack([a, b], dim=-1), [((2, 3), ANY), ((2, 3), ANY)]),
    "sigmoid": (dg.sigmoid, [((2, 3), ANY)]),
    "tanh": (dg.tanh, [((2, 3), ANY)]),
    "relu": (dg.relu, [((2, 3), AWAY_FROM_ZERO)]),
    "leaky_relu": (lambda a: dg.leaky_relu(a, 0.1), [((2, 3), AWAY_FROM_ZERO)]),
    "gelu": (dg.gelu, [((2, 3), ANY)]),
    "gelu_tanh": (lambda a: dg.gelu(a, approximate="tanh"), [((2, 3), ANY)]),
    "softmax_dim0": (lambda a: dg.softmax(a, dim=0), [((2, 3), ANY)]),
    "softmax_last_dim": (lambda a: a.softmax(-1), [((2, 3), ANY)]),
    "log_softmax_dim1": (lambda a: dg.log_softmax(a, dim=1), [((2, 3, 2), ANY)]),
    "composite_layer": (
        lambda x, weight, bias: (x @ weight + bias).tanh().mean(),
        [((4, 3), ANY), ((3, 2), ANY), ((2,), ANY)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_passes_for_every_differentiable_op(name):
    fn, specs = CASES[name]
    assert dg.gradcheck(fn, make_inputs(specs)) is True


def test_gradcheck_leaves_inputs_unchanged_and_without_grad():
    (x,) = make_inputs([((2, 3), ANY)])
    before = x.array.copy()
    dg.gradcheck(lambda t: (t * t).sum(dim=0), x)
    np.testing.assert_array_equal(x.array, before)
    assert x.grad is None


def square_with_forgotten_factor(x: dg.Tensor) -> dg.Tensor:
    """x^2 with a deliberately wrong backward (the true VJP is 2 x grad_output)."""

    def wrong_backward(grad_output):
        return (grad_output * x.array,)

    return dg.Tensor._make(x.array**2, (x,), wrong_backward, "Wrong")


def test_gradcheck_reports_the_failing_input_and_its_max_errors():
    good, bad = (
        dg.tensor([0.5, -1.0], dtype=dg.float64, requires_grad=True),
        dg.tensor([1.0, -2.0, 3.0], dtype=dg.float64, requires_grad=True),
    )
    with pytest.raises(GradcheckError) as failure:
        dg.gradcheck(
            lambda a, b: (a * 2).sum() + square_with_forgotten_factor(b).sum(),
            (good, bad),
        )
    message = str(failure.value)
    assert "input 0" not in message
    report = re.search(
        r"input 1 \(shape \(3,\)\): max abs error (\S+), max rel error (\S+);", message
    )
    assert report is not None, message
    # backprop gives x where the derivative is 2x: abs error |x|, rel error 1/2
    assert float(report.group(1)) == pytest.approx(3.0, rel=1e-6)
    assert float(report.group(2)) == pytest.approx(0.5, rel=1e-6)


def test_gradcheck_returns_false_instead_of_raising_when_asked():
    (x,) = make_inputs([((3,), ANY)])
    assert dg.gradcheck(square_with_forgotten_factor, x, raise_exception=False) is False


def test_gradcheck_rejects_float32_inputs_with_a_hint_to_use_float64():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        dg.gradcheck(lambda t: t * t, x)


def test_gradcheck_rejects_inputs_none_of_which_requires_grad():
    x = dg.tensor([1.0, 2.0], dtype=dg.float64)
    with pytest.raises(ValueError, match="requires_grad=True"):
        dg.gradcheck(lambda t: t * t, (x,))


def test_gradcheck_checks_only_inputs_that_require_grad():
    (weight,) = make_inputs([((3,), ANY)])
    constant = dg.tensor([1.0, -2.0, 3.0], dtype=dg.float64)
    assert dg.gradcheck(lambda w, c: (w * c).exp(), (weight, constant)) is True


def test_model_gradcheck_finds_tiny_errors_for_every_parameter_of_an_mlp():
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    inputs, targets = dg.randn(5, 3), dg.randn(5, 2)
    errors = dg.model_gradcheck(model, nn.MSELoss(), inputs, targets)
    assert set(errors) == {name for name, _ in model.named_parameters()}
    assert max(errors.values()) < 1e-7
    # it works on a float64 copy: the model keeps its float32 parameters
    assert all(p.dtype == dg.float32 for p in model.parameters())


class ForgetfulSquare(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(dg.tensor([0.5, -1.0, 2.0]))

    def forward(self, x: dg.Tensor) -> dg.Tensor:
        return square_with_forgotten_factor(x * self.weight)


def test_model_gradcheck_flags_a_parameter_whose_gradient_is_half_the_truth():
    dg.manual_seed(1)
    inputs, targets = dg.randn(4, 3), dg.randn(4, 3)
    errors = dg.model_gradcheck(ForgetfulSquare(), nn.MSELoss(), inputs, targets)
    # ||g/2 - g|| / (||g/2|| + ||g||) = 1/3
    assert errors["weight"] == pytest.approx(1 / 3, rel=1e-5)
