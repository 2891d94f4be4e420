"""DataLoader: batch sizes, shuffling per epoch, a resumable generator state, dtypes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.data.loader import DataLoader

X10 = np.arange(20, dtype=np.float32).reshape(10, 2)
Y10 = np.arange(10)


def batch_rows(loader: DataLoader) -> list[list[int]]:
    """The sample indices (y holds them) of each batch of one epoch."""
    return [y_batch.array.tolist() for _, y_batch in loader]


def test_batches_have_batch_size_rows_and_a_smaller_last_one():
    loader = DataLoader(X10, Y10, batch_size=4, shuffle=False)

    assert len(loader) == 3
    assert [len(rows) for rows in batch_rows(loader)] == [4, 4, 2]


def test_drop_last_skips_the_partial_batch():
    loader = DataLoader(X10, Y10, batch_size=4, shuffle=False, drop_last=True)

    assert len(loader) == 2
    assert batch_rows(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


@pytest.mark.parametrize("batch_size", ["full", None, 10, 64])
def test_full_batch_is_every_sample_in_order_even_with_shuffle(batch_size):
    loader = DataLoader(X10, Y10, batch_size=batch_size, shuffle=True, seed=0)

    assert len(loader) == 1
    assert batch_rows(loader) == [list(range(10))]
    np.testing.assert_array_equal(next(iter(loader))[0].array, X10)


def test_batch_size_one_gives_each_sample_once_per_epoch():
    loader = DataLoader(X10, Y10, batch_size=1, seed=3)

    rows = batch_rows(loader)
    assert len(loader) == 10 and all(len(batch) == 1 for batch in rows)
    assert sorted(sum(rows, [])) == list(range(10))


def test_x_and_y_batches_stay_paired_when_shuffled():
    for X_batch, y_batch in DataLoader(X10, Y10, batch_size=3, seed=1):
        np.testing.assert_array_equal(X_batch.array, X10[y_batch.array])


def test_shuffle_draws_a_new_order_every_epoch():
    loader = DataLoader(X10, Y10, batch_size=2, seed=0)

    first, second = sum(batch_rows(loader), []), sum(batch_rows(loader), [])
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != second


def test_same_seed_gives_the_same_orders_and_another_seed_others():
    def orders(seed):
        loader = DataLoader(X10, Y10, batch_size=2, seed=seed)
        return [batch_rows(loader) for _ in range(3)]

    assert orders(7) == orders(7)
    assert orders(7) != orders(8)


def test_without_a_seed_the_order_follows_dg_manual_seed():
    def first_order():
        dg.manual_seed(5)
        return batch_rows(DataLoader(X10, Y10, batch_size=2))

    assert first_order() == first_order()


def test_shuffle_false_keeps_the_order_every_epoch():
    loader = DataLoader(X10, Y10, batch_size=3, shuffle=False)

    assert (
        batch_rows(loader)
        == batch_rows(loader)
        == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    )


def test_restored_state_replays_the_next_epochs_exactly_after_json():
    loader = DataLoader(X10, Y10, batch_size=3, seed=11)
    batch_rows(loader), batch_rows(loader)
    state = json.loads(json.dumps(loader.get_state()))
    expected = [batch_rows(loader) for _ in range(2)]

    resumed = DataLoader(X10, Y10, batch_size=3, seed=999)
    resumed.set_state(state)

    assert [batch_rows(resumed) for _ in range(2)] == expected


def test_get_state_is_a_copy_unchanged_by_later_epochs():
    loader = DataLoader(X10, Y10, batch_size=3, seed=0)
    state = loader.get_state()
    snapshot = json.dumps(state)
    batch_rows(loader)

    assert json.dumps(state) == snapshot != json.dumps(loader.get_state())


@pytest.mark.parametrize("state", [None, {}, {"bit_generator": "MT19937"}, [1, 2]])
def test_set_state_rejects_what_get_state_did_not_return(state):
    with pytest.raises(ValueError, match="get_state"):
        DataLoader(X10, Y10).set_state(state)


def test_integer_features_become_float32_and_float64_stays():
    ints = DataLoader(np.arange(6).reshape(3, 2), batch_size="full")
    doubles = DataLoader(X10.astype(np.float64), batch_size="full")

    assert next(iter(ints))[0].dtype == np.float32
    assert next(iter(doubles))[0].dtype == np.float64


def test_class_labels_become_int64_and_float_targets_keep_their_dtype():
    labels = DataLoader(X10, Y10.astype(np.int32), batch_size=4)
    values = DataLoader(X10, Y10.astype(np.float32), batch_size=4)

    assert next(iter(labels))[1].dtype == np.int64
    assert next(iter(values))[1].dtype == np.float32


def test_tensors_are_accepted_and_y_may_be_omitted():
    loader = DataLoader(dg.tensor(X10), batch_size=5, shuffle=False)

    X_batch, y_batch = next(iter(loader))
    assert isinstance(X_batch, dg.Tensor) and y_batch is None
    np.testing.assert_array_equal(X_batch.array, X10[:5])


@pytest.mark.parametrize("batch_size", [0, -2, "half", 2.5, True])
def test_bad_batch_size_is_a_value_error_naming_it(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(X10, Y10, batch_size=batch_size)


def test_x_and_y_of_different_lengths_are_rejected():
    with pytest.raises(ValueError, match="10 and 9"):
        DataLoader(X10, Y10[:9])


def test_empty_data_is_rejected():
    with pytest.raises(ValueError, match="no samples"):
        DataLoader(np.zeros((0, 2)), np.zeros(0))


def test_text_labels_are_a_type_error_pointing_to_indices():
    with pytest.raises(TypeError, match="indices"):
        DataLoader(X10, np.array(["a"] * 10))
