"""The DataLoader, and the one fit builds from arrays.

``DataLoader`` is ``deepgrad.utils.data.DataLoader``, PyTorch's: one loader,
with torch's defaults (``batch_size=1``, ``shuffle=False``). ``array_loader``
is fit's way to it from arrays: features as floats, labels as int64,
``batch_size="full"`` for full-batch gradient descent and a seeded generator
whose state a checkpoint saves, so a resumed run draws exactly the batches the
uninterrupted run would have drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.tensor import Generator, Tensor, get_default_dtype
from deepgrad.utils.data import DataLoader, TensorDataset

__all__ = ["DataLoader", "TensorDataset", "array_loader"]


def _as_array(data: Any, name: str) -> np.ndarray:
    array = data.array if isinstance(data, Tensor) else np.asarray(data)
    if array.ndim == 0:
        raise ValueError(
            f"DataLoader: {name} must have one row per sample, received a scalar: "
            f"{array!r}"
        )
    return array


def _features(data: Any) -> np.ndarray:
    """X as floats: integer or boolean features (e.g. IDX pixels) become float32."""
    array = _as_array(data, "X")
    if array.dtype.kind == "f":
        return array
    if array.dtype.kind in "biu":
        return array.astype(get_default_dtype())
    raise TypeError(
        f"DataLoader: X must hold numbers, received dtype {array.dtype}; convert "
        "text columns to numbers first (deepgrad.data.load_csv does this)"
    )


def _targets(data: Any) -> np.ndarray:
    """y as int64 class indices, or floats for regression and probability targets."""
    array = _as_array(data, "y")
    if array.dtype.kind in "biu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f":
        return array
    raise TypeError(
        f"DataLoader: y must hold class indices or numbers, received dtype "
        f"{array.dtype}; map labels to indices 0..C-1 first (deepgrad.data.load_csv "
        "and deepgrad.train.Classifier do this)"
    )


def array_loader(
    X: Any,
    y: Any = None,
    batch_size: int | str | None = 32,
    shuffle: bool = False,
    seed: int | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader over ``TensorDataset(X, y)`` (or ``TensorDataset(X)``), as fit uses.

    Parameters
    ----------
    X : array_like or Tensor
        Features, one row per sample; integer features become float32, float
        arrays keep their dtype.
    y : array_like or Tensor, optional
        Targets: integer class indices (as int64) or floats.
    batch_size : int, "full" or None
        Samples per batch; ``"full"`` or None puts the whole set in one batch.
    shuffle : bool
        A new order every epoch. A single batch holding every sample is never
        permuted: the order inside it does not change the gradient, and keeping
        it makes full-batch training reproduce a hand-written loop to the bit.
    seed : int, optional
        Seeds the loader's own ``dg.Generator``, as PyTorch's
        ``DataLoader(..., generator=torch.Generator().manual_seed(seed))``;
        without one every shuffled epoch draws from the default generator, as
        PyTorch's DataLoader does, so after ``dg.manual_seed`` the orders are
        PyTorch's. A loader that does not shuffle draws nothing.
    drop_last : bool
        Skip the last batch of an epoch when it is smaller than ``batch_size``.

    Raises
    ------
    ValueError
        If ``X`` is empty, ``X`` and ``y`` differ in length, or ``batch_size``
        is not a positive integer, "full" or None.
    TypeError
        If ``X`` or ``y`` does not hold numbers.

    Example
    -------
    >>> loader = array_loader(np.zeros((10, 2)), np.arange(10), batch_size=4)
    >>> len(loader), [len(y_batch) for _, y_batch in loader]
    (3, [4, 4, 2])
    """
    features = _features(X)
    n_samples = len(features)
    if n_samples == 0:
        raise ValueError("DataLoader: X has no samples; pass at least one row")
    tensors = [features]
    if y is not None:
        targets = _targets(y)
        if len(targets) != n_samples:
            raise ValueError(
                f"DataLoader: X and y must have the same number of samples, "
                f"received {n_samples} and {len(targets)}"
            )
        tensors.append(targets)
    if batch_size is None or batch_size == "full":
        batch_size = n_samples
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise ValueError(
            "DataLoader: batch_size must be a positive integer, 'full' or None, "
            f"received: {batch_size!r}"
        )
    return _ArrayLoader(
        TensorDataset(*tensors),
        batch_size=int(batch_size),
        shuffle=bool(shuffle) and batch_size < n_samples,
        drop_last=bool(drop_last),
        generator=None if seed is None else Generator().manual_seed(seed),
    )


class _ArrayLoader(DataLoader):
    """fit's loader: it draws nothing from a generator when it does not shuffle
    (PyTorch's draws a base seed on every ``iter()``), so full-batch training
    repeats a hand-written loop to the bit, random draws included."""

    _draws_base_seed = False
