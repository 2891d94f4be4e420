"""fit loses nothing and never runs away: one divergence rule, data checked before
training, Ctrl-C resumes exactly, a full disk stops training cleanly, outputs are
written atomically (deepgrad.train, deepgrad.sweep, deepgrad.plots)."""

from __future__ import annotations

import errno
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import deepgrad as dg
from deepgrad import io, modelfile, nn
from deepgrad.cli import app
from deepgrad.data import Dataset, load_dataset
from deepgrad.train import (
    Callback,
    Classifier,
    CSVLogger,
    ModelCheckpoint,
    batches,
    divergence,
    fit,
)
from deepgrad.train.divergence import DivergenceWarning
from training_helpers import (
    assert_same_weights,
    interrupt_compiled_step,
    weights_of,
)


def global_norm(model):
    return math.sqrt(
        sum(float(np.sum(p.array.astype(np.float64) ** 2)) for p in model.parameters())
    )


# ---------------------------------------------------------------------------
# One definition of "diverged"
# ---------------------------------------------------------------------------
def moons_net(seed=0):
    dg.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))


def test_adam_at_a_huge_learning_rate_is_stopped_and_the_weights_put_back():
    # the probe: Adam at lr 1e9 on moons ended at loss 54, weights 1e10,
    # and reported success; no loss was ever NaN
    data = load_dataset("moons", n_samples=200, noise=0.2)
    model = moons_net()
    start_norm = global_norm(model)
    with pytest.warns(DivergenceWarning, match="weights' norm"):
        history = fit(
            model, nn.CrossEntropyLoss(), dg.optim.Adam(model.parameters(), lr=1e9),
            (data.X, data.y), epochs=50, batch_size=32, verbose=0, seed=0,
        )  # fmt: skip

    assert history.diverged and len(history.epoch) < 50
    assert np.all(np.isfinite(history.history["loss"]))  # finite throughout
    # the weights put back are within the rule's bound of the start
    assert global_norm(model) <= divergence.WEIGHT_FACTOR * max(start_norm, 1.0)
    assert "try a lower one such as 1e+08" in history.stopped_reason


def test_the_command_line_exits_1_on_a_divergence_without_nan():
    result = CliRunner().invoke(
        app,
        ["train", "moons", "--optimizer", "adam", "--lr", "1e9", "--epochs", "30",
         "--hidden", "16,16", "--verbose", "2"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "training stopped and the last good weights restored" in result.output


def test_a_regression_whose_loss_stays_huge_is_stopped_by_the_loss_rule(monkeypatch):
    # Adam at lr 200 blows the loss up within the first epoch (8.8e9 where it
    # started near 10) and never comes back below 1e6: no NaN ever appears, and
    # a first-epoch reference would have hidden it. The loss rule alone is tested.
    monkeypatch.setattr(divergence, "WEIGHT_FACTOR", math.inf)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5], np.float32) + 3).astype(np.float32)
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    initial = weights_of(model)
    with pytest.warns(DivergenceWarning):
        history = fit(
            model, nn.MSELoss(), dg.optim.Adam(model.parameters(), lr=200.0),
            (X, y), epochs=100, batch_size=8, verbose=0, seed=0,
        )  # fmt: skip

    losses = history.history["loss"]
    start = history.initial_loss
    assert history.diverged and len(losses) == divergence.PATIENCE
    assert start == pytest.approx(float(np.mean((y - 0) ** 2)), rel=0.5)
    assert all(loss > 2 * start for loss in losses)
    assert history.stopped_reason.startswith(
        f"Epoch 5: the loss ({losses[-1]:.4g}) has stayed above 2 times its value "
        f"before training ({start:.4g}) for 5 epochs"
    )
    # no epoch was healthy: the weights go back to the start
    assert_same_weights(weights_of(model), initial)


def test_the_rules_judge_a_resumed_run_as_the_uninterrupted_one(monkeypatch):
    # they read only the History, which a checkpoint carries: a run resumed
    # after 3 epochs stops where, and as, the unbroken run stops (epoch 5)
    monkeypatch.setattr(divergence, "WEIGHT_FACTOR", math.inf)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5], np.float32) + 3).astype(np.float32)

    def run(epochs, state=None, start=None):
        dg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
        optimizer = dg.optim.Adam(model.parameters(), lr=200.0)
        if start is not None:
            model.load_state_dict(start[0])
            optimizer.load_state_dict(start[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            history = fit(
                model, nn.MSELoss(), optimizer, (X, y), epochs=epochs,
                batch_size=8, verbose=0, seed=0, training_state=state,
            )  # fmt: skip
        return model, optimizer, history

    full_model, _, full = run(100)
    part_model, part_optimizer, part = run(3)
    assert full.diverged and not part.diverged
    resumed_model, _, resumed = run(
        100, part.training_state, (weights_of(part_model), part_optimizer.state_dict())
    )
    assert resumed.diverged
    assert resumed.stopped_reason == full.stopped_reason
    assert resumed.epoch == full.epoch
    assert resumed.history["loss"] == full.history["loss"]
    # no epoch of either was healthy: the unbroken run goes back to its initial
    # weights; the resumed one to the oldest it has, those it resumed from
    dg.manual_seed(0)
    initial = weights_of(nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1)))
    assert_same_weights(weights_of(full_model), initial)
    assert_same_weights(weights_of(resumed_model), weights_of(part_model))


def test_a_divergence_found_inside_back_to_back_epochs_equals_epoch_by_epoch(
    monkeypatch,
):
    # plain SGD, full batch, no callbacks: the epochs run as blocks; a no-op
    # callback forces epoch by epoch; the weight rule must stop both alike
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    runs = []
    for callbacks in ([], [Callback()]):
        dg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
        with pytest.warns(DivergenceWarning, match="weights' norm"):
            history = fit(
                model, nn.MSELoss(), dg.optim.SGD(model.parameters(), lr=0.8),
                (X, y), epochs=400, batch_size="full", verbose=0, callbacks=callbacks,
            )  # fmt: skip
        runs.append((weights_of(model), history))
    (block_weights, block), (epoch_weights, by_epoch) = runs
    assert block.epoch == by_epoch.epoch and 1 < len(block.epoch) < 16
    # (a block is timed as a whole; every other value is the same)
    for key in ("loss", "lr"):
        assert block.history[key] == by_epoch.history[key]
    assert block.weight_norms == by_epoch.weight_norms
    assert block.stopped_reason == by_epoch.stopped_reason
    assert_same_weights(block_weights, epoch_weights)


def test_a_sweep_calls_diverged_what_fit_calls_diverged():
    from deepgrad.sweep import run_sweep

    base = {"data": "moons", "optimizer": "adam", "epochs": 20, "hidden": [16],
            "activation": "relu", "batch_size": 32}  # fmt: skip
    results = run_sweep(base, {"lr": [0.01, 1e9]}, n_jobs=1)
    assert [result["diverged"] for result in results] == [False, True]
    assert (
        "training stopped and the last good weights restored"
        in (results[1]["stopped_reason"])
    )
    assert math.isnan(results[1]["final_loss"])


def test_a_learning_rate_that_is_not_finite_is_not_suggested_lower():
    lr = math.inf  # (optimizers refuse nan and negative rates when built)
    model = moons_net()
    data = load_dataset("moons", n_samples=64)
    with pytest.warns(DivergenceWarning) as caught:
        history = fit(
            model, nn.CrossEntropyLoss(), dg.optim.SGD(model.parameters(), lr=lr),
            (data.X, data.y), epochs=5, batch_size=16, verbose=0,
        )  # fmt: skip
    assert history.diverged
    assert "must be a positive finite number" in history.stopped_reason
    assert "such as" not in str(caught[0].message)


# ---------------------------------------------------------------------------
# Data checked before training
# ---------------------------------------------------------------------------
def line_data():
    X = np.linspace(-1, 1, 12, dtype=np.float32).reshape(6, 2)
    return X, np.array([0, 1, 0, 1, 0, 1])


def small_net():
    dg.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (np.nan, "nan, which is not a finite number"),
        (np.inf, "inf, which is not a finite"),
    ],
)
def test_a_value_that_is_not_finite_is_a_data_error_before_any_step(value, said):
    X, y = line_data()
    X[4, 1] = value
    model = small_net()
    before = weights_of(model)
    with pytest.raises(
        ValueError, match=rf"training data's X holds {said}.* at row 4, column 1"
    ):
        fit(model, nn.CrossEntropyLoss(), dg.optim.SGD(model.parameters(), lr=0.1),
            (X, y), epochs=3, verbose=0)  # fmt: skip
    assert_same_weights(weights_of(model), before)  # nothing trained


def test_a_value_too_large_for_the_model_dtype_is_a_data_error():
    # 1e308 is a float64 number but inf in float32, the model's dtype
    X, y = line_data()
    X = X.astype(np.float64)
    X[2, 0] = 1e308
    model = small_net()
    with pytest.raises(
        ValueError, match=r"1e\+308, too large for float32 .* row 2, column 0"
    ):
        fit(model, nn.CrossEntropyLoss(), dg.optim.SGD(model.parameters(), lr=0.1),
            (X, y), epochs=3, verbose=0)  # fmt: skip


def first_bad_value_by_search(array, limit):
    """The exact search, the reference for batches._first_bad_value: the index
    of the first value that is not finite or beyond +-limit, or None."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(array) | (
            np.abs(array) > (np.inf if limit is None else limit)
        )
    found = np.argwhere(bad)
    return None if len(found) == 0 else tuple(int(i) for i in found[0])


FLOAT32_MAX = float(np.finfo(np.float32).max)


@settings(max_examples=150, deadline=None)
@given(
    dtype=st.sampled_from([np.float32, np.float64]),
    rows=st.integers(1, 40),
    columns=st.integers(0, 4),
    scale=st.sampled_from([1.0, 1e30, 1.7e38, 3.3e38]),
    planted=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.sampled_from([np.nan, np.inf, -np.inf, 3.5e38, -3.5e38, 1e308]),
        ),
        max_size=3,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_data_check_finds_the_first_bad_value_the_search_finds(
    dtype, rows, columns, scale, planted, seed
):
    """_first_bad_value answers as the exact search over every value (the first
    NaN, +inf, -inf, or value beyond the float32 limit of float64 data), also for
    data large enough that its sums overflow: the fast one-pass answer is only
    trusted when it proves the data clean."""
    shape = (rows, columns) if columns else (rows,)
    array = (np.random.default_rng(seed).uniform(-1, 1, shape) * scale).astype(dtype)
    for position, value in planted:
        with np.errstate(over="ignore"):  # 1e308 is inf in float32
            array.flat[position % array.size] = value
    limits = [None] + ([FLOAT32_MAX] if dtype == np.float64 else [])
    for limit in limits:
        assert batches._first_bad_value(array, limit) == first_bad_value_by_search(
            array, limit
        )


@pytest.mark.parametrize(
    ("dtype", "value", "said"),
    [
        (np.float32, -np.inf, "-inf, which is not a finite number"),
        (np.float64, np.nan, "nan, which is not a finite number"),
        (np.float64, -np.inf, "-inf, which is not a finite number"),
        (np.float64, -1e39, "-1e\\+39, too large for float32 .*: it would be inf"),
    ],
)
def test_each_kind_of_bad_value_is_reported_in_its_own_words(dtype, value, said):
    """-inf in float32 data, and NaN, -inf and a value below -float32's max in
    float64 data for a float32 model, each stop fit with its message and place."""
    X, y = line_data()
    X = X.astype(dtype)
    X[5, 0] = value
    model = small_net()
    with pytest.raises(
        ValueError, match=rf"training data's X holds {said} at row 5, column 0"
    ):
        fit(model, nn.CrossEntropyLoss(), dg.optim.SGD(model.parameters(), lr=0.1),
            (X, y), epochs=1, verbose=0)  # fmt: skip


def test_huge_finite_data_whose_sum_overflows_is_accepted():
    """float32 features near float32's max (their sums overflow to inf) and
    float64 ones up to it are finite numbers the model's dtype holds: the data
    check lets them through."""
    X, y = line_data()
    for huge in (X * np.float32(3e38), X.astype(np.float64) * FLOAT32_MAX):
        with np.errstate(over="ignore"):
            assert not np.isfinite(huge.astype(np.float32).sum(axis=0)).all()
        assert batches._first_bad_value(huge, FLOAT32_MAX) is None
        assert batches._first_bad_value(huge, None) is None
        batches.check_values(huge, y, "training", np.dtype(np.float32))


def test_a_dataset_names_the_column_and_validation_data_is_checked_too():
    X, y = line_data()
    dataset = Dataset("points", X, y, ["width", "height"], ["a", "b"], "binary")
    X_val = X.copy()
    X_val[1, 0] = np.nan
    bad_validation = Dataset(
        "points", X_val, y, ["width", "height"], ["a", "b"], "binary"
    )
    X_bad = X.copy()
    X_bad[3, 1] = np.inf
    bad_training = Dataset(
        "points", X_bad, y, ["width", "height"], ["a", "b"], "binary"
    )
    model = small_net()
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        ValueError, match=r"training data's X .* row 3, column 'height'"
    ):
        fit(model, nn.CrossEntropyLoss(), optimizer, bad_training, epochs=1, verbose=0)
    with pytest.raises(
        ValueError, match=r"validation data's X .* row 1, column 'width'"
    ):
        fit(model, nn.CrossEntropyLoss(), optimizer, dataset, validation=bad_validation,
            epochs=1, verbose=0)  # fmt: skip


def test_regression_targets_that_are_not_finite_are_refused_by_the_classifier():
    X = np.linspace(0, 1, 20, dtype=np.float32).reshape(10, 2)
    y = X.sum(axis=1)
    y[7] = np.nan
    classifier = Classifier(nn.Sequential(nn.Linear(2, 1)), task="regression")
    with pytest.raises(ValueError, match=r"training data's y holds nan.* at row 7"):
        classifier.fit(X, y, epochs=2, verbose=0)


def test_a_csv_cell_of_1e308_is_a_data_error_naming_its_column_and_line(tmp_path):
    # 1e308 is a number, but inf in float32: refused where the file is read
    rows = ["x1,x2,label"] + [f"{i / 10},{1 - i / 10},{i % 2}" for i in range(20)]
    rows[6] = "0.5,1e308,1"
    path = tmp_path / "points.csv"
    path.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(
        app, ["train", str(path), "--target", "label", "--epochs", "3"]
    )
    assert result.exit_code == 2, result.output
    assert "column 'x2' holds '1e308' on line 7, too large for float32" in result.output
    assert "learning rate" not in result.output and "Warning" not in result.output


# ---------------------------------------------------------------------------
# Ctrl-C keeps the last completed epoch, and resuming from it is exact
# ---------------------------------------------------------------------------
class InterruptAtBatch(Callback):
    def __init__(self, epoch, batch):
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise KeyboardInterrupt


def dropout_net():
    dg.manual_seed(3)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))


MOONS = load_dataset("moons", n_samples=96, noise=0.2)


def train(
    model, epochs, callbacks=(), training_state=None, optimizer_state=None, fast=True
):
    optimizer = dg.optim.Adam(model.parameters(), lr=0.01)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    history = fit(
        model, nn.CrossEntropyLoss(), optimizer, (MOONS.X, MOONS.y), epochs=epochs,
        batch_size=16, verbose=0, seed=5, callbacks=callbacks,
        training_state=training_state, fast=fast,
    )  # fmt: skip
    return optimizer, history


@pytest.mark.parametrize(
    "make_model", [dropout_net, moons_net], ids=["eager", "compiled"]
)
@pytest.mark.parametrize(("epoch", "batch"), [(0, 2), (4, 0), (4, 3), (9, 5)])
def test_ctrl_c_mid_epoch_keeps_the_last_completed_epoch_and_resumes_exactly(
    make_model, epoch, batch
):
    reference = make_model()
    _, full = train(reference, 12, callbacks=[Callback()])

    model = make_model()
    optimizer, history = train(model, 12, callbacks=[InterruptAtBatch(epoch, batch)])
    assert history.interrupted and history.epoch == list(range(epoch))
    assert history.training_state["epoch"] == epoch
    # the weights are those after `epoch` whole epochs, as an unbroken run has them
    partial = make_model()
    train(partial, epoch, callbacks=[Callback()]) if epoch else None
    assert_same_weights(weights_of(model), weights_of(partial))

    # resumed in a fresh model from a checkpoint file's contents
    resumed = make_model()
    resumed.load_state_dict(weights_of(model))
    _, rest = train(
        resumed, 12, callbacks=[Callback()],
        training_state=history.training_state, optimizer_state=optimizer.state_dict(),
    )  # fmt: skip
    assert_same_weights(weights_of(resumed), weights_of(reference))
    assert rest.history["loss"] == full.history["loss"]


def test_ctrl_c_inside_back_to_back_epochs_resumes_exactly(monkeypatch):
    def net():
        dg.manual_seed(1)
        return nn.Sequential(
            nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid()
        )

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0])

    def run(model, epochs, state=None):
        return fit(model, nn.BCELoss(), dg.optim.SGD(model.parameters(), lr=0.5),
                   (X, y), epochs=epochs, batch_size="full", verbose=0,
                   training_state=state)  # fmt: skip

    reference = net()
    run(reference, 300)
    interrupt_compiled_step(monkeypatch, at_step=137)
    model = net()
    history = run(model, 300)
    monkeypatch.undo()
    assert history.interrupted and history.training_state["epoch"] == 136

    resumed = net()
    resumed.load_state_dict(weights_of(model))
    run(resumed, 300, history.training_state)
    assert_same_weights(weights_of(resumed), weights_of(reference))


SIGINT_SCRIPT = textwrap.dedent(
    """
    import sys
    import deepgrad as dg
    from deepgrad import nn
    from deepgrad.data import load_dataset
    from deepgrad.train import fit

    path, with_dropout = sys.argv[1], sys.argv[2] == "1"
    data = load_dataset("moons", n_samples=256, noise=0.2)
    dg.manual_seed(3)
    layers = [nn.Linear(2, 32), nn.ReLU()]
    if with_dropout:
        layers.append(nn.Dropout(0.2))
    model = nn.Sequential(*layers, nn.Linear(32, 2))
    optimizer = dg.optim.Adam(model.parameters(), lr=0.01)
    print("training", flush=True)
    history = fit(model, nn.CrossEntropyLoss(), optimizer, (data.X, data.y),
                  epochs=EPOCHS, batch_size=8, verbose=0, seed=5)
    if history.interrupted:
        dg.save(model, path, optimizer=optimizer, training_state=history.training_state)
        print("saved", history.training_state["epoch"], flush=True)
    """
)


def test_sigint_at_random_moments_always_leaves_a_checkpoint_that_resumes_exactly(
    tmp_path,
):
    epochs = 400  # about 1.5 s of training
    script = SIGINT_SCRIPT.replace("EPOCHS", str(epochs))
    data = load_dataset("moons", n_samples=256, noise=0.2)

    def reference(with_dropout):
        dg.manual_seed(3)
        layers = [nn.Linear(2, 32), nn.ReLU()] + (
            [nn.Dropout(0.2)] if with_dropout else []
        )
        model = nn.Sequential(*layers, nn.Linear(32, 2))
        fit(model, nn.CrossEntropyLoss(), dg.optim.Adam(model.parameters(), lr=0.01),
            (data.X, data.y), epochs=epochs, batch_size=8, verbose=0, seed=5)  # fmt: skip
        return weights_of(model)

    references = {flag: reference(flag) for flag in (False, True)}
    chooser = random.Random(2026)
    checked = 0
    for attempt in range(8):
        with_dropout = attempt % 2 == 1
        path = tmp_path / f"run{attempt}.dg"
        process = subprocess.Popen(
            [sys.executable, "-c", script, str(path), "1" if with_dropout else "0"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout.readline() == "training\n"
        # anywhere in the ~1 s of training: mid-batch, mid-epoch, between epochs
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import time; time.sleep({chooser.uniform(0.05, 0.9)})",
            ]
        )
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
        if not path.exists():
            continue  # the run had finished before the signal came: nothing to resume
        assert out.startswith("saved"), out
        checkpoint = io.load_checkpoint(path)
        model = checkpoint.obj
        optimizer = dg.optim.Adam(model.parameters(), lr=0.01)
        optimizer.load_state_dict(checkpoint.optimizer_state)
        fit(model, nn.CrossEntropyLoss(), optimizer, (data.X, data.y), epochs=epochs,
            batch_size=8, verbose=0, seed=5,
            training_state=checkpoint.training_state)  # fmt: skip
        assert_same_weights(weights_of(model), references[with_dropout])
        checked += 1
    assert checked >= 4  # most signals land during training


# ---------------------------------------------------------------------------
# A full disk during training
# ---------------------------------------------------------------------------
def fail_after(calls, target, name, monkeypatch):
    """Make ``target.name`` raise ENOSPC from its ``calls``-th call on."""
    original = getattr(target, name)
    count = {"n": 0}

    def failing(*args, **kwargs):
        count["n"] += 1
        if count["n"] >= calls:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, failing)


def test_a_full_disk_stops_model_checkpoint_cleanly_and_keeps_the_last_checkpoint(
    tmp_path, monkeypatch
):
    path = tmp_path / "checkpoint.dg"
    fail_after(3, modelfile, "_write_chunks", monkeypatch)  # the third save fails
    model = moons_net()
    checkpoint = ModelCheckpoint(path)
    with pytest.warns(RuntimeWarning, match="No space left on device"):
        _, history = train(model, 10, callbacks=[checkpoint])

    # fit returned its History; training stopped after the epoch whose save failed
    assert history.epoch == [0, 1, 2] and not history.interrupted
    assert history.stopped_reason == (
        f"ModelCheckpoint: could not save {path} (No space left on device); "
        f"training stopped and the last checkpoint written, {path}, is intact."
    )
    # the file holds epoch 2's save, whole
    saved = io.load_checkpoint(path)
    assert saved.training_state["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.dg"]


def test_a_full_disk_stops_the_csv_logger_with_whole_rows_only(tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    original_write = os.write
    count = {"n": 0}

    def write_half_then_fail(descriptor, data):
        count["n"] += 1
        if count["n"] == 3:  # half of a row reaches the disk, then it is full
            return original_write(descriptor, bytes(data)[: len(data) // 2])
        if count["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original_write(descriptor, data)

    logger = CSVLogger(path)
    model = moons_net()
    monkeypatch.setattr(os, "write", write_half_then_fail)
    with pytest.warns(RuntimeWarning, match="could not write epoch 4's row"):
        _, history = train(model, 10, callbacks=[logger])
    monkeypatch.undo()

    lines = path.read_text().splitlines()
    assert lines[0].startswith("epoch,")
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1", "2"]
    assert history.epoch == [0, 1, 2, 3]  # the epoch trained; its row was taken back


def test_a_csv_logger_replaces_an_earlier_log_only_once_its_first_row_is_written(
    tmp_path, monkeypatch
):
    path = tmp_path / "log.csv"
    path.write_text("an earlier run's log\n")
    monkeypatch.setattr(os, "fsync", lambda descriptor: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))  # fmt: skip
    with pytest.warns(RuntimeWarning, match="could not write epoch 1's row"):
        train(moons_net(), 3, callbacks=[CSVLogger(path)])
    assert path.read_text() == "an earlier run's log\n"


def test_a_figure_that_fails_to_save_leaves_the_earlier_png(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    from deepgrad import plots

    _, history = train(moons_net(), 3)
    path = tmp_path / "loss.png"
    plots.plot_history(history, path=path)
    before = path.read_bytes()

    def savefig_then_fail(self, handle, **kwargs):
        handle.write(b"\x89PNG half a picture")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", savefig_then_fail)
    with pytest.raises(OSError, match="No space"):
        plots.plot_history(history, path=path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png"]
