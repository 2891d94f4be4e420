"""What each loss means: its targets, its accuracy, its probabilities.

The fit loop, its back-to-back blocks, the Classifier and ``explain`` read a
loss through its :class:`LossKind`: whether its targets are class indices, the
threshold that turns an output into a class, and how outputs become
probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from deepgrad import nn
from deepgrad.nn.module import Module
from deepgrad.ops import exp, sigmoid, softmax
from deepgrad.tensor import Tensor


class LossKind(NamedTuple):
    name: str  # the loss class's name, as Classifier.loss_name and model files give it
    index_targets: bool  # class indices (N,) rather than one value per output
    threshold: float | None  # an output above it predicts class 1 (binary losses)
    probability: Callable[[Tensor], Tensor] | None  # output -> class probabilities


def _softmax_last(logits: Tensor) -> Tensor:
    return softmax(logits, dim=-1)


# BCELoss reads probabilities (class 1 when p > 0.5), BCEWithLogitsLoss logits
# (z > 0, the same decision since sigmoid(0) = 0.5); CrossEntropyLoss and
# NLLLoss predict the argmax.
_LOSS_KINDS: dict[type[Module], LossKind] = {
    nn.BCELoss: LossKind("BCELoss", False, 0.5, lambda output: output),
    nn.BCEWithLogitsLoss: LossKind("BCEWithLogitsLoss", False, 0.0, sigmoid),
    nn.CrossEntropyLoss: LossKind("CrossEntropyLoss", True, None, _softmax_last),
    nn.NLLLoss: LossKind("NLLLoss", True, None, exp),
    nn.MSELoss: LossKind("MSELoss", False, None, None),
    nn.L1Loss: LossKind("L1Loss", False, None, None),
}
LOSSES: dict[str, type[Module]] = {
    kind.name: loss_class for loss_class, kind in _LOSS_KINDS.items()
}


def loss_kind(loss_fn: Any) -> LossKind | None:
    """The kind of a known loss (subclasses included); None for a custom loss."""
    for loss_class, kind in _LOSS_KINDS.items():
        if isinstance(loss_fn, loss_class):
            return kind
    return None


def has_accuracy(kind: LossKind | None) -> bool:
    return kind is not None and (kind.index_targets or kind.threshold is not None)


def match_target(kind: LossKind | None, output: Tensor, target: Tensor) -> Tensor:
    """The target as the loss expects it, from what a Dataset or a user holds.

    Class indices stay int64 of shape (N,); a loss with one value per output
    (BCE, MSE, L1) gets the output's dtype and shape, so int64 labels (N,) meet
    a (N, 1) sigmoid output. Targets of custom losses pass unchanged.
    """
    if kind is None:
        return target
    values = target_array(kind, target.array, output.shape, output.dtype)
    return target if values is target.array else Tensor(values)


def target_array(
    kind: LossKind, values: np.ndarray, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """match_target on arrays, for an output of ``shape`` and ``dtype``."""
    if kind.index_targets:
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim == 1 and values.dtype.kind == "f":
            values = values.astype(np.int64)
    else:
        values = values.astype(dtype, copy=False)
        if values.shape != shape and values.size == int(np.prod(shape)):
            values = values.reshape(shape)
    return values


def count_correct(
    kind: LossKind, outputs: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, int]:
    """(correct predictions in each row of ``outputs``, predictions per row).

    ``outputs`` holds one or more outputs for the same targets along a first
    axis: the epochs of a block run back to back, or ``output[None]``.
    """
    if kind.threshold is not None:
        correct = (outputs > kind.threshold) == (target > 0.5)
        counted = target.size
    else:
        labels = target.argmax(axis=1) if target.ndim == 2 else target  # probabilities
        correct = outputs.argmax(axis=-1) == labels
        counted = len(labels)
    if len(outputs) == 1:  # fit's every batch: a count without an axis is cheaper
        return np.array([np.count_nonzero(correct)]), counted
    return np.count_nonzero(correct.reshape(len(outputs), -1), axis=1), counted


def scalar_loss(loss: Any) -> float:
    if not isinstance(loss, Tensor) or loss.array.size != 1:
        shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(
            f"fit: the loss function must return a scalar Tensor, received: {shape}; "
            "use reduction='mean' (or 'sum')"
        )
    return float(loss.array)
