"""DataLoader: the batches of one epoch, reshuffled every epoch by its own generator.

``batch_size=1`` gives the per-sample (stochastic) updates of the lab's
pseudocode, an integer gives mini-batches and ``"full"`` (or None) the whole set
for full-batch gradient descent. The shuffling generator's state is exposed
(``get_state``/``set_state``, JSON-able), so a run resumed from a checkpoint
draws exactly the batches the uninterrupted run would have drawn.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from deepgrad.tensor import Tensor, default_generator, get_default_dtype


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


class DataLoader:
    """Iterate over ``(X_batch, y_batch)`` Tensors, one epoch per ``for`` loop.

    Parameters
    ----------
    X : array_like or Tensor
        Features, one row per sample. Integer features are converted to float32;
        float arrays keep their dtype.
    y : array_like or Tensor, optional
        Targets, as many rows as ``X``: integer class indices (kept as int64) or
        floats. When omitted, batches are ``(X_batch, None)``.
    batch_size : int, "full" or None
        Samples per batch; ``"full"`` or None puts the whole set in one batch.
    shuffle : bool
        Draw a new order of the samples at the start of every epoch. A single
        batch holding every sample is never permuted: the order inside it does
        not change the gradient, and keeping it makes full-batch training
        reproduce a hand-written loop to the last bit.
    seed : int, optional
        Seed of this loader's own ``np.random.Generator``. Without one, the
        seed is drawn from deepgrad's generator, so ``dg.manual_seed`` makes the
        order reproducible too.
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
    >>> import numpy as np
    >>> loader = DataLoader(np.zeros((10, 2)), np.arange(10), batch_size=4, seed=0)
    >>> len(loader), [len(y_batch) for _, y_batch in loader]
    (3, [4, 4, 2])
    """

    def __init__(
        self,
        X: Any,
        y: Any = None,
        batch_size: int | str | None = 32,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self.X = _features(X)
        self.y = None if y is None else _targets(y)
        n_samples = len(self.X)
        if n_samples == 0:
            raise ValueError("DataLoader: X has no samples; pass at least one row")
        if self.y is not None and len(self.y) != n_samples:
            raise ValueError(
                f"DataLoader: X and y must have the same number of samples, "
                f"received {n_samples} and {len(self.y)}"
            )
        if batch_size is None or batch_size == "full":
            batch_size = n_samples
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(
                "DataLoader: batch_size must be a positive integer, 'full' or None, "
                f"received: {batch_size!r}"
            )
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if seed is None:
            seed = int(default_generator().integers(2**63))
        self._generator = np.random.default_rng(seed)

    @property
    def n_samples(self) -> int:
        return len(self.X)

    def __len__(self) -> int:
        """Batches per epoch."""
        if self.drop_last:
            return self.n_samples // self.batch_size
        return math.ceil(self.n_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor | None]]:
        if self.shuffle and self.batch_size < self.n_samples:
            order: np.ndarray | None = self._generator.permutation(self.n_samples)
        else:
            order = None
        for batch in range(len(self)):
            start = batch * self.batch_size
            rows: slice | np.ndarray = slice(start, start + self.batch_size)
            if order is not None:
                rows = order[rows]
            y_batch = None if self.y is None else Tensor(self.y[rows])
            yield Tensor(self.X[rows]), y_batch

    def get_state(self) -> dict[str, Any]:
        """The shuffling generator's state, a JSON-able dict (a copy)."""
        return copy.deepcopy(dict(self._generator.bit_generator.state))

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state from ``get_state()``: the next epochs repeat exactly.

        Raises
        ------
        ValueError
            If ``state`` is not a state that ``get_state()`` returned.
        """
        bit_generator = self._generator.bit_generator
        if (
            not isinstance(state, dict)
            or state.get("bit_generator") != type(bit_generator).__name__
        ):
            raise ValueError(
                "DataLoader.set_state expects the dict DataLoader.get_state() "
                f"returned, received: {state!r}"
            )
        try:
            bit_generator.state = copy.deepcopy(state)
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(
                f"DataLoader.set_state: not a valid generator state ({error}): "
                f"{state!r}"
            ) from None

    def __repr__(self) -> str:
        return (
            f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
