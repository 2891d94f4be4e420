"""``dg.autograd.Function`` (issue 14, item 11): custom backwards, PyTorch's way.

The same Function classes are written for deepgrad and for torch (PyTorch's
tutorial examples among them); their values and gradients must agree to 1e-10
in float64, and gradcheck must pass on ``apply``.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

import deepgrad as dg

RTOL = 1e-10


def _functions(lib):
    """The test Functions, written once against either library."""

    class LegendrePolynomial3(lib.autograd.Function):
        # "Learning PyTorch with Examples": P3(x) = (5x^3 - 3x) / 2
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    class MyReLU(lib.autograd.Function):
        # the tutorial's ReLU: the gradient is cloned, then zeroed where input < 0
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    class Exp(lib.autograd.Function):
        # saves its output
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class ScaledProduct(lib.autograd.Function):
        # two tensors and a number; the number's gradient is None
        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, grad_output):
            a, b = ctx.saved_tensors
            grad_a = grad_output * b * ctx.scale if ctx.needs_input_grad[0] else None
            grad_b = grad_output * a * ctx.scale if ctx.needs_input_grad[1] else None
            return grad_a, grad_b, None

    class SumAndMax(lib.autograd.Function):
        # several outputs, one of them (the index) not differentiable
        @staticmethod
        def forward(ctx, x):
            index = x.argmax()
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(x)
            return x.sum(), x.max(), index

        @staticmethod
        def backward(ctx, grad_sum, grad_max, grad_index):
            (x,) = ctx.saved_tensors
            onehot = lib.zeros_like(x)
            onehot.view(-1)[x.argmax()] = 1.0
            return grad_sum * lib.ones_like(x) + grad_max * onehot

    class BroadcastBias(lib.autograd.Function):
        # backward returns the gradient at the output's (broadcast) shape
        @staticmethod
        def forward(ctx, x, bias):
            return x + bias

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, grad_output

    return {
        "legendre": LegendrePolynomial3,
        "relu": MyReLU,
        "exp": Exp,
        "scaled": ScaledProduct,
        "summax": SumAndMax,
        "bias": BroadcastBias,
    }


OURS, THEIRS = _functions(dg), _functions(torch)
ONE_INPUT = ["legendre", "relu", "exp"]
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
VALUES = {"elements": {"min_value": -2, "max_value": 2, "allow_nan": False}}


@pytest.mark.parametrize("name", ONE_INPUT)
@given(array=hnp.arrays(np.float64, SHAPES, **VALUES))
@settings(max_examples=15, deadline=None)
def test_one_input_functions_match_torch(name, array):
    """Values and gradients of the tutorial Functions equal torch's (1e-10)."""
    ours = dg.tensor(array, requires_grad=True)
    theirs = torch.tensor(array, requires_grad=True)
    out_ours, out_theirs = OURS[name].apply(ours), THEIRS[name].apply(theirs)
    np.testing.assert_allclose(
        out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=RTOL
    )
    seed = np.cos(np.arange(out_theirs.numel()).reshape(out_theirs.shape) + 1.0)
    (out_ours * dg.tensor(seed)).sum().backward()
    (out_theirs * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=RTOL)
    assert out_ours.grad_fn == f"{OURS[name].__name__}Backward"


@pytest.mark.parametrize("name", ["legendre", "exp"])
def test_gradcheck_passes_on_apply(name):
    """deepgrad's gradcheck agrees with the hand-written backward (and so
    does torch's gradcheck on the torch twin)."""
    values = np.linspace(-1.5, 1.5, 12).reshape(3, 4)
    assert dg.gradcheck(OURS[name].apply, (dg.tensor(values, requires_grad=True),))
    assert torch.autograd.gradcheck(
        THEIRS[name].apply, (torch.tensor(values, requires_grad=True),)
    )


def test_gradcheck_catches_a_wrong_backward():
    """A Function whose backward is off by a factor fails gradcheck."""

    class Wrong(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output  # should be 2x * grad_output

    x = dg.tensor([0.5, 1.5], dtype=dg.float64, requires_grad=True)
    with pytest.raises(dg.autograd.GradcheckError):
        dg.gradcheck(Wrong.apply, (x,))


def test_non_tensor_arguments_and_needs_input_grad_match_torch():
    """A number argument passes through; needs_input_grad says which inputs
    want a gradient; gradcheck skips the number; values match torch's."""
    a_values, b_values = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])
    a, b = dg.tensor(a_values, requires_grad=True), dg.tensor(b_values)
    ta, tb = torch.tensor(a_values, requires_grad=True), torch.tensor(b_values)
    OURS["scaled"].apply(a, b, 2.5).sum().backward()
    THEIRS["scaled"].apply(ta, tb, 2.5).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=RTOL)
    assert b.grad is None and tb.grad is None
    b.requires_grad_()
    assert dg.gradcheck(OURS["scaled"].apply, (a, b, 2.5))


def test_several_outputs_and_a_non_differentiable_one_match_torch():
    """SumAndMax returns three tensors; the index needs no gradient; gradients
    from any subset of the outputs equal torch's."""
    values = np.array([[0.3, -1.0], [2.0, 0.7]])
    for use in ([0], [1], [0, 1]):
        ours = dg.tensor(values, requires_grad=True)
        theirs = torch.tensor(values, requires_grad=True)
        out_ours, out_theirs = (
            OURS["summax"].apply(ours),
            THEIRS["summax"].apply(theirs),
        )
        assert [o.requires_grad for o in out_ours] == [
            o.requires_grad for o in out_theirs
        ]
        assert out_ours[2].item() == out_theirs[2].item()
        sum(out_ours[i] * (i + 2.0) for i in use).backward()
        sum(out_theirs[i] * (i + 2.0) for i in use).backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=RTOL)
    x = dg.tensor(values, requires_grad=True)
    assert dg.gradcheck(lambda t: OURS["summax"].apply(t)[:2], (x,))


def test_materialize_grads_false_passes_none_for_unused_outputs():
    """set_materialize_grads(False): an output outside the loss gets None, as torch."""
    received = {}
    for lib in (dg, torch):

        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, grad_a, grad_b, name=lib.__name__):
                received[name] = (grad_a is None, grad_b is None)
                return grad_a * 2

        x = lib.ones(2, dtype=lib.float64, requires_grad=True)
        Two.apply(x)[0].sum().backward()
    assert received["deepgrad"] == received["torch"] == (False, True)


def test_a_broadcast_gradient_is_summed_back_as_torch():
    """backward may return the gradient at the output's broadcast shape; it is
    summed to the input's shape, as torch does."""
    x, bias = np.ones((3, 2)), np.array([0.5, -0.5])
    ours_bias, theirs_bias = (
        dg.tensor(bias, requires_grad=True),
        torch.tensor(bias, requires_grad=True),
    )
    OURS["bias"].apply(dg.tensor(x), ours_bias).sum().backward()
    THEIRS["bias"].apply(torch.tensor(x), theirs_bias).sum().backward()
    np.testing.assert_allclose(
        ours_bias.grad.numpy(), theirs_bias.grad.numpy(), rtol=RTOL
    )


def test_without_recording_apply_returns_plain_tensors():
    """Under no_grad, or with no input requiring grad: no graph, as torch."""
    x = dg.ones(2, requires_grad=True)
    with dg.no_grad():
        assert not OURS["exp"].apply(x).requires_grad
    assert not OURS["exp"].apply(dg.ones(2)).requires_grad
    assert OURS["exp"].apply(x).requires_grad


def test_changing_a_saved_tensor_in_place_raises_torchs_error():
    """Exp saves its output; changing it before backward raises the
    "modified by an inplace operation" error, in both libraries."""
    for lib in (dg, torch):
        x = lib.ones(2, dtype=lib.float64, requires_grad=True)
        y = OURS["exp"].apply(x) if lib is dg else THEIRS["exp"].apply(x)
        loss = (y * 1.0).sum()
        with lib.no_grad():
            y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_backward_twice_needs_retain_graph():
    """A second backward through a Function raises unless retain_graph=True."""
    x = dg.tensor([0.5, 1.0], dtype=dg.float64, requires_grad=True)
    y = OURS["legendre"].apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    expected = 2 * 1.5 * (5 * np.array([0.5, 1.0]) ** 2 - 1)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=RTOL)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_wrong_number_of_gradients_is_torchs_runtime_error():
    """backward returning too few gradients raises a RuntimeError in both."""
    for lib in (dg, torch):

        class TooFew(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                return a * b

            @staticmethod
            def backward(ctx, grad_output):
                return grad_output

        a = lib.ones(2, dtype=lib.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="incorrect number of gradients"):
            TooFew.apply(a, a).sum().backward()


def test_gradient_of_the_wrong_shape_is_torchs_runtime_error():
    """A gradient that cannot be summed to the input's shape: RuntimeError."""
    for lib in (dg, torch):

        class BadShape(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, grad_output, lib=lib):
                return lib.ones(5, dtype=lib.float64)

        a = lib.ones(2, dtype=lib.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
            BadShape.apply(a).sum().backward()


def test_gradient_for_a_non_tensor_argument_is_an_error():
    """Returning a gradient for a number argument raises, naming the position."""

    class Bad(dg.autograd.Function):
        @staticmethod
        def forward(ctx, a, scale):
            return a * scale

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, grad_output

    with pytest.raises(RuntimeError, match="position 2, but the corresponding"):
        Bad.apply(dg.ones(2, requires_grad=True), 3.0).sum().backward()


def test_save_for_backward_refuses_non_tensors():
    """Only tensors (or None) go through save_for_backward; a number is a TypeError."""

    class SavesNumber(dg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a, 3.0)
            return a

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    with pytest.raises(TypeError, match="argument 1 is a float"):
        SavesNumber.apply(dg.ones(2, requires_grad=True))


def test_setup_context_style_matches_torch():
    """PyTorch 2's forward(*args) + setup_context(ctx, inputs, output) works."""
    results = []
    for lib in (dg, torch):

        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x):
                return x**3

            @staticmethod
            def setup_context(ctx, inputs, output):
                (ctx.x,) = inputs

            @staticmethod
            def backward(ctx, grad_output):
                return grad_output * 3 * ctx.x**2

        x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
        Cube.apply(x).sum().backward()
        results.append(x.grad.tolist())
    assert results[0] == results[1]


def test_returning_an_input_gives_a_new_node_not_the_input():
    """forward returning its input as is: apply's output is another tensor, and
    the input stays a leaf (an identity Function, as torch treats it)."""

    class Identity(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * 2

    x = dg.ones(3, requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and x.is_leaf and not y.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_graph_of_a_function_is_freed_after_backward():
    """The output's node keeps no reference cycle alive: after backward and
    del, the input is collectable (saved outputs are held weakly)."""
    x = dg.ones(3, dtype=dg.float64, requires_grad=True)
    y = OURS["exp"].apply(x * 1.0)
    alive = weakref.ref(y)
    y.sum().backward()
    del y
    gc.collect()
    assert alive() is None
