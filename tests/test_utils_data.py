"""deepgrad.utils.data against torch.utils.data (issue 14, item 1).

The same datasets go through both libraries' DataLoaders, default_collate,
random_split, Subset and ConcatDataset; batches must have the same structure
(lists, dicts, namedtuples), values and dtypes. Shuffled orders come from
deepgrad's own generator, so they are checked as permutations that are
reproducible, not as torch's orders.
"""

from __future__ import annotations

import doctest
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
from deepgrad import nn
from deepgrad.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

torch = pytest.importorskip("torch")
tdata = torch.utils.data
oracle = settings(max_examples=25, deadline=None)

Point = namedtuple("Point", ["x", "label"])


def assert_same_batch(ours, theirs) -> None:
    """Same nesting (list/tuple/dict/namedtuple), tensors of equal values and dtypes."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, dg.Tensor), type(ours)
        assert ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (
            ours.dtype,
            theirs.dtype,
        )
        np.testing.assert_array_equal(ours.array, theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for key in theirs:
            assert_same_batch(ours[key], theirs[key])
    elif isinstance(theirs, list | tuple):
        assert type(ours) is type(theirs), (type(ours), type(theirs))
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs, strict=True):
            assert_same_batch(mine, reference)
    else:
        assert ours == theirs


class Squares(Dataset):
    """A map-style dataset of dicts, as tutorials write them."""

    def __len__(self):
        return 7

    def __getitem__(self, index):
        return {"x": np.array([index, index**2], dtype=np.float32), "y": index % 2}


class TorchSquares(tdata.Dataset):
    __len__ = Squares.__len__
    __getitem__ = Squares.__getitem__


# ---------------------------------------------------------------------------
# default_collate
# ---------------------------------------------------------------------------
SAMPLES = {
    "python floats and ints": [(1.5, 2), (2.5, 3)],
    "bools": [True, False, True],
    "numpy scalars": [np.float32(1.5), np.float32(2.0)],
    "numpy int scalars": [np.int32(1), np.int32(7)],
    "numpy arrays": [np.arange(3, dtype=np.float64), np.ones(3)],
    "int arrays": [np.arange(3, dtype=np.int16), np.arange(3, dtype=np.int16)],
    "dicts": [{"a": 1.0, "b": np.zeros(2)}, {"a": 2.0, "b": np.ones(2)}],
    "nested lists": [[1, [2.0, 3.0]], [4, [5.0, 6.0]]],
    "namedtuples": [Point(np.ones(2), 0), Point(np.zeros(2), 1)],
    "strings": [("cat", 1), ("dog", 0)],
}


@pytest.mark.parametrize("name", SAMPLES)
def test_default_collate_gives_torchs_structure_values_and_dtypes(name):
    """Floats -> float64, ints -> int64, bools -> bool, NumPy keeps its dtype,
    tuples -> lists, dicts key by key, namedtuples field by field, strings as a
    list: exactly torch's default_collate."""
    samples = SAMPLES[name]
    torch_samples = samples  # torch's collate reads the same Python/NumPy objects
    assert_same_batch(default_collate(samples), tdata.default_collate(torch_samples))


def test_default_collate_stacks_deepgrad_tensors_and_keeps_the_graph():
    """Tensors are stacked along a new first dim, differentiably (as torch.stack)."""
    rows = [dg.tensor([1.0, 2.0], requires_grad=True), dg.tensor([3.0, 4.0])]
    batch = default_collate(rows)
    assert batch.shape == (2, 2)
    (batch * dg.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(rows[0].grad.array, [1.0, 2.0])


def test_default_collate_rejects_ragged_sequences_and_unknown_types():
    """Sequences of different lengths are a RuntimeError; other objects a
    TypeError naming what was found, as torch."""
    with pytest.raises(RuntimeError, match="each element in list of batch should be"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])


# ---------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------
def test_defaults_are_torchs_batch_size_1_in_order():
    """DataLoader(dataset) yields one sample a batch, in order, each as torch's
    list [x, y]: the defaults batch_size=1, shuffle=False, drop_last=False."""
    X, y = np.arange(8.0).reshape(4, 2), np.arange(4)
    ours = DataLoader(TensorDataset(X, y))
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(X), torch.tensor(y)))
    assert ours.batch_size == theirs.batch_size == 1 and not ours.drop_last
    assert len(ours) == len(theirs) == 4
    for mine, reference in zip(ours, theirs, strict=True):
        assert_same_batch(mine, reference)


@oracle
@given(
    n=st.integers(1, 30),
    batch_size=st.integers(1, 12),
    drop_last=st.booleans(),
)
def test_batches_and_length_match_torch_for_any_size(n, batch_size, drop_last):
    """len(loader), the size and content of every batch equal torch's, with
    and without drop_last."""
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    ours = DataLoader(TensorDataset(X), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(
        tdata.TensorDataset(torch.tensor(X)), batch_size=batch_size, drop_last=drop_last
    )
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert len(batches) == len(ours)
    for mine, reference in zip(batches, theirs, strict=True):
        assert_same_batch(mine, reference)


def test_a_dataset_of_dicts_is_collated_like_torch():
    """A map-style Dataset returning dicts gives torch's dict batches."""
    ours = DataLoader(Squares(), batch_size=3)
    theirs = tdata.DataLoader(TorchSquares(), batch_size=3)
    assert ours.dataset.__class__ is Squares
    for mine, reference in zip(ours, theirs, strict=True):
        assert_same_batch(mine, reference)


def test_an_array_or_tensor_is_a_dataset_of_its_rows():
    """DataLoader(X) iterates over the rows of X, as torch's DataLoader(tensor)."""
    X = np.arange(10, dtype=np.int64).reshape(5, 2)
    theirs = list(tdata.DataLoader(torch.tensor(X), batch_size=2))
    for dataset in (X, dg.tensor(X)):
        for mine, reference in zip(
            DataLoader(dataset, batch_size=2), theirs, strict=True
        ):
            assert_same_batch(mine, reference)


def test_the_old_data_loader_x_y_call_is_a_clear_error():
    """DataLoader(X, y) (deepgrad's old signature) would pass y as batch_size:
    it is a ValueError that says to wrap them in TensorDataset."""
    X, y = np.zeros((4, 2)), np.arange(4)
    with pytest.raises(ValueError, match=r"TensorDataset\(X, y\)"):
        DataLoader(X, y)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "full", True])
def test_bad_batch_size_is_a_value_error_naming_it(batch_size):
    """batch_size must be a positive integer (or None), as torch."""
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(TensorDataset(np.zeros((3, 1))), batch_size=batch_size)


def test_shuffle_draws_a_new_permutation_every_epoch_from_its_generator():
    """shuffle=True: every epoch is a permutation, epochs differ, and the same
    generator seed repeats the orders; without a generator, dg.manual_seed does."""
    y = np.arange(20)

    def epochs(**kwargs):
        loader = DataLoader(TensorDataset(y), batch_size=5, shuffle=True, **kwargs)
        return [np.concatenate([batch.array for (batch,) in loader]) for _ in range(3)]

    first = epochs(generator=dg.Generator().manual_seed(4))
    assert all(sorted(order) == list(range(20)) for order in first)
    assert not np.array_equal(first[0], first[1])
    np.testing.assert_array_equal(first, epochs(generator=dg.Generator().manual_seed(4)))
    dg.manual_seed(3)
    seeded = epochs()
    dg.manual_seed(3)
    np.testing.assert_array_equal(seeded, epochs())


def test_samplers_and_batch_samplers_choose_the_order_as_in_torch():
    """sampler= and batch_sampler= give torch's batches for the same index orders."""
    X = np.arange(12.0).reshape(6, 2)
    ours_ds, theirs_ds = TensorDataset(X), tdata.TensorDataset(torch.tensor(X))
    order = [5, 0, 3, 1, 4, 2]
    pairs = [
        (
            DataLoader(ours_ds, batch_size=4, sampler=order),
            tdata.DataLoader(theirs_ds, batch_size=4, sampler=order),
        ),
        (
            DataLoader(ours_ds, batch_sampler=[[1, 2], [0], [5, 4, 3]]),
            tdata.DataLoader(theirs_ds, batch_sampler=[[1, 2], [0], [5, 4, 3]]),
        ),
        (
            DataLoader(
                ours_ds, batch_sampler=BatchSampler(SequentialSampler(X), 4, True)
            ),
            tdata.DataLoader(
                theirs_ds,
                batch_sampler=tdata.BatchSampler(tdata.SequentialSampler(X), 4, True),
            ),
        ),
    ]
    for ours, theirs in pairs:
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs, strict=True):
            assert_same_batch(mine, reference)


@oracle
@given(
    shape=st.sampled_from([(9,), (9, 3), (9, 2, 2)]),
    dtype=st.sampled_from([np.float32, np.float64, np.int64, np.bool_]),
    batches=st.lists(st.lists(st.integers(-9, 8), min_size=1, max_size=6), max_size=4),
)
def test_batches_gathered_at_once_are_torchs_and_are_new_arrays(shape, dtype, batches):
    """A TensorDataset's batches, gathered in one call per tensor, are torch's for
    any index lists (repeated and negative indices included) and every dtype,
    and own their memory: a user who keeps a batch, and changes it, changes
    neither the dataset nor any other batch."""
    X = (np.arange(np.prod(shape)) % 5).reshape(shape).astype(dtype)
    y = np.arange(shape[0]) * 10
    ours = DataLoader(TensorDataset(X, y), batch_sampler=batches)
    theirs = tdata.DataLoader(
        tdata.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
        batch_sampler=batches,
    )
    kept = list(ours)
    for mine, reference in zip(kept, theirs, strict=True):
        assert_same_batch(mine, reference)
    X_before, y_before = X.copy(), y.copy()
    for number, (features, targets) in enumerate(kept):
        assert not np.shares_memory(features.array, X)
        assert not np.shares_memory(targets.array, y)
        for features_other, targets_other in kept[number + 1 :]:
            assert not np.shares_memory(features.array, features_other.array)
            assert not np.shares_memory(targets.array, targets_other.array)
        features.array[...] = 1
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_an_out_of_range_index_in_a_batch_is_an_index_error():
    """An index past the dataset's rows raises NumPy's IndexError naming the
    index and the size, as indexing the tensor row by row would."""
    loader = DataLoader(TensorDataset(np.zeros((4, 2))), batch_sampler=[[0, 4]])
    with pytest.raises(
        IndexError, match="index 4 is out of bounds for axis 0 with size 4"
    ):
        list(loader)


@pytest.mark.parametrize(
    "options",
    [
        {"sampler": [0, 1], "shuffle": True},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "drop_last": True},
        {"batch_size": None, "drop_last": True},
        {"num_workers": -1},
    ],
)
def test_invalid_option_combinations_are_value_errors_as_in_torch(options):
    """The combinations torch refuses are refused, with torch's reasons."""
    dataset = TensorDataset(np.zeros((2, 1)))
    with pytest.raises(ValueError):
        tdata.DataLoader(tdata.TensorDataset(torch.zeros(2, 1)), **options)
    with pytest.raises(ValueError, match="DataLoader: .*(exclusive|non-negative)"):
        DataLoader(dataset, **options)


def test_batch_size_none_yields_single_converted_samples_like_torch():
    """batch_size=None turns batching off: each sample alone, arrays as tensors."""
    ours = list(DataLoader(Squares(), batch_size=None))
    theirs = list(tdata.DataLoader(TorchSquares(), batch_size=None))
    assert len(ours) == len(theirs) == 7
    for mine, reference in zip(ours, theirs, strict=True):
        assert_same_batch(mine, reference)


def test_collate_fn_num_workers_and_attributes():
    """A collate_fn receives the list of samples; num_workers > 0 loads in this
    process with the same batches; .dataset, .batch_size, .drop_last are torch's."""
    dataset = TensorDataset(np.arange(5))
    loader = DataLoader(dataset, batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 2, 1]
    workers = DataLoader(dataset, batch_size=2, num_workers=4)
    plain = DataLoader(dataset, batch_size=2)
    assert [b.array.tolist() for (b,) in workers] == [b.array.tolist() for (b,) in plain]
    assert workers.dataset is dataset and workers.batch_size == 2
    assert workers.num_workers == 4 and workers.drop_last is False


def test_a_tensor_dataset_that_requires_grad_keeps_the_graph():
    """Batches of a TensorDataset whose tensor requires grad are recorded (stack)."""
    X = dg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    ((batch,),) = list(DataLoader(TensorDataset(X), batch_size=3))
    batch.sum().backward()
    np.testing.assert_array_equal(X.grad.array, np.ones((3, 2)))


def test_tensor_dataset_checks_lengths_and_indexes_rows():
    """TensorDataset pairs rows and refuses tensors of different lengths."""
    dataset = TensorDataset(np.zeros((3, 2)), np.arange(3))
    x, y = dataset[2]
    assert x.shape == (2,) and int(y.array) == 2 and len(dataset) == 3
    with pytest.raises(ValueError, match="TensorDataset: size mismatch"):
        TensorDataset(np.zeros((3, 2)), np.arange(4))


# ---------------------------------------------------------------------------
# random_split, Subset, ConcatDataset
# ---------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:.*split at index .* is 0:UserWarning")
@pytest.mark.parametrize(
    "n, lengths",
    [
        (10, [7, 3]),
        (10, [0.8, 0.2]),
        (7, [0.5, 0.5]),
        (11, [0.33, 0.33, 0.34]),
        (5, [0.1, 0.1, 0.8]),
    ],
)
def test_random_split_sizes_match_torch_and_cover_the_dataset(n, lengths):
    """Sizes from lengths or fractions (torch's remainder rule); the subsets are
    disjoint and together hold every sample once; a seeded generator repeats them."""
    subsets = random_split(range(n), lengths, generator=dg.Generator().manual_seed(0))
    expected = tdata.random_split(range(n), lengths)
    assert [len(s) for s in subsets] == [len(s) for s in expected]
    assert sorted(i for subset in subsets for i in subset.indices) == list(range(n))
    again = random_split(range(n), lengths, generator=dg.Generator().manual_seed(0))
    assert [s.indices for s in subsets] == [s.indices for s in again]


def test_random_split_with_lengths_that_do_not_add_up_is_a_value_error():
    """Lengths summing to more or less than the dataset are refused, as torch."""
    with pytest.raises(ValueError):
        tdata.random_split(range(5), [2, 2])
    with pytest.raises(ValueError, match="random_split: sum of input lengths"):
        random_split(range(5), [2, 2])


def test_subset_and_concat_dataset_index_like_torch():
    """Subset picks its indices in order; ConcatDataset chains datasets,
    negative indices included, with torch's cumulative sizes."""
    base = TensorDataset(np.arange(6))
    subset = Subset(base, [4, 1])
    assert len(subset) == 2 and int(subset[0][0].array) == 4
    assert subset.dataset is base and subset.indices == [4, 1]
    ours = ConcatDataset([range(3), range(10, 12)])
    theirs = tdata.ConcatDataset([range(3), range(10, 12)])
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-5, 5)] == [theirs[i] for i in range(-5, 5)]
    assert len(base + base) == 12


# ---------------------------------------------------------------------------
# One loader: deepgrad.data.DataLoader, dg.utils.data, fit
# ---------------------------------------------------------------------------
def test_there_is_one_data_loader_reachable_as_in_torch():
    """dg.utils.data.DataLoader is deepgrad.data.DataLoader, as torch's path."""
    from deepgrad.data import DataLoader as data_loader

    assert dg.utils.data.DataLoader is DataLoader is data_loader
    assert dg.utils.data.TensorDataset is TensorDataset


def test_fit_trains_on_a_torch_style_loader_and_refuses_other_datasets():
    """fit accepts DataLoader(TensorDataset(X, y), shuffle=True) and refuses,
    naming TensorDataset, a loader over a dataset it cannot read as arrays."""
    from deepgrad.train import fit

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    loader = DataLoader(TensorDataset(X, y), batch_size=2, shuffle=True)
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, nn.CrossEntropyLoss(), optimizer, loader, epochs=3, verbose=0)
    assert len(history.epoch) == 3
    with pytest.raises(TypeError, match=r"TensorDataset\(X, y\)"):
        fit(model, nn.CrossEntropyLoss(), optimizer, DataLoader(Squares()), verbose=0)


def test_random_split_warns_about_an_empty_split_as_torch():
    """Fractions that leave a split empty warn, naming its index."""
    with pytest.warns(UserWarning, match="split at index 1 is 0"):
        random_split(range(5), [0.1, 0.1, 0.8])


def test_docstring_examples_run():
    """The Examples in the docstrings of utils.data, data.loader and nn.containers."""
    import deepgrad.data.loader
    import deepgrad.nn.containers
    import deepgrad.utils.data

    for module in (deepgrad.utils.data, deepgrad.data.loader, deepgrad.nn.containers):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_generator_state_for_resuming_fit():
    """get_state/set_state (deepgrad's, for fit's checkpoints) replay a loader
    with a generator; without one the state is None (the default generator's
    state, which fit saves, decides the orders) and only None is accepted."""
    dataset = TensorDataset(np.arange(10))
    loader = DataLoader(
        dataset, batch_size=3, shuffle=True, generator=dg.Generator().manual_seed(1)
    )
    state = loader.get_state()
    first = [b.array.tolist() for (b,) in loader]
    loader.set_state(state)
    assert [b.array.tolist() for (b,) in loader] == first
    plain = DataLoader(dataset, shuffle=True)
    assert plain.get_state() is None
    plain.set_state(None)
    with pytest.raises(ValueError, match="get_state"):
        plain.set_state(state)


def test_a_numpy_generator_is_refused_with_the_one_to_use():
    """generator= takes deepgrad's Generator (PyTorch's numbers), named in the error."""
    numpy_generator = np.random.default_rng(0)
    for call in (
        lambda: DataLoader(range(4), shuffle=True, generator=numpy_generator),
        lambda: random_split(range(4), [2, 2], generator=numpy_generator),
    ):
        with pytest.raises(TypeError, match=r"dg\.Generator\(\)\.manual_seed\(0\)"):
            call()
