"""``deepgrad.nn.functional`` (import as ``F``): activations, linear, dropout, losses.

The losses are fused ops: each computes its value and writes its gradient in
closed form (e.g. dL/dz = softmax(z) - onehot(y) for cross-entropy on logits),
which is both faster and more stable than chaining log, softmax and mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad import random as _random
from deepgrad.nn.padding import pad
from deepgrad.ops import (
    clamp,
    div,
    gelu,
    leaky_relu,
    linear,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
    vector_norm,
)
from deepgrad.ops._common import lift, require_float, saved, unbroadcast
from deepgrad.ops.activations import log_softmax_array, stable_sigmoid
from deepgrad.tensor import Tensor, constant, default_generator

__all__ = [
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "gelu",
    "elu",
    "silu",
    "softplus",
    "hardtanh",
    "mish",
    "prelu",
    "softmax",
    "log_softmax",
    "dropout",
    "one_hot",
    "batch_norm",
    "layer_norm",
    "embedding",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "pad",
    "normalize",
]

_REDUCTIONS = ("mean", "sum", "none")
# torch's EPSILON for the BCE gradient is a C float: float32(1e-12) = 9.99999996e-13
_BCE_EPSILON = float(np.float32(1e-12))
# min(p, 1 - p) above this bound: log p and log(1 - p) are both above -100
# (e^-100 = 3.7e-44), so BCE's clamp would change nothing
_UNCLAMPED = 4e-44


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p).

    The mask is PyTorch's after the same seed: ``bernoulli_(1 - p)``, one float64
    uniform per element (``deepgrad.random.bernoulli``).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be between 0 and 1, received: {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    # torch's _dropout_impl: noise = empty_like(input).bernoulli_(1 - p), then
    # noise.div_(1 - p) in input's dtype, then input * noise
    keep = _random.bernoulli(default_generator(), input.shape, 1.0 - p)
    scale = keep.astype(input.dtype) / input.dtype.type(1.0 - p)
    return input * Tensor(scale)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer labels -> int64 one-hot rows (outside the graph), as torch."""
    labels = np.asarray(tensor.array if isinstance(tensor, Tensor) else tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"one_hot: expected integer class labels, received {labels.dtype}"
        )
    if num_classes < 0:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must lie in [0, {num_classes - 1}], found "
            f"{labels.min()}..{labels.max()}"
        )
    return Tensor(np.eye(num_classes, dtype=np.int64)[labels])


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each feature (dim 1) over the batch (and length) axes.

    Training uses the batch statistics and updates the running ones in place
    (running_var with the unbiased variance), as PyTorch does; eval uses the
    running statistics. Written with differentiable ops, so its backward is
    the chain rule through mean and variance.
    """
    if input.ndim not in (2, 3):
        raise ValueError(
            f"batch_norm: expected a 2-D (N, C) or 3-D (N, C, L) input, received "
            f"shape {tuple(input.shape)}"
        )
    axes = (0,) if input.ndim == 2 else (0, 2)
    shape = (1, input.shape[1]) + ((1,) if input.ndim == 3 else ())
    count = input.array.size // input.shape[1]
    if training:
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, "
                f"received input of shape {tuple(input.shape)}"
            )
        mean = input.mean(dim=axes, keepdim=True)
        centered = input - mean
        variance = (centered * centered).mean(dim=axes, keepdim=True)
        if running_mean is not None and running_var is not None:
            batch_mean = mean.array.reshape(-1)
            unbiased = variance.array.reshape(-1) * (count / (count - 1))
            running_mean.array *= 1 - momentum
            running_mean.array += momentum * batch_mean
            running_var.array *= 1 - momentum
            running_var.array += momentum * unbiased
            running_mean._version += 1  # one in-place update each, as in torch
            running_var._version += 1
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode needs running_mean and running_var")
        mean = Tensor(running_mean.array.reshape(shape))
        variance = Tensor(running_var.array.reshape(shape))
        centered = input - mean
    out = centered / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------
def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op}: reduction must be 'mean', 'sum' or 'none', received: {reduction!r}"
        )


def _check_same_shape(input: Tensor, target: Tensor, op: str) -> None:
    if input.array.shape != target.array.shape:
        raise ValueError(
            f"{op}: input has shape {tuple(input.shape)} but target has shape "
            f"{tuple(target.shape)}; they must be equal. (A common cause: predictions "
            "of shape (N, 1) against labels of shape (N,); reshape one of them.)"
        )


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        if loss.size == 0:  # an empty batch gives nan, as in torch
            return np.asarray(np.nan, dtype=loss.dtype)
        return np.asarray(loss.sum() / loss.dtype.type(loss.size))
    if reduction == "sum":
        return np.asarray(loss.sum())
    return loss


def _unreduce(grad_output: np.ndarray, reduction: str, size: int) -> np.ndarray:
    """The gradient reaching each element of an elementwise loss before reduction.

    For 'mean' and 'sum' this is one 0-d value that broadcasts when multiplied
    with the elementwise derivative (cheaper than materialising the full shape).
    """
    if reduction == "mean" and size:
        return grad_output / constant(size, grad_output.dtype)
    return grad_output


def _as_target(target: Any, input: Tensor) -> Tensor:
    return target if isinstance(target, Tensor) else lift(np.asarray(target), input)


def clamped_logs(
    p: np.ndarray, out: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(log p, log(1 - p)), each clamped at -100 as PyTorch does.

    ``out``: two arrays shaped like ``p`` to write them into (deepgrad.fast).
    """
    log_p, log_1mp = (None, None) if out is None else out
    floor = constant(-100.0, p.dtype)
    log_p = np.log(p, out=log_p)
    np.maximum(log_p, floor, out=log_p)
    log_1mp = np.negative(p, out=log_1mp)
    np.log1p(log_1mp, out=log_1mp)
    np.maximum(log_1mp, floor, out=log_1mp)
    return log_p, log_1mp


def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-[y log p + (1 - y) log(1 - p)] for probabilities p in [0, 1].

    Each log is clamped at -100, as PyTorch does, so p = 0 or 1 gives a large
    finite loss instead of inf.
    """
    target = _as_target(target, input)
    _check_reduction(reduction, "binary_cross_entropy")
    _check_same_shape(input, target, "binary_cross_entropy")
    p, y = input.array, target.array
    if y.dtype is not p.dtype:  # astype(copy=False) costs ~0.1 us, copying or not
        y = y.astype(p.dtype)
    one = constant(1.0, p.dtype)
    # min(p, 1 - p) is >= 0 exactly when 0 <= p <= 1 (NaN fails), and > 0 when no
    # log is log(0): one reduction checks the whole input (and cannot overflow)
    nearest_end = one - p
    np.minimum(nearest_end, p, out=nearest_end)
    smallest = np.minimum.reduce(nearest_end, axis=None) if p.size else one
    if not smallest >= 0:
        raise ValueError(
            "binary_cross_entropy: all elements of input should be probabilities "
            f"between 0 and 1 (found values from {np.nanmin(p):.4g} to "
            f"{np.nanmax(p):.4g}{', and NaN' if np.isnan(p).any() else ''}). Apply a "
            "sigmoid first, or use binary_cross_entropy_with_logits on raw outputs."
        )
    w = None if weight is None else np.broadcast_to(weight.array, p.shape)
    if smallest > _UNCLAMPED:  # the usual case: no log reaches the -100 clamp
        log_p, log_1mp = np.log(p), np.log1p(-p)
    elif smallest > 0:  # no log(0) to silence
        log_p, log_1mp = clamped_logs(p)
    else:
        with np.errstate(divide="ignore"):
            log_p, log_1mp = clamped_logs(p)
    # PyTorch's (y - 1) log(1 - p) - y log p, in place; two products, not
    # log(1-p) + y (log p - log(1-p)), which would cancel for p near 1
    loss = y - one
    loss *= log_1mp
    loss -= y * log_p
    if w is not None:
        loss = loss * w

    def backward(grad_output):
        g = _unreduce(grad_output, reduction, p.size)
        if w is not None:
            g = g * w
        # dL/dp = (p - y) / (p (1 - p)), the denominator floored at 1e-12 (torch)
        grad_p = (
            g * (p - y) / np.maximum((one - p) * p, constant(_BCE_EPSILON, p.dtype))
            if input._requires_grad
            else None
        )
        grad_y = g * (log_1mp - log_p) if target._requires_grad else None
        return grad_p, grad_y

    return Tensor._make(
        _reduce(loss, reduction),
        (input, target),
        backward,
        "BinaryCrossEntropyBackward",
        # what backward reads (as torch saves them): inline, the lab's loss
        ((input, input._version), (target, target._version))
        if weight is None
        else saved(input, target, weight),
    )


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable op, on raw scores z.

    loss = (1 - y) z + l (log(1 + e^-|z|) + max(-z, 0)), with l = 1 + (pos_weight - 1) y;
    dL/dz = sigmoid(z) - y without pos_weight.
    """
    target = _as_target(target, input)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    z, y = input.array, target.array.astype(input.dtype, copy=False)
    softplus_neg = np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)  # log(1 + e^-z)
    pw = None if pos_weight is None else pos_weight.array
    log_weight = 1 if pw is None else 1 + (pw - 1) * y
    loss = (1 - y) * z + log_weight * softplus_neg
    w = None if weight is None else weight.array
    if w is not None:
        loss = loss * w

    def backward(grad_output):
        g = _unreduce(grad_output, reduction, z.size)
        if w is not None:
            g = g * w
        grad_z = grad_y = None
        if input._requires_grad:
            s = stable_sigmoid(z)
            grad_z = g * (s - y) if pw is None else g * ((pw * y + 1 - y) * s - pw * y)
        if target._requires_grad:
            grad_y = g * (-z if pw is None else -z + (pw - 1) * softplus_neg)
        return grad_z, grad_y

    return Tensor._make(
        _reduce(loss, reduction).astype(z.dtype, copy=False),
        (input, target),
        backward,
        "BinaryCrossEntropyWithLogitsBackward",
        saved(input, target, weight, pos_weight),
    )


def _class_last(x: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) -> (N * d1 * ..., C); (C,) -> (1, C)."""
    if x.ndim == 1:
        return x[None, :]
    if x.ndim == 2:
        return x
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _class_first(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of _class_last."""
    if len(shape) == 1:
        return rows[0]
    if len(shape) == 2:
        return rows
    moved = (shape[0],) + shape[2:] + (shape[1],)
    return np.moveaxis(rows.reshape(moved), -1, 1)


def _check_labels(labels: np.ndarray, num_classes: int, ignore_index: int, op: str):
    valid = labels != ignore_index
    bad = valid & ((labels < 0) | (labels >= num_classes))
    if bad.any():
        raise ValueError(
            f"{op}: target label {labels[bad][0]} is out of range for {num_classes} "
            f"classes (labels must be integers from 0 to {num_classes - 1}"
            + (f", or ignore_index={ignore_index}" if ignore_index != -100 else "")
            + ")"
        )
    return valid


def _check_class_target(input: Tensor, labels: np.ndarray, op: str) -> None:
    shape = input.array.shape
    expected = shape[:1] + shape[2:] if input.ndim > 1 else ()
    if labels.shape != expected:
        raise ValueError(
            f"{op}: input of shape {tuple(input.shape)} needs class-index targets of "
            f"shape {tuple(expected)}, received {labels.shape}. (Targets are integer "
            "labels, one per sample; for one-hot or probability targets pass a float "
            "tensor of the input's shape.)"
        )


def _nll_from_rows(
    log_probs: np.ndarray,
    labels: np.ndarray,
    valid: np.ndarray,
    class_weight: np.ndarray | None,
    reduction: str,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-row -w[y] log p[y], the per-row weights, and the mean's denominator."""
    rows = np.arange(labels.shape[0])
    safe = np.where(valid, labels, 0)
    row_weight = valid.astype(log_probs.dtype)
    if class_weight is not None:
        row_weight = row_weight * class_weight[safe]
    losses = -log_probs[rows, safe] * row_weight
    denominator = float(row_weight.sum()) if reduction == "mean" else 1.0
    return losses, row_weight, denominator


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy on raw scores (logits), fused.

    Targets are class indices (integers, shape (N,)) or class probabilities
    (floats, the input's shape). With indices, ``dL/dz = softmax(z) - onehot(y)``
    per sample (times its class weight, divided by the weights' sum for 'mean').

    ``label_smoothing`` = e mixes the target with the uniform distribution over
    the C classes, as torch: with indices, each row's loss is
    (1 - e) w[y] (-log p[y]) + (e / C) sum_c w[c] (-log p[c]), reduced with the
    same denominator; with probabilities, the target becomes t (1 - e) + e / C.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            "cross_entropy: label_smoothing must be between 0.0 and 1.0, "
            f"received: {label_smoothing}"
        )
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    logits = input.array
    if logits.ndim == 0:
        raise ValueError(
            "cross_entropy: input must have a class dimension, got a scalar"
        )
    num_classes = logits.shape[1] if logits.ndim > 1 else logits.shape[0]
    w = None if weight is None else weight.array
    rows = _class_last(logits)
    log_probs = log_softmax_array(rows, axis=1)

    if target.array.dtype.kind in "iu":
        labels = target.array
        _check_class_target(input, labels, "cross_entropy")
        labels = labels.reshape(-1)
        valid = _check_labels(labels, num_classes, ignore_index, "cross_entropy")
        losses, row_weight, denominator = _nll_from_rows(
            log_probs, labels, valid, w, reduction
        )
        if label_smoothing:
            losses, smoothed_backward = _smoothed_rows(
                losses, log_probs, valid, w, label_smoothing, reduction, denominator
            )
        out = _reduce_rows(losses, reduction, denominator, logits.shape)

        def backward(grad_output):
            coef = _row_coefficients(grad_output, reduction, denominator, row_weight)
            grad_rows = np.exp(log_probs)
            grad_rows[np.arange(labels.shape[0]), np.where(valid, labels, 0)] -= 1
            grad_rows *= coef[:, None]
            if label_smoothing:
                grad_rows = smoothed_backward(grad_rows, grad_output)
            return (_class_first(grad_rows, logits.shape), None)

        # the labels pick the rows' gradients
        return Tensor._make(
            out, (input, target), backward, "CrossEntropyBackward", saved(target)
        )

    _check_same_shape(input, target, "cross_entropy")
    probs = _class_last(target.array.astype(logits.dtype, copy=False))
    if label_smoothing:
        probs = probs * (1 - label_smoothing) + label_smoothing / num_classes
    weighted = probs if w is None else probs * w
    losses = -(weighted * log_probs).sum(axis=1)
    denominator = float(losses.shape[0]) if reduction == "mean" else 1.0
    out = _reduce_rows(losses, reduction, denominator, logits.shape)

    def backward_soft(grad_output):
        coef = _row_coefficients(
            grad_output, reduction, denominator, np.ones(losses.shape[0], logits.dtype)
        )
        grad_z = grad_t = None
        if input._requires_grad:  # dL/dz = softmax(z) * sum(w t) - w t
            grad = np.exp(log_probs) * weighted.sum(axis=1, keepdims=True) - weighted
            grad_z = _class_first(grad * coef[:, None], logits.shape)
        if target._requires_grad:  # dL/dt = -(1 - e) w log softmax(z)
            grad = -log_probs if w is None else -log_probs * w
            grad *= 1 - label_smoothing
            grad_t = _class_first(grad * coef[:, None], logits.shape)
        return grad_z, grad_t

    return Tensor._make(
        out,
        (input, target),
        backward_soft,
        "CrossEntropyBackward",
        saved(target, weight),
    )


def _smoothed_rows(
    losses: np.ndarray,
    log_probs: np.ndarray,
    valid: np.ndarray,
    class_weight: np.ndarray | None,
    smoothing: float,
    reduction: str,
    denominator: float,
) -> tuple[np.ndarray, Any]:
    """Label smoothing on class-index rows: the losses, and the gradient's change.

    smooth = -sum_c w[c] log p[c] per valid row, d smooth / dz = (sum_c w[c]) p - w.
    """
    num_classes = log_probs.shape[1]
    weights = (
        np.ones(num_classes, log_probs.dtype) if class_weight is None else class_weight
    )
    smooth = -(log_probs * weights).sum(axis=1) * valid
    share = smoothing / num_classes
    mixed = (1 - smoothing) * losses + share * smooth

    def backward(grad_rows: np.ndarray, grad_output: np.ndarray) -> np.ndarray:
        coef = _row_coefficients(
            grad_output, reduction, denominator, valid.astype(log_probs.dtype)
        )
        smooth_grad = np.exp(log_probs) * weights.sum() - weights
        return (1 - smoothing) * grad_rows + share * smooth_grad * coef[:, None]

    return mixed, backward


def _reduce_rows(
    losses: np.ndarray, reduction: str, denominator: float, shape: tuple[int, ...]
) -> np.ndarray:
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(losses.sum() / losses.dtype.type(denominator))
    if reduction == "sum":
        return np.asarray(losses.sum())
    if len(shape) == 1:
        return losses.reshape(())
    return losses.reshape((shape[0],) + shape[2:])


def _row_coefficients(
    grad_output: np.ndarray, reduction: str, denominator: float, row_weight: np.ndarray
) -> np.ndarray:
    """dL/d(loss of each row), times each row's weight."""
    if reduction == "none":
        return grad_output.reshape(-1) * row_weight
    if denominator == 0:  # every target ignored, or no rows: torch's zero gradient
        return np.zeros_like(row_weight)
    return row_weight * (grad_output / row_weight.dtype.type(denominator))


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities: -w[y] * input[y] per sample."""
    _check_reduction(reduction, "nll_loss")
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    if target.array.dtype.kind not in "iu":
        raise TypeError(
            f"nll_loss: expected integer class labels as target, received dtype "
            f"{target.array.dtype}; convert with .long()"
        )
    if input.ndim == 0:
        raise ValueError("nll_loss: input must have a class dimension, got a scalar")
    _check_class_target(input, target.array, "nll_loss")
    num_classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    labels = target.array.reshape(-1)
    valid = _check_labels(labels, num_classes, ignore_index, "nll_loss")
    rows = _class_last(input.array)
    w = None if weight is None else weight.array
    losses, row_weight, denominator = _nll_from_rows(rows, labels, valid, w, reduction)
    out = _reduce_rows(losses, reduction, denominator, input.shape)

    def backward(grad_output):  # only the picked log-probability gets -w[y]
        coef = _row_coefficients(grad_output, reduction, denominator, row_weight)
        grad_rows = np.zeros_like(rows)
        grad_rows[np.arange(labels.shape[0]), np.where(valid, labels, 0)] = -coef
        return (_class_first(grad_rows, input.shape), None)

    return Tensor._make(
        out, (input, target), backward, "NllLossBackward", saved(target)
    )


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(input - target)^2, reduced. Shapes must match (PyTorch only warns)."""
    target = _as_target(target, input)
    _check_reduction(reduction, "mse_loss")
    _check_same_shape(input, target, "mse_loss")
    diff = input.array - target.array.astype(input.dtype, copy=False)

    def backward(grad_output):  # dL/dx = 2 (x - y), dL/dy = -2 (x - y)
        grad = 2 * diff * _unreduce(grad_output, reduction, diff.size)
        return (
            grad if input._requires_grad else None,
            -grad if target._requires_grad else None,
        )

    return Tensor._make(
        _reduce(diff * diff, reduction), (input, target), backward, "MseLossBackward"
    )


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced. Shapes must match (PyTorch only warns)."""
    target = _as_target(target, input)
    _check_reduction(reduction, "l1_loss")
    _check_same_shape(input, target, "l1_loss")
    diff = input.array - target.array.astype(input.dtype, copy=False)

    def backward(grad_output):  # dL/dx = sign(x - y), 0 where they are equal
        grad = np.sign(diff) * _unreduce(grad_output, reduction, diff.size)
        return (
            grad if input._requires_grad else None,
            -grad if target._requires_grad else None,
        )

    return Tensor._make(
        _reduce(np.abs(diff), reduction), (input, target), backward, "L1LossBackward"
    )


# ---------------------------------------------------------------------------
# More activations: each forward with its derivative (torch's kernels' formulas)
# ---------------------------------------------------------------------------
def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """ELU(x) = x for x > 0, alpha (e^x - 1) otherwise."""
    require_float(input, "elu")
    x = input.array
    positive = x > 0
    negative_part = alpha * np.expm1(np.minimum(x, 0))
    out = np.where(positive, x, negative_part)

    def backward(grad_output):  # 1 for x > 0, else alpha e^x = ELU(x) + alpha
        return (np.where(positive, grad_output, grad_output * (negative_part + alpha)),)

    return Tensor._make(out, (input,), backward, "EluBackward", saved(input))


def silu(input: Tensor) -> Tensor:
    """SiLU (swish): x * sigmoid(x)."""
    require_float(input, "silu")
    x = input.array
    s = stable_sigmoid(x)

    def backward(grad_output):  # s + x s (1 - s) = s (1 + x (1 - s))
        return (grad_output * s * (1 + x * (1 - s)),)

    return Tensor._make(x * s, (input,), backward, "SiluBackward", saved(input))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta; x itself where beta x > threshold (as torch)."""
    require_float(input, "softplus")
    x = input.array
    scaled = x * beta
    linear_part = scaled > threshold
    # exp of the clipped value: no overflow where the linear part is taken
    out = np.where(
        linear_part, x, np.log1p(np.exp(np.minimum(scaled, threshold))) / beta
    )

    def backward(grad_output):  # sigmoid(beta x), 1 on the linear part
        return (
            np.where(linear_part, grad_output, grad_output * stable_sigmoid(scaled)),
        )

    return Tensor._make(out, (input,), backward, "SoftplusBackward", saved(input))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )
    x = input.array
    inside = (x > min_val) & (x < max_val)
    out = np.clip(x, min_val, max_val).astype(x.dtype, copy=False)

    def backward(grad_output):  # 1 strictly inside the interval, 0 at and beyond
        return (grad_output * inside,)

    return Tensor._make(out, (input,), backward, "HardtanhBackward", saved(input))


def mish(input: Tensor) -> Tensor:
    """Mish: x tanh(softplus(x))."""
    require_float(input, "mish")
    x = input.array
    tanh_softplus = np.tanh(np.logaddexp(0, x))

    def backward(grad_output):  # tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)
        s = stable_sigmoid(x)
        return (
            grad_output * (tanh_softplus + x * s * (1 - tanh_softplus * tanh_softplus)),
        )

    return Tensor._make(
        x * tanh_softplus, (input,), backward, "MishBackward", saved(input)
    )


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, a x otherwise, with a learnable slope a per channel (dim 1).

    ``weight`` holds one slope, or one per channel (``input.shape[1]``).
    """
    x, a = input.array, weight.array
    if a.ndim != 1 or (a.size != 1 and (x.ndim < 2 or a.size != x.shape[1])):
        channels = x.shape[1] if x.ndim >= 2 else 1
        raise ValueError(
            f"prelu: weight must hold 1 slope or one per channel ({channels} for "
            f"input of shape {x.shape}), received weight of shape {a.shape}"
        )
    shape = (1, a.size) + (1,) * (x.ndim - 2) if a.size > 1 else ()
    slope = a.reshape(shape)
    positive = x > 0
    out = np.where(positive, x, slope * x)

    def backward(grad_output):  # dx: 1 or a; da: x where x <= 0, summed
        grad_x = np.where(positive, grad_output, slope * grad_output)
        grad_a = unbroadcast(np.where(positive, 0, x * grad_output), slope.shape)
        return grad_x, grad_a.reshape(a.shape)

    return Tensor._make(
        out, (input, weight), backward, "PreluBackward", saved(input, weight)
    )


# ---------------------------------------------------------------------------
# Layer normalisation and embeddings
# ---------------------------------------------------------------------------
def layer_norm(
    input: Tensor,
    normalized_shape: int | tuple[int, ...] | list[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last dims of each sample.

    The mean and (biased) variance are taken over the trailing
    ``normalized_shape`` dims; written with differentiable ops, so its backward
    is the chain rule through them.
    """
    shape = (
        (normalized_shape,)
        if isinstance(normalized_shape, int)
        else tuple(normalized_shape)
    )
    if not shape or input.shape[input.ndim - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} must equal the last dimensions "
            f"of the input, received input of shape {tuple(input.shape)}; pass the "
            "trailing dims to normalise, e.g. LayerNorm(input.shape[-1])"
        )
    require_float(input, "layer_norm")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    mean = input.mean(dim=dims, keepdim=True)
    centered = input - mean
    variance = (centered * centered).mean(dim=dims, keepdim=True)
    out = centered / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """The rows of ``weight`` at the integer indices ``input``: shape input.shape + (dim,).

    The gradient of a row is the sum of the gradients of every place it was
    picked; the ``padding_idx`` row gets none.
    """
    indices = np.asarray(input.array if isinstance(input, Tensor) else input)
    if indices.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: expected integer indices (int64, dg.long), received dtype "
            f"{indices.dtype}; convert them with .long()"
        )
    rows = weight.shape[0]
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        bad = indices[(indices < 0) | (indices >= rows)][0]
        raise IndexError(
            f"embedding: index {bad} is out of range for an Embedding of "
            f"{rows} rows (num_embeddings={rows}); indices must lie in "
            f"[0, {rows - 1}]"
        )
    out = weight.array[indices]

    def backward(grad_output):  # scatter-add each picked row's gradient
        grad_weight = np.zeros_like(weight.array)
        np.add.at(grad_weight, indices, grad_output)
        if padding_idx is not None:
            grad_weight[padding_idx] = 0
        return (grad_weight,)

    return Tensor._make(out, (weight,), backward, "EmbeddingBackward")


# ---------------------------------------------------------------------------
# More losses
# ---------------------------------------------------------------------------
def smooth_l1_loss(
    input: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, with d = input - target."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, received: {beta}")
    if beta == 0:  # torch: plain L1
        return l1_loss(input, target, reduction)
    return _piecewise_quadratic(
        input, target, reduction, beta, 1 / beta, "smooth_l1_loss"
    )


def huber_loss(
    input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0
) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1 times delta."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, received: {delta}")
    return _piecewise_quadratic(input, target, reduction, delta, 1.0, "huber_loss")


def _piecewise_quadratic(
    input: Tensor,
    target: Any,
    reduction: str,
    width: float,
    curvature: float,
    op: str,
) -> Tensor:
    """Quadratic c d^2 / 2 for |d| < width, linear beyond with the same slope.

    smooth_l1: width = beta, c = 1/beta; huber: width = delta, c = 1.
    """
    target = _as_target(target, input)
    _check_reduction(reduction, op)
    _check_same_shape(input, target, op)
    diff = input.array - target.array.astype(input.dtype, copy=False)
    size = np.abs(diff)
    quadratic = size < width
    edge_slope = curvature * width  # 1 for smooth_l1, delta for huber
    loss = np.where(
        quadratic, 0.5 * curvature * diff * diff, edge_slope * (size - 0.5 * width)
    )

    def backward(grad_output):  # c d inside, c width sign(d) outside
        slope = np.where(quadratic, curvature * diff, edge_slope * np.sign(diff))
        grad = slope * _unreduce(grad_output, reduction, diff.size)
        return (
            grad if input._requires_grad else None,
            -grad if target._requires_grad else None,
        )

    name = "SmoothL1LossBackward" if op == "smooth_l1_loss" else "HuberLossBackward"
    return Tensor._make(
        _reduce(loss, reduction).astype(diff.dtype, copy=False),
        (input, target),
        backward,
        name,
        saved(input, target),
    )


def kl_div(
    input: Tensor,
    target: Any,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || q) pointwise from log-probabilities ``input`` = log q.

    loss = t (log t - input), 0 where t = 0; with ``log_target`` the target is
    log t: e^t (t - input). ``reduction='batchmean'`` divides the sum by the
    batch size, the true KL divergence per sample ('mean' divides by every
    element, as torch).
    """
    target = _as_target(target, input)
    if reduction not in (*_REDUCTIONS, "batchmean"):
        raise ValueError(
            "kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', "
            f"received: {reduction!r}"
        )
    _check_same_shape(input, target, "kl_div")
    x = input.array
    t = target.array.astype(x.dtype, copy=False)
    if log_target:
        probability = np.exp(t)
        loss = probability * (t - x)
    else:
        probability = t
        with np.errstate(divide="ignore", invalid="ignore"):
            log_t = np.log(t)
            # xlogy(t, t) - t x: t log t is 0 at t = 0 (nan below 0, as torch)
            loss = np.where(t == 0, 0, t * log_t) - t * x
    batch = x.shape[0] if x.ndim else 1
    if reduction == "batchmean":
        out = np.asarray(loss.sum() / x.dtype.type(batch))
    else:
        out = _reduce(loss, reduction)

    def backward(grad_output):
        if reduction == "batchmean":
            g = grad_output / x.dtype.type(batch)
        else:
            g = _unreduce(grad_output, reduction, x.size)
        grad_x = -probability * g if input._requires_grad else None
        grad_t = None
        if target._requires_grad:  # d/dt: log t + 1 - x, or e^t (t - x + 1)
            grad_t = g * (loss + probability if log_target else log_t + 1 - x)
        return grad_x, grad_t

    return Tensor._make(
        out.astype(x.dtype, copy=False),
        (input, target),
        backward,
        "KlDivBackward",
        saved(target),
    )


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12
) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: unit p-norm vectors (as PyTorch, the
    norm is clamped at ``eps`` so that a zero vector stays zero)."""
    norm = clamp(vector_norm(input, p, dim, keepdim=True), min=eps)
    return div(input, norm)
