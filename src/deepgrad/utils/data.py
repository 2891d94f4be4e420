"""``torch.utils.data`` in deepgrad: datasets, samplers, default_collate, DataLoader.

A ``Dataset`` maps an index to a sample; a sampler says which indices in which
order; a ``BatchSampler`` groups them; ``default_collate`` stacks a batch of
samples into Tensors; the ``DataLoader`` ties them together, with PyTorch's
defaults (``batch_size=1``, ``shuffle=False``). The same loop runs under both
libraries::

    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    for X_batch, y_batch in loader:
        ...

``deepgrad.data.DataLoader`` is this class.
"""

from __future__ import annotations

import bisect
import collections.abc
import copy
import math
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from deepgrad import random as _random
from deepgrad.ops import stack
from deepgrad.tensor import Generator, Tensor, default_generator

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "TensorDataset",
    "default_collate",
    "default_convert",
    "random_split",
]


def _permutation(n: int, generator: Generator | None) -> np.ndarray:
    """``randperm(n)`` from ``generator`` (the default one when None): PyTorch's
    order after the same seed. Every shuffle and split draws through here."""
    return _random.randperm(default_generator() if generator is None else generator, n)


def _check_generator(generator: Any, where: str) -> None:
    if generator is not None and not isinstance(generator, _random.Generator):
        raise TypeError(
            f"{where}: generator must be a dg.Generator, e.g. "
            f"dg.Generator().manual_seed(0), received: {type(generator).__name__}"
        )


def _seed_word(generator: Generator | None) -> int:
    """``torch.empty((), dtype=torch.int64).random_(generator=generator)``: the
    draw torch's DataLoader makes for its base seed on every ``iter()``, and its
    RandomSampler for the seed of an epoch's own Generator."""
    source = default_generator() if generator is None else generator
    return int(_random.random_full(source, (), np.int64))


# ---------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------
class Dataset:
    """A map from an index to a sample; subclasses define ``__getitem__`` and
    ``__len__``. ``a + b`` concatenates two datasets (ConcatDataset)."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} must define __getitem__(self, index)"
        )

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of tensors of equal length: ``dataset[i]`` is
    ``(X[i], y[i])``.

    Parameters
    ----------
    *tensors : Tensor or array_like
        One row per sample each; NumPy arrays become Tensors (sharing memory).

    Raises
    ------
    ValueError
        If the tensors differ in their first dimension, or one is a scalar.

    Example
    -------
    >>> import numpy as np
    >>> dataset = TensorDataset(np.zeros((4, 2)), np.arange(4))
    >>> len(dataset), dataset[1][1]
    (4, tensor(1))
    """

    def __init__(self, *tensors: Any) -> None:
        self.tensors = tuple(
            t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in tensors
        )
        for tensor in self.tensors:
            if tensor.ndim == 0:
                raise ValueError(
                    "TensorDataset: every tensor needs one row per sample, received "
                    "a scalar (0-d) tensor"
                )
        if len({t.shape[0] for t in self.tensors}) > 1:
            raise ValueError(
                "TensorDataset: size mismatch between tensors: their first "
                f"dimensions are {[t.shape[0] for t in self.tensors]}; every tensor "
                "must have one row per sample"
            )

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0] if self.tensors else 0


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets one after another: index ``len(first)`` is the second's sample 0."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        # cumulative_sizes[k]: the samples in datasets[0..k]
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))
        self.cumulative_sizes = [int(size) for size in self.cumulative_sizes]

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError(
                    "ConcatDataset: absolute value of index should not exceed "
                    f"dataset length {len(self)}, received: {index}"
                )
            index = len(self) + index
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if which == 0 else self.cumulative_sizes[which - 1]
        return self.datasets[which][index - start]


def random_split(
    dataset: Any,
    lengths: Sequence[int | float],
    generator: Generator | None = None,
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets, as torch.

    Parameters
    ----------
    lengths : sequence of int or float
        The subsets' sizes, summing to ``len(dataset)``; or fractions summing to
        1, each ``floor(fraction * len(dataset))`` with the remainder handed out
        one sample at a time to the first subsets (torch's rule).
    generator : dg.Generator, optional
        Draws the permutation, ``randperm(len(dataset))`` as torch's does;
        deepgrad's default generator when omitted (so ``dg.manual_seed`` makes
        the split torch's).

    Raises
    ------
    ValueError
        If the lengths do not add up to the dataset's length (or the fractions
        to 1), or one is negative.

    Example
    -------
    >>> train, val = random_split(range(10), [0.8, 0.2])
    >>> len(train), len(val)
    (8, 2)
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(not 0 <= fraction <= 1 for fraction in lengths):
            raise ValueError(
                f"random_split: fractions must lie in [0, 1], received: {list(lengths)}"
            )
        sizes = [int(math.floor(n * fraction)) for fraction in lengths]
        for i in range(n - sum(sizes)):  # the remainder, round-robin
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0. This might "
                    "result in an empty dataset.",
                    stacklevel=2,
                )
        lengths = sizes
    if any(not isinstance(length, int | np.integer) for length in lengths):
        raise ValueError(
            "random_split: lengths must be integers summing to the dataset's length "
            f"({n}) or fractions summing to 1, received: {list(lengths)}"
        )
    if any(length < 0 for length in lengths) or sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths {list(lengths)} does not equal the "
            f"length of the input dataset ({n})"
        )
    _check_generator(generator, "random_split")
    order = _permutation(n, generator)
    indices = order.tolist()
    offsets = np.cumsum([0, *lengths]).tolist()
    return [
        Subset(dataset, indices[start:stop])
        for start, stop in zip(offsets[:-1], offsets[1:], strict=True)
    ]


# ---------------------------------------------------------------------------
# Samplers: which indices, in which order
# ---------------------------------------------------------------------------
class Sampler:
    """An iterable of dataset indices; subclasses define ``__iter__``."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def order(self) -> np.ndarray | None:
        """The epoch's order as an array, or None for the natural order."""
        return None

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new permutation of the indices every epoch (without replacement), the
    one torch's RandomSampler draws after the same seed.

    With ``generator``, each epoch is ``randperm(n, generator)``; without one,
    the epoch first draws a seed from deepgrad's default generator and takes
    ``randperm(n)`` from a new Generator seeded with it, as torch does. Asked
    for an index past the last, torch's sampler draws one more permutation
    (its ``[:num_samples % n]`` line) before it stops: :meth:`exhausted`.
    """

    def __init__(self, data_source: Any, generator: Generator | None = None) -> None:
        _check_generator(generator, "RandomSampler")
        self.data_source = data_source
        self.generator = generator

    def order(self) -> np.ndarray:
        generator = self.generator
        if generator is None:
            generator = Generator().manual_seed(_seed_word(None))
        return _permutation(len(self.data_source), generator)

    def exhausted(self) -> None:
        """The permutation torch draws and throws away at the end of an epoch
        (it only shows in a generator of the sampler's own): its draws, without
        the permutation nobody reads."""
        if self.generator is not None:
            _random.discard_randperm(self.generator, len(self.data_source))

    def __iter__(self) -> Iterator[int]:
        yield from self.order().tolist()
        self.exhausted()

    def __len__(self) -> int:
        return len(self.data_source)


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last one shorter
    unless ``drop_last``."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool):
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int | np.integer)
            or batch_size <= 0
        ):
            raise ValueError(
                "DataLoader: batch_size should be a positive integer value, "
                f"received: batch_size={batch_size!r}"
                + (
                    ". To batch features X and targets y together, pass "
                    "DataLoader(TensorDataset(X, y), batch_size=...)"
                    if isinstance(batch_size, np.ndarray | Tensor | list)
                    else ""
                )
            )
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"DataLoader: drop_last should be a boolean, received: {drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        samples = len(self.sampler)  # type: ignore[arg-type]
        if self.drop_last:
            return samples // self.batch_size
        return math.ceil(samples / self.batch_size)


# ---------------------------------------------------------------------------
# Collation: a list of samples -> one batch
# ---------------------------------------------------------------------------
_COLLATE_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
    "lists; found {}"
)
_STRING_OR_OBJECT = re.compile(r"[SaUO]")


def _collate_arrays(arrays: list[np.ndarray]) -> Tensor:
    if _STRING_OR_OBJECT.search(arrays[0].dtype.str):
        raise TypeError(_COLLATE_ERROR.format(arrays[0].dtype))
    return Tensor(np.stack(arrays))


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Tensors and NumPy arrays are stacked along a new first dimension (keeping
    their dtype); Python floats become a float64 Tensor, ints an int64 one,
    bools a bool one, NumPy scalars a Tensor of their dtype; strings stay a
    list. Dicts are collated key by key, namedtuples field by field, and tuples
    and lists position by position (a tuple sample gives a list, as in torch).

    Raises
    ------
    RuntimeError
        If the sequences in a batch differ in length.
    TypeError
        For any other kind of element.

    Example
    -------
    >>> x, y = default_collate([(1.0, 0), (2.0, 1)])
    >>> x.array.dtype, y.array.dtype, y.shape
    (dtype('float64'), dtype('int64'), dg.Size([2]))
    """
    elem = batch[0]
    elem_type: Any = type(elem)
    if isinstance(elem, Tensor):
        return stack(list(batch))
    if isinstance(elem, np.ndarray):
        return _collate_arrays(list(batch))
    if isinstance(elem, np.bool_ | np.number):
        return Tensor(np.asarray(batch))
    if isinstance(elem, bool):
        return Tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        try:
            return elem_type(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch, strict=False)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal "
                f"size, received sizes {[len(sample) for sample in batch]}"
            )
        columns = [default_collate(samples) for samples in zip(*batch, strict=True)]
        if isinstance(elem, tuple):
            return columns
        if isinstance(elem, collections.abc.MutableSequence):
            sequence = copy.copy(elem)
            for i, column in enumerate(columns):
                sequence[i] = column
            return sequence
        try:
            return elem_type(columns)
        except TypeError:
            return columns
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """One sample with its NumPy arrays as Tensors (``batch_size=None``), as torch."""
    if isinstance(data, np.ndarray):
        if _STRING_OR_OBJECT.search(data.dtype.str):
            return data
        return Tensor(data)
    if isinstance(data, np.bool_ | np.number):
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


# ---------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------
def _records(dataset: Any) -> bool:
    """Whether a batch of ``dataset`` would be recorded in a graph (stacking
    rows of a tensor that requires grad), so it must go through ``stack``."""
    tensors = (
        dataset.tensors
        if isinstance(dataset, TensorDataset)
        else (dataset,)
        if isinstance(dataset, Tensor)
        else ()
    )
    return any(tensor.requires_grad for tensor in tensors)


class DataLoader:
    """Batches of a dataset, one epoch per ``for`` loop, as ``torch.utils.data.DataLoader``.

    Parameters
    ----------
    dataset : Dataset, Tensor or array_like
        Anything with ``__len__`` and ``__getitem__``; a Tensor or array is a
        dataset of its rows. Pair features and targets with
        ``TensorDataset(X, y)``.
    batch_size : int or None
        Samples per batch (default 1, as torch). None turns batching off: each
        sample comes alone, its arrays converted to Tensors.
    shuffle : bool
        A new random order every epoch (default False, as torch).
    sampler, batch_sampler : iterable, optional
        The order of the indices, or of whole batches of indices; exclusive
        with ``shuffle`` (and ``batch_sampler`` with ``batch_size`` and
        ``drop_last``), as torch.
    num_workers : int
        Accepted for code written for torch; deepgrad always loads in the main
        process, which gives the same batches in the same order.
    collate_fn : callable, optional
        Turns a list of samples into a batch; ``default_collate`` when omitted.
    pin_memory : bool
        Accepted and ignored: deepgrad runs on the CPU.
    drop_last : bool
        Skip the last batch when it is smaller than ``batch_size``.
    generator : dg.Generator, optional
        Draws the shuffling order; without one, each epoch's order is seeded from
        deepgrad's default generator, so ``dg.manual_seed`` makes it reproducible.
        Keyword-only here (torch's options between drop_last and generator,
        timeout and worker_init_fn, are not taken).

    Raises
    ------
    ValueError
        For torch's invalid combinations, a batch_size that is not a positive
        integer or None, or a negative num_workers.

    Example
    -------
    >>> import numpy as np
    >>> loader = DataLoader(TensorDataset(np.zeros((10, 2)), np.arange(10)), batch_size=4)
    >>> len(loader), [len(y_batch) for _, y_batch in loader]
    (3, [4, 4, 2])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[Sequence[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[Any], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        *,
        generator: Generator | None = None,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int):
            raise ValueError(
                f"DataLoader: num_workers must be an integer, received: {num_workers!r}"
            )
        if num_workers < 0:
            raise ValueError(
                "DataLoader: num_workers option should be non-negative; use "
                "num_workers=0 to disable multiprocessing"
            )
        _check_generator(generator, "DataLoader")
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader: sampler option is mutually exclusive with shuffle"
            )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "DataLoader: batch_sampler option is mutually exclusive with "
                    "batch_size, shuffle, sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None option disables auto-batching and is "
                "mutually exclusive with drop_last"
            )
        if sampler is None:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.generator = generator
        self.collate_fn = (
            collate_fn
            if collate_fn is not None
            else (default_collate if batch_sampler is not None else default_convert)
        )

    # -- deepgrad's extras, for fit -------------------------------------------
    @property
    def shuffle(self) -> bool:
        """Whether the order of the samples may change from epoch to epoch."""
        if not isinstance(self.sampler, SequentialSampler):
            return True
        return not (
            self.batch_sampler is None or type(self.batch_sampler) is BatchSampler
        )

    def _arrays(self) -> tuple[np.ndarray, ...] | None:
        if isinstance(self.dataset, TensorDataset):
            return tuple(tensor.array for tensor in self.dataset.tensors)
        return None

    @property
    def X(self) -> np.ndarray | None:
        """The features of a ``TensorDataset(X, ...)`` as an array, else None."""
        arrays = self._arrays()
        return arrays[0] if arrays else None

    @property
    def y(self) -> np.ndarray | None:
        """The targets of a ``TensorDataset(X, y)`` as an array, else None."""
        arrays = self._arrays()
        return arrays[1] if arrays is not None and len(arrays) == 2 else None

    @property
    def n_samples(self) -> int:
        return len(self.dataset)

    def get_state(self) -> dict[str, Any] | None:
        """The shuffling generator's state, a JSON-able dict (a copy); None when
        the loader has no generator of its own (its order then comes from
        deepgrad's default generator, whose state fit saves as well)."""
        if self.generator is None:
            return None
        return {"generator": self.generator.get_state().tolist()}

    def set_state(self, state: dict[str, Any] | None) -> None:
        """Restore a state from ``get_state()``: the next epochs repeat exactly.

        Raises
        ------
        ValueError
            If ``state`` is not a state that ``get_state()`` returned.
        """
        if self.generator is None and state is None:
            return
        if (
            self.generator is None
            or not isinstance(state, dict)
            or set(state) != {"generator"}
        ):
            raise ValueError(
                "DataLoader.set_state expects the value DataLoader.get_state() "
                f"returned, received: {state!r}"
            )
        try:
            self.generator.set_state(state["generator"])
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"DataLoader.set_state: not a valid generator state ({error})"
            ) from None

    # -- iteration -----------------------------------------------------------------
    def __len__(self) -> int:
        """Batches per epoch (samples when batch_size is None)."""
        if self.batch_sampler is None:
            return len(self.sampler)  # type: ignore[arg-type]
        return len(self.batch_sampler)  # type: ignore[arg-type]

    # fit's loader over arrays draws nothing when it does not shuffle (then a
    # full-batch fit is a hand-written loop to the bit); torch's always does
    _draws_base_seed = True

    def __iter__(self) -> Iterator[Any]:
        if self._draws_base_seed or self.shuffle:
            _seed_word(self.generator)  # torch's _BaseDataLoaderIter._base_seed
        if self.batch_sampler is None:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        fetch = self._fetcher()
        for indices in self._index_batches():
            yield fetch(indices)

    def _index_batches(self) -> Iterator[Any]:
        """The epoch's batches of indices: slices or arrays when the order is
        known at once (the default samplers), else the batch sampler's lists."""
        batches = self.batch_sampler
        if type(batches) is not BatchSampler or type(batches.sampler) not in (
            SequentialSampler,
            RandomSampler,
        ):
            yield from batches  # type: ignore[misc]
            return
        sampler: Any = batches.sampler
        order = sampler.order()
        n = len(self.dataset)
        size = batches.batch_size
        # torch's sampler runs out (and draws, see RandomSampler.exhausted)
        # while a short last batch fills, else when asked for one more batch
        short_last = not batches.drop_last and n % size != 0
        count = len(batches)
        for number, start in enumerate(range(0, count * size, size)):
            if order is not None and short_last and number == count - 1:
                sampler.exhausted()
            rows = slice(start, min(start + size, n))
            yield rows if order is None else order[rows]
        if order is not None and not short_last:
            sampler.exhausted()

    def _fetcher(self) -> Callable[[Any], Any]:
        """The function from a batch of indices to a batch, chosen once an epoch.

        With default_collate, the rows of a TensorDataset, Tensor or array are
        indexed all at once: the same batch ``default_collate`` would stack
        from single samples, without a Python call per sample.
        """
        dataset = self.dataset
        if self.collate_fn is default_collate and not _records(dataset):
            arrays: list[np.ndarray] | None = None
            if isinstance(dataset, TensorDataset):
                arrays = [tensor.array for tensor in dataset.tensors]
            elif isinstance(dataset, Tensor):
                arrays = [dataset.array]
            elif isinstance(dataset, np.ndarray) and dataset.dtype.kind in "biuf":
                arrays = [dataset]
            if arrays is not None:
                rows_of = arrays

                def fetch_rows(indices: Any) -> Any:
                    if not isinstance(indices, slice | np.ndarray):
                        indices = np.asarray(indices)
                    if isinstance(indices, slice) or indices.dtype.kind not in "iu":
                        batch = [Tensor(array[indices]) for array in rows_of]
                    else:  # take: the rows of array[indices] (a new array), faster
                        batch = [Tensor(array.take(indices, 0)) for array in rows_of]
                    return batch if isinstance(dataset, TensorDataset) else batch[0]

                return fetch_rows

        def fetch_samples(indices: Any) -> Any:
            if isinstance(indices, slice):
                indices = range(indices.start, indices.stop)
            return self.collate_fn([dataset[int(i)] for i in indices])

        return fetch_samples

    def __repr__(self) -> str:
        return (
            f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last})"
        )
