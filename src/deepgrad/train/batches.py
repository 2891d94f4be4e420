"""The data fit trains on: DataLoaders from arrays, Datasets or loaders, the
validation split, and the mean loss and accuracy over a loader.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.nn.module import Module
from deepgrad.tensor import Tensor, no_grad
from deepgrad.train.targets import (
    LossKind,
    count_correct,
    has_accuracy,
    match_target,
    scalar_loss,
)

# Validation and prediction run in chunks of this many samples.
EVAL_BATCH_SIZE = 1024


def data_loader_class() -> type:
    from deepgrad.data.loader import DataLoader

    return DataLoader


def xy_arrays(data: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) arrays from an (X, y) tuple, a Dataset or a DataLoader."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
    elif hasattr(data, "X") and hasattr(data, "y"):
        X, y = data.X, data.y
    else:
        raise TypeError(
            f"fit: {what} must be an (X, y) tuple, a Dataset or a DataLoader, "
            f"received: {type(data).__name__}"
        )
    if y is None:
        raise ValueError(f"fit: {what} has no targets y; training needs (X, y)")
    return (
        X.data if isinstance(X, Tensor) else np.asarray(X),
        y.data if isinstance(y, Tensor) else np.asarray(y),
    )


def split_off_validation(
    X: np.ndarray, y: np.ndarray, fraction: float, stratify: bool, seed: int | None
) -> tuple[Any, Any]:
    """(train, validation): a seeded split, stratified for class labels."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"fit: a validation fraction must be between 0 and 1, received: {fraction}"
        )
    from deepgrad.data.preprocessing import train_val_test_split

    split = train_val_test_split(
        X,
        y,
        val=fraction,
        test=0.0,
        stratify=stratify,
        seed=0 if seed is None else seed,
    )
    return split.train, split.val


def evaluation_loader(X: Any, y: Any) -> Any:
    return data_loader_class()(X, y, batch_size=EVAL_BATCH_SIZE, shuffle=False, seed=0)


def prepare_data(
    train_data: Any,
    validation: Any,
    batch_size: int | str | None,
    shuffle: bool,
    seed: int | None,
    kind: LossKind | None,
) -> tuple[Any, Any]:
    """The training DataLoader and the validation one (or None)."""
    DataLoader = data_loader_class()
    if isinstance(validation, bool):
        raise TypeError(
            "fit: validation must be an (X, y) tuple, a Dataset or a fraction, "
            f"received: {validation!r}"
        )
    if isinstance(train_data, DataLoader):
        if isinstance(validation, float):
            raise ValueError(
                "fit: a validation fraction cannot be split off a DataLoader; pass "
                "validation=(X_val, y_val), or the training data as (X, y)"
            )
        loader = train_data
    else:
        X, y = xy_arrays(train_data, "train_data")
        if isinstance(validation, float):
            (X, y), validation = split_off_validation(
                X, y, validation, has_accuracy(kind), seed
            )
        loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if validation is None:
        return loader, None
    return loader, evaluation_loader(*xy_arrays(validation, "validation"))


def evaluate_loader(
    model: Module, loss_fn: Any, kind: LossKind | None, loader: Any, accuracy: bool
) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) over a loader, in eval mode without gradients."""
    was_training = model.training
    model.eval()
    loss_sum = 0.0
    correct = counted = seen = 0
    try:
        with no_grad():
            for X_batch, y_batch in loader:
                output = model(X_batch)
                target = match_target(kind, output, y_batch)
                loss_sum += scalar_loss(loss_fn(output, target)) * len(X_batch)
                seen += len(X_batch)
                if accuracy and kind is not None:
                    batch_correct, batch_counted = count_correct(
                        kind, output.data[None], target.data
                    )
                    correct += int(batch_correct[0])
                    counted += batch_counted
    finally:
        model.train(was_training)
    return loss_sum / seen, (correct / counted if accuracy else None)
