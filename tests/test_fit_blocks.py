"""fit's back-to-back epochs (deepgrad.train.blocks.BackToBack) record what epoch-by-epoch fit records.

When nothing can run between epochs (no callbacks, no validation, no
shuffling, the compiled step with plain SGD), fit runs the epochs up to the
next log line inside ``CompiledStep.run_epochs`` and computes the history of
the whole block afterwards. Each test trains the same model twice, once that
way and once forced epoch by epoch (a callback that does nothing is enough),
and requires the same history, weights, log lines and stop reasons.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.data.loader import DataLoader
from deepgrad.fast import CompiledStep
from deepgrad.train import Callback, fit
from training_helpers import interrupt_compiled_step

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def lab_network(seed=42) -> nn.Sequential:
    dg.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 4), nn.Sigmoid(),
        nn.Linear(4, 1), nn.Sigmoid(),
    )  # fmt: skip


@pytest.fixture
def count_blocks(monkeypatch):
    """How many times fit ran epochs back to back, and how many epochs in all."""
    counts = {"blocks": 0, "epochs": 0}
    run_epochs = CompiledStep.run_epochs

    def counted(self, batches, losses, *args, **kwargs):
        counts["blocks"] += 1
        counts["epochs"] += len(losses)
        return run_epochs(self, batches, losses, *args, **kwargs)

    monkeypatch.setattr(CompiledStep, "run_epochs", counted)
    return counts


def fit_both(model, loss_fn, lr, data, **options):
    """(model, history) back to back, then (model, history) epoch by epoch."""
    results = []
    for callbacks in ([], [Callback()]):
        trained = copy.deepcopy(model)
        optimizer = dg.optim.SGD(trained.parameters(), lr=lr)
        history = fit(
            trained, loss_fn, optimizer, data, callbacks=callbacks, shuffle=False,
            seed=0, **{"verbose": 0, **options},
        )  # fmt: skip
        results.append((trained, history))
    return results


def assert_same_history(actual, expected):
    assert actual.epoch == expected.epoch
    assert actual.history.keys() == expected.history.keys()
    for key in actual.history:
        if key != "time":  # the block is timed as a whole
            assert actual.history[key] == expected.history[key], key
    for record in ("grad_norms", "weight_norms", "update_ratios"):
        got, want = getattr(actual, record), getattr(expected, record)
        assert got.keys() == want.keys(), record
        for name in want:
            np.testing.assert_allclose(
                got[name], want[name], rtol=1e-12, err_msg=f"{record} {name}"
            )
    assert actual.stopped_reason == expected.stopped_reason
    assert actual.diverged == expected.diverged
    assert actual.interrupted == expected.interrupted


def assert_same_weights(a, b):
    for (name, pa), (_, pb) in zip(
        a.state_dict().items(), b.state_dict().items(), strict=True
    ):
        np.testing.assert_array_equal(pa.array, pb.array, err_msg=name)


@pytest.mark.parametrize("batch_size", ["full", 1, 3])
def test_the_lab_run_back_to_back_records_the_same_history_and_weights(
    count_blocks, batch_size
):
    (block_model, block), (epoch_model, per_epoch) = fit_both(
        lab_network(), nn.BCELoss(), 0.5, (XOR_X, XOR_Y),
        epochs=600, batch_size=batch_size,
    )  # fmt: skip

    assert count_blocks["blocks"] >= 1 and count_blocks["epochs"] == 600
    assert_same_history(block, per_epoch)
    assert_same_weights(block_model, epoch_model)
    assert len(block.history["accuracy"]) == 600
    assert block.training_state["epoch"] == per_epoch.training_state["epoch"] == 600
    assert block.training_state["rng"] == per_epoch.training_state["rng"]


def test_blocks_end_at_each_log_line_so_the_output_is_the_same(count_blocks, capsys):
    lines = []
    for callbacks in ([], [Callback()]):
        model = lab_network()
        optimizer = dg.optim.SGD(model.parameters(), lr=0.5)
        fit(
            model, nn.BCELoss(), optimizer, (XOR_X, XOR_Y), epochs=250,
            batch_size="full", verbose=2, log_every=50, callbacks=callbacks,
        )  # fmt: skip
        out = capsys.readouterr().out
        lines.append([re.sub(r" - \d+ms$", "", line) for line in out.splitlines()])

    assert lines[0] == lines[1]
    # the first epoch, then epochs 50, 100, ..., 250
    assert [line.split(" - ")[0] for line in lines[0]] == [
        "Epoch 1/250", "Epoch 50/250", "Epoch 100/250", "Epoch 150/250",
        "Epoch 200/250", "Epoch 250/250",
    ]  # fmt: skip
    # epoch 1 alone, then four blocks of 49 and 50 epochs; the run by epochs none
    assert count_blocks["blocks"] == 5 and count_blocks["epochs"] == 249


def diverging_regression():
    """A linear-output MSE regression whose loss overflows at a high learning rate."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    return model, (X, y)


# the loss overflows in epoch 9, 6, 3, 2 and 1: the weights to go back to are a
# row the block recorded, the snapshot of the block's start, or the initial ones
@pytest.mark.parametrize(
    ("lr", "scale", "bad_epoch"),
    [(0.8, 1, 9), (2.0, 1, 6), (1e3, 1, 3), (1e12, 1, 2), (0.1, 1e20, 1)],
)
def test_a_loss_that_overflows_mid_block_restores_the_same_weights(
    count_blocks, nan_rule_only, lr, scale, bad_epoch
):
    model, (X, y) = diverging_regression()
    data = (X * np.float32(scale), y)
    with pytest.warns(RuntimeWarning, match="loss is"):
        (block_model, block), (epoch_model, per_epoch) = fit_both(
            model, nn.MSELoss(), lr, data, epochs=500, batch_size="full"
        )

    assert block.diverged and count_blocks["blocks"] == 1
    assert block.stopped_reason.startswith(f"Epoch {bad_epoch}: loss is inf")
    assert_same_history(block, per_epoch)
    assert_same_weights(block_model, epoch_model)
    assert all(np.isfinite(p.array).all() for p in block_model.parameters())


def test_ctrl_c_inside_a_block_keeps_the_epochs_completed(monkeypatch):
    calls = interrupt_compiled_step(monkeypatch, at_step=137)
    results = []
    for callbacks in ([], [Callback()]):
        calls["count"] = 0
        model = lab_network()
        optimizer = dg.optim.SGD(model.parameters(), lr=0.5)
        history = fit(
            model, nn.BCELoss(), optimizer, (XOR_X, XOR_Y), epochs=400,
            batch_size="full", verbose=0, callbacks=callbacks,
        )  # fmt: skip
        results.append((model, history))
    (block_model, block), (epoch_model, per_epoch) = results

    assert block.interrupted and len(block.epoch) == 136
    assert block.stopped_reason == "Epoch 137: training interrupted (Ctrl-C)."
    assert_same_history(block, per_epoch)
    assert_same_weights(block_model, epoch_model)


def test_shuffled_batches_callbacks_and_validation_run_epoch_by_epoch(count_blocks):
    X = np.tile(XOR_X, (4, 1))
    y = np.tile(XOR_Y, 4)
    for options in (
        {"batch_size": 4, "shuffle": True},
        {"batch_size": "full", "callbacks": [Callback()]},
        {"batch_size": "full", "validation": (XOR_X, XOR_Y)},
    ):
        model = lab_network()
        optimizer = dg.optim.SGD(model.parameters(), lr=0.5)
        fit(
            model, nn.BCELoss(), optimizer, (X, y), epochs=50, verbose=0, **options
        )  # fmt: skip
    # and momentum (an optimizer with state) too
    model = lab_network()
    fit(
        model, nn.BCELoss(), dg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9),
        (X, y), epochs=50, batch_size="full", verbose=0,
    )  # fmt: skip

    assert count_blocks["blocks"] == 0


def test_the_line_of_the_epoch_before_a_divergence_shows_that_epochs_loss(
    capsys, nan_rule_only
):
    # found in review: the block's logs must be taken before the divergence stop
    lines, histories = [], []
    for callbacks in ([], [Callback()]):
        model, data = diverging_regression()
        optimizer = dg.optim.SGD(model.parameters(), lr=0.8)
        history = fit(
            model, nn.MSELoss(), optimizer, data, epochs=500, batch_size="full",
            verbose=2, log_every=1000, callbacks=callbacks, shuffle=False, seed=0,
        )  # fmt: skip
        out = capsys.readouterr().out
        lines.append([re.sub(r" - \d+ms$", "", line) for line in out.splitlines()])
        histories.append(history.history["loss"])

    assert lines[0] == lines[1]
    assert histories[0] == histories[1]
    # epoch 8's own loss (about 9.6e32; its digits depend on the BLAS kernel),
    # not an earlier epoch's
    epoch_8 = histories[0][7]
    assert 1e32 < epoch_8 < 1e34 and epoch_8 != histories[0][6]
    assert lines[0][1].startswith(f"Epoch 8/500 - loss: {epoch_8:.4f}")
    assert lines[0][2].startswith("Epoch 9: loss is inf")


def test_several_batches_stop_at_the_first_bad_one_as_epoch_by_epoch(
    count_blocks, nan_rule_only
):
    # found in review: the block finished the epoch and reported nan, not inf
    model, data = diverging_regression()
    with pytest.warns(RuntimeWarning, match="Epoch 2: loss is inf"):
        (block_model, block), (epoch_model, per_epoch) = fit_both(
            model, nn.MSELoss(), 2.0, data, epochs=100, batch_size=4
        )

    assert count_blocks["blocks"] == 1
    assert_same_history(block, per_epoch)
    assert_same_weights(block_model, epoch_model)


def test_a_loader_that_drops_its_last_samples_runs_back_to_back(count_blocks):
    # found in review: the outputs kept for accuracy were sized for every sample
    X, y = np.tile(XOR_X, (6, 1))[:23], np.tile(XOR_Y, 6)[:23]
    results = []
    for callbacks in ([], [Callback()]):
        model = lab_network()
        optimizer = dg.optim.SGD(model.parameters(), lr=0.5)
        loader = DataLoader(X, y, batch_size=5, shuffle=False, drop_last=True)
        history = fit(
            model, nn.BCELoss(), optimizer, loader, epochs=40, verbose=0,
            callbacks=callbacks,
        )  # fmt: skip
        results.append((model, history))

    assert count_blocks["blocks"] == 1
    assert_same_history(results[0][1], results[1][1])
    assert_same_weights(results[0][0], results[1][0])
