"""``deepgrad.nn.functional`` (import as ``F``): activations, linear, dropout, losses.

The losses are fused ops: each computes its value and writes its gradient in
closed form (e.g. dL/dz = softmax(z) - onehot(y) for cross-entropy on logits),
which is both faster and more stable than chaining log, softmax and mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.ops import (
    gelu,
    leaky_relu,
    linear,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from deepgrad.ops._common import lift, saved
from deepgrad.ops.activations import log_softmax_array, stable_sigmoid
from deepgrad.tensor import Tensor, constant, default_generator

__all__ = [
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "gelu",
    "softmax",
    "log_softmax",
    "dropout",
    "one_hot",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
]

_REDUCTIONS = ("mean", "sum", "none")
# torch's EPSILON for the BCE gradient is a C float: float32(1e-12) = 9.99999996e-13
_BCE_EPSILON = float(np.float32(1e-12))
# min(p, 1 - p) above this bound: log p and log(1 - p) are both above -100
# (e^-100 = 3.7e-44), so BCE's clamp would change nothing
_UNCLAMPED = 4e-44


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be between 0 and 1, received: {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = default_generator().random(input.shape) >= p
    scale = (keep / (1.0 - p)).astype(input.dtype)
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
            f"shape {input.shape}"
        )
    axes = (0,) if input.ndim == 2 else (0, 2)
    shape = (1, input.shape[1]) + ((1,) if input.ndim == 3 else ())
    count = input.array.size // input.shape[1]
    if training:
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, "
                f"received input of shape {input.shape}"
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
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: input has shape {input.shape} but target has shape "
            f"{target.shape}; they must be equal. (A common cause: predictions of "
            "shape (N, 1) against labels of shape (N,); reshape one of them.)"
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
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if labels.shape != expected:
        raise ValueError(
            f"{op}: input of shape {input.shape} needs class-index targets of shape "
            f"{expected}, received {labels.shape}. (Targets are integer labels, one "
            "per sample; for one-hot or probability targets pass a float tensor of "
            "the input's shape.)"
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
) -> Tensor:
    """Softmax cross-entropy on raw scores (logits), fused.

    Targets are class indices (integers, shape (N,)) or class probabilities
    (floats, the input's shape). With indices, ``dL/dz = softmax(z) - onehot(y)``
    per sample (times its class weight, divided by the weights' sum for 'mean').
    """
    _check_reduction(reduction, "cross_entropy")
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
        out = _reduce_rows(losses, reduction, denominator, logits.shape)

        def backward(grad_output):
            coef = _row_coefficients(grad_output, reduction, denominator, row_weight)
            grad_rows = np.exp(log_probs)
            grad_rows[np.arange(labels.shape[0]), np.where(valid, labels, 0)] -= 1
            return (_class_first(grad_rows * coef[:, None], logits.shape), None)

        # the labels pick the rows' gradients
        return Tensor._make(
            out, (input, target), backward, "CrossEntropyBackward", saved(target)
        )

    _check_same_shape(input, target, "cross_entropy")
    probs = _class_last(target.array.astype(logits.dtype, copy=False))
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
        if target._requires_grad:  # dL/dt = -w log softmax(z)
            grad = -log_probs if w is None else -log_probs * w
            grad_t = _class_first(grad * coef[:, None], logits.shape)
        return grad_z, grad_t

    return Tensor._make(
        out,
        (input, target),
        backward_soft,
        "CrossEntropyBackward",
        saved(target, weight),
    )


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
