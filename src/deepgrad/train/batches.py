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


def array_loader(*args: Any, **kwargs: Any) -> Any:
    """``deepgrad.data.loader.array_loader``: fit's DataLoader over arrays."""
    from deepgrad.data.loader import array_loader

    return array_loader(*args, **kwargs)


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
        X.array if isinstance(X, Tensor) else np.asarray(X),
        y.array if isinstance(y, Tensor) else np.asarray(y),
    )


def _first_bad_value(array: np.ndarray, limit: float | None) -> tuple[int, ...] | None:
    """The index of the first value that is not finite or beyond +-limit, or None."""
    if array.dtype.kind != "f" or array.size == 0:
        return None
    # a pass or two over the data answers for almost all of it, without a copy
    with np.errstate(over="ignore", invalid="ignore"):
        if limit is None:
            # NaN and inf survive any sum, so finite column sums (in the array's
            # own dtype; rows added as vectors, the fastest pass) prove every
            # value finite; an infinite one may be finite values overflowing,
            # and the search below tells
            if np.isfinite(np.add.reduce(array, axis=0)).all():
                return None
        # NaN survives max and min, and any value beyond +-limit shows in one
        elif -limit <= float(np.min(array)) and float(np.max(array)) <= limit:
            return None
    bad = ~np.isfinite(array)
    if limit is not None:
        with np.errstate(invalid="ignore"):
            bad |= np.abs(array) > limit
    found = np.argwhere(bad)
    return None if len(found) == 0 else tuple(int(i) for i in found[0])


def check_values(
    X: np.ndarray,
    y: np.ndarray | None,
    what: str,
    dtype: np.dtype,
    feature_names: list[str] | None = None,
) -> None:
    """Refuse data no learning rate can train on, before training starts.

    A value that is NaN or infinite, or too large for the model's floating
    dtype (a CSV cell of 1e308 is inf in float32), would otherwise surface
    epochs later as a non-finite loss and be blamed on the learning rate.

    Raises
    ------
    ValueError
        Naming the array, the row and the column (by name when known).
    """
    limit = None
    if dtype.kind == "f" and X.dtype.kind == "f" and X.dtype.itemsize > dtype.itemsize:
        limit = float(np.finfo(dtype).max)
    for name, array, array_limit in (("X", X, limit), ("y", y, None)):
        if array is None:
            continue
        index = _first_bad_value(array, array_limit)
        if index is None:
            continue
        value = array[index]
        row, column = index[0], index[1:]
        place = f"row {row}"
        if name == "X" and len(column) == 1:
            label = (
                repr(feature_names[column[0]])
                if feature_names is not None and len(feature_names) == X.shape[1]
                else str(column[0])
            )
            place += f", column {label}"
        elif column:
            place += f", position {column}"
        problem = (
            f"{value}, which is not a finite number"
            if not np.isfinite(value)
            else f"{value}, too large for {dtype} (the model's dtype): it would be inf"
        )
        raise ValueError(
            f"fit: the {what} data's {name} holds {problem} at {place} (rows and "
            "columns count from 0); fix or drop that value before training"
        )


def model_dtype(model: Module) -> np.dtype:
    """The floating dtype of the model's parameters (float32 when it has none)."""
    for param in model.parameters():
        if param.array.dtype.kind == "f":
            return param.array.dtype
    return np.dtype(np.float32)


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
    return array_loader(X, y, batch_size=EVAL_BATCH_SIZE, shuffle=False, seed=0)


def prepare_data(
    train_data: Any,
    validation: Any,
    batch_size: int | str | None,
    shuffle: bool,
    seed: int | None,
    kind: LossKind | None,
    dtype: np.dtype,
) -> tuple[Any, Any]:
    """The training DataLoader and the validation one (or None), their values
    checked for the model's ``dtype``."""
    DataLoader = data_loader_class()
    if isinstance(validation, bool):
        raise TypeError(
            "fit: validation must be an (X, y) tuple, a Dataset or a fraction, "
            f"received: {validation!r}"
        )
    names = getattr(train_data, "feature_names", None)
    if isinstance(train_data, DataLoader):
        if isinstance(validation, float):
            raise ValueError(
                "fit: a validation fraction cannot be split off a DataLoader; pass "
                "validation=(X_val, y_val), or the training data as (X, y)"
            )
        loader = train_data
        if loader.y is None:
            raise TypeError(
                "fit: a DataLoader to train on must load a TensorDataset(X, y) of "
                f"features and targets, received one over {type(loader.dataset).__name__}"
            )
        check_values(loader.X, loader.y, "training", dtype)
    else:
        X, y = xy_arrays(train_data, "train_data")
        check_values(X, y, "training", dtype, names)
        if isinstance(validation, float):
            (X, y), validation = split_off_validation(
                X, y, validation, has_accuracy(kind), seed
            )
        loader = array_loader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if validation is None:
        return loader, None
    X_val, y_val = xy_arrays(validation, "validation")
    if not isinstance(validation, float):
        check_values(
            X_val,
            y_val,
            "validation",
            dtype,
            getattr(validation, "feature_names", names),
        )
    return loader, evaluation_loader(X_val, y_val)


def batch_targets(loader: Any) -> np.ndarray | None:
    """The targets whose rows every batch of ``loader`` holds: y of a
    ``TensorDataset(X, y)`` batched by ``default_collate``; None for any other
    loader, whose batches may hold other values."""
    from deepgrad.utils.data import TensorDataset, default_collate

    dataset = getattr(loader, "dataset", None)
    if (
        type(dataset) is not TensorDataset
        or len(dataset.tensors) != 2
        or getattr(loader, "collate_fn", None) is not default_collate
    ):
        return None
    return dataset.tensors[1].array


def starting_loss(
    model: Module, loss_fn: Any, kind: LossKind | None, loader: Any
) -> float:
    """The loss at the current weights on the loader's first rows (up to
    EVAL_BATCH_SIZE), in eval mode, without iterating the loader: no generator
    is drawn from, so training goes on exactly as without it."""
    first_rows = (
        Tensor(loader.X[:EVAL_BATCH_SIZE]),
        Tensor(loader.y[:EVAL_BATCH_SIZE]),
    )
    loss, _ = evaluate_loader(model, loss_fn, kind, [first_rows], accuracy=False)
    return loss


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
                        kind, output.array[None], target.array
                    )
                    correct += int(batch_correct[0])
                    counted += batch_counted
    finally:
        model.train(was_training)
    return loss_sum / seen, (correct / counted if accuracy else None)
