"""fit, History, the callbacks, the Classifier and summary (deepgrad.train)."""

from __future__ import annotations

import copy
import csv
import math
import re
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
from deepgrad import nn
from deepgrad.data.loader import DataLoader, TensorDataset
from deepgrad.train import (
    Callback,
    Classifier,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    divergence,
    fit,
    format_duration,
    format_epoch_line,
    summary,
)
from deepgrad.train import console as train_console
from deepgrad.train import loop as train_loop
from deepgrad.train.batches import EVAL_BATCH_SIZE
from deepgrad.train.targets import count_correct, loss_kind
from training_helpers import assert_same_weights, weights_of

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])
LINE = re.compile(
    r"^Epoch \d+/\d+ - loss: \d+\.\d{4}( - accuracy: \d\.\d{4})?"
    r"( - val_loss: \d+\.\d{4})?( - val_accuracy: \d\.\d{4})? - (\d+ms|\d+\.\ds)$"
)


def lab_network() -> nn.Sequential:
    """The lab's 2-4-4-1 sigmoid network with its initialisation (seed 42, randn
    weights, zero biases), as modules: Linear stores W transposed."""
    dg.manual_seed(42)
    weights = [dg.randn(2, 4), dg.randn(4, 4), dg.randn(4, 1)]
    model = nn.Sequential(
        nn.Linear(2, 4),
        nn.Sigmoid(),
        nn.Linear(4, 4),
        nn.Sigmoid(),
        nn.Linear(4, 1),
        nn.Sigmoid(),
    )
    for index, weight in zip((0, 2, 4), weights, strict=True):
        model[index].weight.array[...] = weight.array.T
        model[index].bias.array[...] = 0
    return model


def blobs(n=48, classes=3, seed=0):
    """Separable Gaussian clusters: (X float32, y int64)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.normal(size=(n, 2)).astype(np.float32) * 0.5 + 2 * y[:, None]
    return X.astype(np.float32), y.astype(np.int64)


def classifier_net(outputs=3, seed=0, last=None):
    dg.manual_seed(seed)
    layers = [nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, outputs)]
    return nn.Sequential(*layers, *([last] if last is not None else []))


class RecordWeights(Callback):
    """The model's weights at the end of every epoch."""

    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(weights_of(self.model))


class ScriptedValue(Callback):
    """Overwrite a logged value with a scripted sequence (put it before the
    callback under test: callbacks share each epoch's logs)."""

    def __init__(self, key, values):
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


@pytest.fixture
def fixed_clock(monkeypatch):
    """Every epoch takes exactly 12 ms."""
    ticks = iter(np.arange(0, 100, 0.012))
    monkeypatch.setattr(
        train_loop, "time", types.SimpleNamespace(perf_counter=lambda: float(next(ticks)))
    )


def line_model():
    """y = w x + b with w = b = 0: MSE losses are easy to work out by hand."""
    model = nn.Linear(1, 1)
    model.weight.array[...] = 0
    model.bias.array[...] = 0
    return model


LINE_X = np.array([[1.0], [2.0]], dtype=np.float32)
LINE_Y = np.array([2.0, 4.0], dtype=np.float32)


# -- log lines ---------------------------------------------------------------------
def test_epoch_line_has_keras_format_with_four_decimals():
    logs = {
        "loss": 0.54409,
        "accuracy": 0.58871,
        "val_loss": 0.55678,
        "val_accuracy": 0.55,
        "lr": 0.1,
        "time": 0.0123,
    }

    assert format_epoch_line(2, 4, logs) == (
        "Epoch 3/4 - loss: 0.5441 - accuracy: 0.5887 - val_loss: 0.5568 - "
        "val_accuracy: 0.5500 - 12ms"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0004, "0ms"),
        (0.012, "12ms"),
        (0.9994, "999ms"),
        (1.26, "1.3s"),
        (73.04, "73.0s"),
    ],
)
def test_epoch_time_is_ms_under_a_second_else_seconds_with_one_decimal(seconds, text):
    assert format_duration(seconds) == text


def test_fit_prints_the_exact_lines_of_a_hand_computed_run(capsys, fixed_clock):
    # epoch 1: w = b = 0, loss (2^2 + 4^2) / 2 = 10; the step gives w = 1, b = 0.6
    # epoch 2: predictions 1.6, 2.6, loss (0.4^2 + 1.4^2) / 2 = 1.06; w = 1.32, b = 0.78
    # validation after epoch 2: predictions 2.1, 3.42, loss (0.1^2 + 0.58^2) / 2
    model = line_model()
    fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (LINE_X, LINE_Y),
        epochs=2,
        batch_size="full",
        validation=(LINE_X, LINE_Y),
        verbose=2,
    )

    assert capsys.readouterr().out == (
        "Epoch 1/2 - loss: 10.0000 - val_loss: 1.0600 - 12ms\n"
        "Epoch 2/2 - loss: 1.0600 - val_loss: 0.1732 - 12ms\n"
    )


def test_every_line_of_a_classification_run_matches_the_keras_pattern(capsys):
    X, y = blobs()
    model = classifier_net()
    fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.Adam(model.parameters(), lr=0.01),
        (X, y),
        epochs=3,
        batch_size=8,
        validation=(X[:9], y[:9]),
        verbose=2,
    )

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert all(LINE.match(line) for line in lines), lines
    assert all(" - accuracy: " in line and "val_accuracy" in line for line in lines)


def test_verbose_0_prints_nothing(capsys):
    model = line_model()
    fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (LINE_X, LINE_Y),
        epochs=3,
        verbose=0,
    )

    assert capsys.readouterr().out == ""


def test_verbose_1_outside_a_terminal_prints_the_lines_of_verbose_2(
    capsys, monkeypatch
):
    def run(verbose):
        model = line_model()
        ticks = iter(np.arange(0, 100, 0.012))
        monkeypatch.setattr(
            train_loop,
            "time",
            types.SimpleNamespace(perf_counter=lambda: float(next(ticks))),
        )
        X = np.repeat(LINE_X, 30, axis=0)
        fit(
            model,
            nn.MSELoss(),
            dg.optim.SGD(model.parameters(), lr=0.01),
            (X, np.repeat(LINE_Y, 30)),
            epochs=2,
            batch_size=2,
            shuffle=False,
            verbose=verbose,
        )
        return capsys.readouterr().out

    assert run(1) == run(2) != ""


def test_verbose_1_shows_a_live_progress_bar_for_long_epochs_in_a_terminal(
    capsys, monkeypatch
):
    import io

    from rich.console import Console

    screen = io.StringIO()
    monkeypatch.setattr(
        train_console,
        "new_console",
        lambda: Console(file=screen, force_terminal=True, width=100),
    )
    model = line_model()
    X = np.repeat(LINE_X, 30, axis=0)  # 30 batches of 2
    fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.01),
        (X, np.repeat(LINE_Y, 30)),
        epochs=2,
        batch_size=2,
        verbose=1,
    )

    shown = screen.getvalue()
    assert "30/30" in shown  # the bar's batch counter
    assert "Epoch 2/2 - loss: " in shown  # lines go above the bar
    assert capsys.readouterr().out == ""


def test_no_progress_bar_for_short_epochs_or_verbose_2(capsys, monkeypatch):
    def no_console():
        raise AssertionError("a progress bar was opened")

    monkeypatch.setattr(train_console, "new_console", no_console)
    model = line_model()
    X = np.repeat(LINE_X, 30, axis=0)
    optimizer = dg.optim.SGD(model.parameters(), lr=0.01)
    fit(
        model,
        nn.MSELoss(),
        optimizer,
        (X, np.repeat(LINE_Y, 30)),
        epochs=1,
        batch_size=2,
        verbose=2,
    )
    fit(
        model,
        nn.MSELoss(),
        optimizer,
        (X, np.repeat(LINE_Y, 30)),
        epochs=1,
        batch_size=8,
        verbose=1,
    )

    assert len(capsys.readouterr().out.splitlines()) == 2


def test_log_every_prints_every_nth_epoch_plus_the_first_and_last(capsys):
    model = line_model()
    fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.01),
        (LINE_X, LINE_Y),
        epochs=22,
        batch_size="full",
        log_every=5,
        verbose=2,
    )

    epochs = [
        int(re.match(r"Epoch (\d+)/22", line).group(1))
        for line in capsys.readouterr().out.splitlines()
    ]
    assert epochs == [1, 5, 10, 15, 20, 22]


def test_log_every_also_prints_the_epoch_training_stopped_at(capsys):
    model = line_model()
    stop = EarlyStopping(monitor="loss", patience=1)
    fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.01),
        (LINE_X, LINE_Y),
        epochs=50,
        batch_size="full",
        log_every=10,
        verbose=2,
        callbacks=[ScriptedValue("loss", [5.0, 4.0, 3.0, 3.5] + [9.0] * 46), stop],
    )

    assert [line.split(" - ")[0] for line in capsys.readouterr().out.splitlines()] == [
        "Epoch 1/50",
        "Epoch 4/50",
        "Epoch 4: early stopping (loss did not improve for 1 epochs)",
    ]


# -- History -----------------------------------------------------------------------
def test_history_has_one_entry_per_epoch_for_every_key():
    X, y = blobs()
    model = classifier_net()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=4,
        batch_size=16,
        validation=(X[:12], y[:12]),
        verbose=0,
    )

    assert history.epoch == [0, 1, 2, 3]
    assert sorted(history.history) == sorted(
        ["loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"]
    )
    assert all(len(values) == 4 for values in history.history.values())
    assert history.history["lr"] == [0.1] * 4
    assert all(seconds > 0 for seconds in history.history["time"])
    assert history.stopped_reason is None and history.interrupted is False


def test_regression_history_has_no_accuracy_and_no_validation_keys():
    model = line_model()
    history = fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (LINE_X, LINE_Y),
        epochs=2,
        verbose=0,
    )

    assert sorted(history.history) == ["loss", "lr", "time"]


def test_grad_norms_are_the_last_batch_gradient_norm_of_each_parameter():
    X, y = blobs()
    model = classifier_net()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=3,
        batch_size=16,
        verbose=0,
    )

    names = [name for name, _ in model.named_parameters()]
    assert (
        list(history.grad_norms)
        == names
        == ["0.weight", "0.bias", "2.weight", "2.bias"]
    )
    for name, param in model.named_parameters():
        assert len(history.grad_norms[name]) == 3
        assert history.grad_norms[name][-1] == pytest.approx(
            float(np.linalg.norm(param.grad.array.astype(np.float64))), rel=1e-12
        )


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    X, y = blobs(n=10)
    model = classifier_net()
    # lr 0: the weights never change, so batches of 4, 4, 2 see the same model
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.SGD(model.parameters(), lr=0),
        (X, y),
        epochs=1,
        batch_size=4,
        verbose=0,
    )

    with dg.no_grad():
        per_sample = nn.CrossEntropyLoss(reduction="none")(
            model(dg.tensor(X)), dg.tensor(y)
        ).array
    assert history.history["loss"][0] == pytest.approx(per_sample.mean(), rel=1e-6)
    batch_means = [per_sample[:4].mean(), per_sample[4:8].mean(), per_sample[8:].mean()]
    assert history.history["loss"][0] != pytest.approx(np.mean(batch_means), rel=1e-6)


@pytest.mark.parametrize(
    ("loss_fn", "outputs", "last", "predict"),
    [
        (nn.CrossEntropyLoss(), 3, None, lambda out: out.argmax(axis=1)),
        (nn.NLLLoss(), 3, nn.LogSoftmax(dim=1), lambda out: out.argmax(axis=1)),
        (nn.BCELoss(), 1, nn.Sigmoid(), lambda out: (out[:, 0] > 0.5).astype(int)),
        (nn.BCEWithLogitsLoss(), 1, None, lambda out: (out[:, 0] > 0).astype(int)),
    ],
)
def test_accuracy_equals_a_manual_computation_for_each_classification_loss(
    loss_fn, outputs, last, predict
):
    X, y = blobs(classes=outputs if outputs > 1 else 2)
    model = classifier_net(outputs, last=last)
    before = copy.deepcopy(model)
    history = fit(
        model,
        loss_fn,
        dg.optim.SGD(model.parameters(), lr=0.5),
        (X, y),
        epochs=2,
        batch_size="full",
        validation=(X[:20], y[:20]),
        verbose=0,
    )

    with dg.no_grad():
        first_epoch = predict(before(dg.tensor(X)).array)  # full batch: before the step
        after = predict(model(dg.tensor(X[:20])).array)
    assert history.history["accuracy"][0] == np.mean(first_epoch == y)
    assert history.history["val_accuracy"][-1] == np.mean(after == y[:20])


class CountBatches(Callback):
    def on_train_begin(self, logs=None):
        self.batches = 0

    def on_batch_end(self, batch, logs=None):
        self.batches += 1


@pytest.mark.parametrize("label", [3, -1])
@pytest.mark.parametrize(
    "how", ["compiled", "compiled, a callback", "eager", "DataLoader", "float (N, 1)"]
)
def test_a_label_out_of_range_stops_fit_with_cross_entropys_message(label, how):
    """A class label outside 0..C-1 in the last batch (past the rows the starting
    loss reads) stops fit with the loss's message, whichever way fit runs:
    without callbacks the compiled step checks every label once before the
    first step (so nothing trains); with a callback (which could change the
    labels) and in the eager step, each batch is checked as it comes; labels in
    a user's DataLoader, and float labels of shape (N, 1), are checked as those
    fit builds."""
    X, y = blobs(n=EVAL_BATCH_SIZE + 76, classes=3)  # batches of 500, 500, 100
    y[-1] = label
    model = classifier_net(3)
    before = weights_of(model)
    counter = CountBatches()
    train_data = (X, y.astype(np.float64)[:, None]) if how == "float (N, 1)" else (X, y)
    if how == "DataLoader":
        train_data = DataLoader(TensorDataset(X, y), batch_size=500)
    with pytest.raises(
        ValueError,
        match=rf"cross_entropy: target label {label} is out of range for 3 classes "
        r"\(labels must be integers from 0 to 2\)",
    ):
        fit(
            model,
            nn.CrossEntropyLoss(),
            dg.optim.SGD(model.parameters(), lr=0.1),
            train_data,
            epochs=2,
            batch_size=500,
            shuffle=False,
            verbose=0,
            callbacks=[counter] if how == "compiled, a callback" else [],
            fast=how != "eager",
        )
    if how == "compiled, a callback":
        assert counter.batches == 2  # the first two batches trained
    elif how != "eager":
        assert_same_weights(weights_of(model), before)


@settings(max_examples=50, deadline=None)
@given(
    loss=st.sampled_from(["CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss"]),
    rows=st.integers(1, 3),
    samples=st.integers(1, 9),
    seed=st.integers(0, 2**32 - 1),
)
def test_correct_predictions_are_counted_as_accuracy_defines_them(
    loss, rows, samples, seed
):
    """count_correct, for one output (fit's batches) or several (a block's
    epochs), counts the predictions equal to the targets: the argmax against
    class indices or one-hot rows, an output over the threshold against 0/1."""
    rng = np.random.default_rng(seed)
    kind = loss_kind(getattr(nn, loss)())
    if kind.index_targets:
        outputs = rng.normal(size=(rows, samples, 4))
        targets = [rng.integers(0, 4, samples), np.eye(4)[rng.integers(0, 4, samples)]]
        predicted = outputs.argmax(axis=2)
    else:
        outputs = rng.normal(size=(rows, samples, 1)) + kind.threshold
        targets = [rng.integers(0, 2, (samples, 1)).astype(np.float32)]
        predicted = (outputs > kind.threshold).astype(int)[:, :, 0]
    for target in targets:
        classes = (
            target.argmax(axis=1)
            if target.ndim == 2 and kind.index_targets
            else target.reshape(-1)
        )
        expected = [
            sum(int(p == c) for p, c in zip(row, classes, strict=True))
            for row in predicted
        ]
        correct, counted = count_correct(kind, outputs, target)
        assert correct.tolist() == expected and counted == samples
        for row in range(rows):
            one, _ = count_correct(kind, outputs[row][None], target)
            assert one.tolist() == [expected[row]]


def test_validation_runs_in_eval_mode_without_gradients_then_back_to_train():
    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 3)
            self.seen = []

        def forward(self, x):
            self.seen.append((len(x), self.training, dg.is_grad_enabled()))
            return self.linear(x)

    X, y = blobs(n=8)
    model = Probe()
    fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=2,
        batch_size=4,
        validation=(X[:3], y[:3]),
        verbose=0,
    )

    assert {call for call in model.seen if call[0] == 4} == {(4, True, True)}
    assert [call for call in model.seen if call[0] == 3] == [(3, False, False)] * 2
    assert model.training is True


def test_validation_fraction_is_split_off_the_training_data():
    X, y = blobs(n=40)
    model = classifier_net()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=1,
        batch_size=4,
        validation=0.25,
        verbose=0,
        seed=0,
    )

    assert "val_loss" in history.history
    assert history.grad_norms and len(history.epoch) == 1


def test_fit_takes_a_dataset_or_a_data_loader():
    from deepgrad.data import load_dataset

    dataset = load_dataset("xor")
    model = lab_network()
    history = fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        dataset,
        epochs=2,
        batch_size="full",
        verbose=0,
    )
    loader = DataLoader(
        TensorDataset(XOR_X, XOR_Y),
        batch_size=1,
        shuffle=True,
        generator=dg.Generator().manual_seed(0),
    )
    history_from_loader = fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        loader,
        epochs=2,
        verbose=0,
    )

    assert len(history.epoch) == len(history_from_loader.epoch) == 2


def test_xor_fit_with_the_lab_network_learns_0_1_1_0():
    model = lab_network()
    history = fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (XOR_X, XOR_Y),
        epochs=5000,
        batch_size="full",
        verbose=0,
    )

    with dg.no_grad():
        predicted = (model(dg.tensor(XOR_X)) > 0.5).array.ravel()
    assert predicted.astype(int).tolist() == [0, 1, 1, 0]
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["loss"][-1] < history.history["loss"][0] / 10


def test_full_batch_sgd_fit_gives_exactly_the_manual_update_loops_losses():
    """fast=False runs the eager step: bit for bit the lab's manual loop. The
    default compiled step (deepgrad.fast) gives the same losses to float32 rounding."""
    epochs, lr = 300, 0.1
    model = lab_network()
    manual = copy.deepcopy(model)
    compiled = copy.deepcopy(model)
    history = fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=lr),
        (XOR_X, XOR_Y),
        epochs=epochs,
        batch_size="full",
        verbose=0,
        fast=False,
    )
    compiled_history = fit(
        compiled,
        nn.BCELoss(),
        dg.optim.SGD(compiled.parameters(), lr=lr),
        (XOR_X, XOR_Y),
        epochs=epochs,
        batch_size="full",
        verbose=0,
    )

    X, y = dg.tensor(XOR_X), dg.tensor(XOR_Y.reshape(4, 1).astype(np.float32))
    manual_losses = []
    for _ in range(epochs):  # the lab's loop
        loss = nn.functional.binary_cross_entropy(manual(X), y)
        loss.backward()
        with dg.no_grad():
            for param in manual.parameters():
                param -= lr * param.grad
        for param in manual.parameters():
            param.grad.zero_()
        manual_losses.append(loss.item())

    assert history.history["loss"] == manual_losses
    assert_same_weights(weights_of(model), weights_of(manual))
    np.testing.assert_allclose(
        compiled_history.history["loss"], manual_losses, rtol=1e-6
    )


# -- EarlyStopping -----------------------------------------------------------------
def fit_scripted(values, *callbacks, epochs=None, key="loss", verbose=0, model=None):
    model = model or line_model()
    return model, fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.01),
        (LINE_X, LINE_Y),
        epochs=epochs or len(values),
        batch_size="full",
        verbose=verbose,
        callbacks=[ScriptedValue(key, values), *callbacks],
    )


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    stop = EarlyStopping(monitor="loss", patience=3)
    _, history = fit_scripted([5.0, 4.0, 4.5, 4.2, 4.1, 3.0, 2.0, 1.0], stop)

    assert history.epoch == [0, 1, 2, 3, 4]
    assert stop.stopped_epoch == 4
    assert "early stopping" in history.stopped_reason


def test_early_stopping_patience_0_stops_at_the_first_epoch_that_does_not_improve():
    _, history = fit_scripted(
        [3.0, 2.0, 2.0, 1.0], EarlyStopping(monitor="loss", patience=0)
    )

    assert history.epoch == [0, 1, 2]


def test_early_stopping_counts_gains_below_min_delta_as_no_improvement():
    values = [1.0, 0.95, 0.9, 0.85, 0.8, 0.75]
    _, stopped = fit_scripted(
        values, EarlyStopping(monitor="loss", min_delta=0.1, patience=2)
    )
    _, full = fit_scripted(values, EarlyStopping(monitor="loss", patience=2))

    assert stopped.epoch == [0, 1, 2] and len(full.epoch) == 6


def fit_scripted_accuracy(values, callback):
    X, y = blobs(n=12)
    model = classifier_net()
    return fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=len(values),
        verbose=0,
        callbacks=[ScriptedValue("accuracy", values), callback],
    )


def test_early_stopping_auto_mode_maximizes_an_accuracy():
    history = fit_scripted_accuracy(
        [0.5, 0.6, 0.4, 0.9, 1.0], EarlyStopping(monitor="accuracy", patience=1)
    )

    assert history.epoch == [0, 1, 2]


def test_early_stopping_ignores_the_epochs_before_start_from_epoch():
    stop = EarlyStopping(monitor="accuracy", patience=1, start_from_epoch=2)
    history = fit_scripted_accuracy([0.9, 0.1, 0.5, 0.4, 0.3, 0.2], stop)

    assert history.epoch == [0, 1, 2, 3] and stop.best == 0.5


def test_early_stopping_restore_best_weights_puts_back_the_best_epochs_weights():
    recorder = RecordWeights()
    stop = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    model, history = fit_scripted([5.0, 1.0, 3.0, 4.0, 0.5], recorder, stop)

    assert history.epoch == [0, 1, 2, 3]
    assert stop.best_epoch == 1
    assert_same_weights(weights_of(model), recorder.weights[1])
    assert not np.array_equal(model.weight.array, recorder.weights[-1]["weight"])


def test_early_stopping_without_validation_falls_back_to_loss_with_a_warning():
    model = line_model()
    with pytest.warns(UserWarning, match="'val_loss' is not available.*'loss'"):
        history = fit(
            model,
            nn.MSELoss(),
            dg.optim.SGD(model.parameters(), lr=0.01),
            (LINE_X, LINE_Y),
            epochs=4,
            verbose=0,
            callbacks=[ScriptedValue("loss", [1.0] * 4), EarlyStopping(patience=1)],
        )

    assert history.epoch == [0, 1]


def test_monitoring_a_value_that_is_never_logged_is_a_value_error():
    with pytest.raises(ValueError, match="val_f1.*choose one of"):
        fit_scripted([1.0], EarlyStopping(monitor="val_f1"))


def test_early_stopping_resets_its_state_for_a_second_run():
    stop = EarlyStopping(monitor="loss", patience=1)
    fit_scripted([1.0, 2.0, 3.0], stop)
    _, history = fit_scripted([3.0, 2.0, 1.0], stop)

    assert history.epoch == [0, 1, 2] and stop.stopped_epoch == 0


# -- ModelCheckpoint ---------------------------------------------------------------
def test_model_checkpoint_saves_every_epoch_with_its_training_state(tmp_path):
    io = pytest.importorskip("deepgrad.io")
    model = line_model()
    optimizer = dg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    checkpoint = ModelCheckpoint(tmp_path / "ckpt-{epoch}.dg")
    fit(
        model,
        nn.MSELoss(),
        optimizer,
        (LINE_X, LINE_Y),
        epochs=3,
        verbose=0,
        callbacks=[checkpoint],
    )

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "ckpt-1.dg",
        "ckpt-2.dg",
        "ckpt-3.dg",
    ]
    loaded = io.load_checkpoint(tmp_path / "ckpt-3.dg")
    assert loaded.training_state["epoch"] == 3
    assert loaded.optimizer_state is not None
    np.testing.assert_array_equal(loaded.obj.weight.array, model.weight.array)


def test_model_checkpoint_save_best_only_saves_on_improvement_only(tmp_path):
    pytest.importorskip("deepgrad.io")
    checkpoint = ModelCheckpoint(
        tmp_path / "best-{epoch}.dg", monitor="loss", save_best_only=True
    )
    fit_scripted([3.0, 2.0, 2.5, 1.0, 1.5], checkpoint)

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "best-1.dg",
        "best-2.dg",
        "best-4.dg",
    ]


# -- learning rates ----------------------------------------------------------------
def test_learning_rate_scheduler_steps_a_step_lr_once_per_epoch():
    model = line_model()
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    step_lr = dg.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = fit(
        model,
        nn.MSELoss(),
        optimizer,
        (LINE_X, LINE_Y),
        epochs=5,
        verbose=0,
        callbacks=[LearningRateScheduler(step_lr)],
    )

    assert history.history["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert optimizer.param_groups[0]["lr"] == 0.025  # epoch 5 is no multiple of 2


def test_learning_rate_scheduler_steps_a_plateau_scheduler_with_the_monitored_value():
    model = line_model()
    optimizer = dg.optim.SGD(model.parameters(), lr=1.0)
    plateau = dg.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=1)
    history = fit(
        model,
        nn.MSELoss(),
        optimizer,
        (LINE_X, LINE_Y),
        epochs=5,
        verbose=0,
        callbacks=[
            ScriptedValue("loss", [1.0] * 5),
            LearningRateScheduler(plateau, monitor="loss"),
        ],
    )

    assert history.history["lr"] == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1])


def test_learning_rate_scheduler_takes_a_keras_function_of_epoch_and_lr():
    model = line_model()
    history = fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (LINE_X, LINE_Y),
        epochs=3,
        verbose=0,
        callbacks=[LearningRateScheduler(lambda epoch, lr: 0.01 * (epoch + 1))],
    )

    assert history.history["lr"] == [0.01, 0.02, 0.03]


def test_scheduler_on_another_optimizer_is_a_value_error():
    model = line_model()
    other = dg.optim.SGD(line_model().parameters(), lr=0.1)
    with pytest.raises(ValueError, match="another optimizer"):
        fit(
            model,
            nn.MSELoss(),
            dg.optim.SGD(model.parameters(), lr=0.1),
            (LINE_X, LINE_Y),
            verbose=0,
            callbacks=[LearningRateScheduler(dg.optim.lr_scheduler.StepLR(other, 1))],
        )


def test_reduce_lr_on_plateau_multiplies_lr_after_patience_bad_epochs(capsys):
    callback = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, verbose=1)
    model = line_model()
    history = fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (LINE_X, LINE_Y),
        epochs=7,
        verbose=0,
        callbacks=[ScriptedValue("loss", [1.0] * 7), callback],
    )

    assert history.history["lr"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    )
    assert "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.05." in (
        capsys.readouterr().out
    )


def plateau_lrs(epochs, **options):
    model = line_model()
    history = fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (LINE_X, LINE_Y),
        epochs=epochs,
        verbose=0,
        callbacks=[
            ScriptedValue("loss", [1.0] * epochs),
            ReduceLROnPlateau(monitor="loss", **options),
        ],
    )
    return history.history["lr"]


def test_reduce_lr_on_plateau_cooldown_skips_epochs_after_a_reduction():
    # as Keras: the cooldown counter runs down at the start of each epoch
    assert plateau_lrs(6, factor=0.5, patience=1) == pytest.approx(
        [0.1, 0.1, 0.05, 0.025, 0.0125, 0.00625]
    )
    assert plateau_lrs(6, factor=0.5, patience=1, cooldown=2) == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    )


def test_reduce_lr_on_plateau_never_goes_below_min_lr():
    assert plateau_lrs(5, factor=0.1, patience=1, min_lr=0.005) == pytest.approx(
        [0.1, 0.1, 0.01, 0.005, 0.005]
    )


def test_reduce_lr_on_plateau_rejects_a_factor_of_1_or_more():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)


# -- CSVLogger ---------------------------------------------------------------------
def test_csv_logger_writes_a_header_then_one_row_per_epoch(tmp_path):
    X, y = blobs()
    model = classifier_net()
    path = tmp_path / "log.csv"
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (X, y),
        epochs=3,
        validation=(X, y),
        verbose=0,
        callbacks=[CSVLogger(path)],
    )

    rows = list(csv.reader(path.open()))
    assert rows[0] == [
        "epoch",
        "accuracy",
        "loss",
        "lr",
        "time",
        "val_accuracy",
        "val_loss",
    ]
    assert [row[0] for row in rows[1:]] == ["0", "1", "2"]
    assert [float(row[2]) for row in rows[1:]] == history.history["loss"]


def test_csv_logger_append_adds_rows_without_a_second_header(tmp_path):
    path = tmp_path / "log.csv"
    fit_scripted([1.0, 2.0], CSVLogger(path, separator=";"))
    fit_scripted([3.0], CSVLogger(path, separator=";", append=True))

    lines = path.read_text().splitlines()
    assert lines[0] == "epoch;loss;lr;time"
    assert [line.split(";")[1] for line in lines[1:]] == ["1.0", "2.0", "3.0"]


# -- divergence, interrupts, resuming ----------------------------------------------
def diverging_run(verbose, callbacks=()):
    X = np.linspace(1, 3, 12, dtype=np.float32).reshape(-1, 1)
    model = line_model()
    recorder = RecordWeights()
    with np.errstate(over="ignore", invalid="ignore"):  # NumPy's own overflow notes
        history = fit(
            model,
            nn.MSELoss(),
            dg.optim.SGD(model.parameters(), lr=100.0),
            (X, 2 * X[:, 0]),
            epochs=100,
            batch_size="full",
            verbose=verbose,
            callbacks=[recorder, *callbacks],
        )
    return model, history, recorder


def test_divergence_stops_at_once_and_suggests_a_lower_learning_rate(
    capsys, monkeypatch
):
    _, history, _ = diverging_run(verbose=2)

    # the weights blow up (norm 2e6 after 0) an epoch before the loss overflows
    stopped_at = len(history.epoch)
    assert 1 < stopped_at < 100 and history.diverged
    assert re.fullmatch(
        rf"Epoch {stopped_at}: the weights' norm \(\S+\) grew past 1e\+04, 10000 "
        r"times its value before training — training stopped and the last good "
        r"weights restored\. The learning rate \(100\) is probably too high; try a "
        r"lower one such as 10\.",
        history.stopped_reason,
    )
    assert history.stopped_reason in capsys.readouterr().out

    # without the weight rule, the loss rule stops it: 5 epochs above 10x the first
    monkeypatch.setattr(divergence, "WEIGHT_FACTOR", math.inf)
    _, by_loss, _ = diverging_run(verbose=2)
    assert len(by_loss.epoch) == stopped_at + 4
    losses = by_loss.history["loss"]
    assert all(loss > 2 * by_loss.initial_loss for loss in losses[-5:])
    assert losses[-6] <= 2 * by_loss.initial_loss
    assert by_loss.stopped_reason.startswith(
        f"Epoch {stopped_at + 4}: the loss ({losses[-1]:.4g}) has stayed above 2 times "
        f"its value before training ({by_loss.initial_loss:.4g}) for 5 epochs — "
        "training stopped"
    )
    # and without either, it runs until the loss is not finite
    monkeypatch.setattr(divergence, "LOSS_FACTOR", math.inf)
    _, by_nan, _ = diverging_run(verbose=2)
    assert len(by_nan.epoch) >= len(by_loss.epoch)
    assert re.fullmatch(
        rf"Epoch {len(by_nan.epoch) + 1}: loss is (nan|inf) — training stopped .*",
        by_nan.stopped_reason,
    )


def test_divergence_restores_the_weights_that_gave_the_last_finite_loss(nan_rule_only):
    """The weights at the start of the last good epoch: its loss was computed with
    them and was finite (the weights after its update may already blow up)."""
    model, history, recorder = diverging_run(verbose=2)

    assert len(recorder.weights) == len(history.epoch) >= 2
    assert_same_weights(weights_of(model), recorder.weights[-2])
    assert all(np.all(np.isfinite(value)) for value in weights_of(model).values())
    assert np.all(np.isfinite(history.history["loss"]))
    X = np.linspace(1, 3, 12, dtype=np.float32).reshape(-1, 1)
    with dg.no_grad():
        loss = nn.MSELoss()(model(dg.tensor(X)), dg.tensor(2 * X))
    assert loss.item() == pytest.approx(history.history["loss"][-1], rel=1e-5)


def test_divergence_at_verbose_0_is_a_runtime_warning():
    with pytest.warns(RuntimeWarning, match="too high"):
        diverging_run(verbose=0)


def test_divergence_in_the_first_epoch_restores_the_initial_weights():
    model = line_model()
    initial = weights_of(model)
    # finite data (inf in X is refused before training) whose second sample's
    # loss overflows float32 after the first sample's update
    X = np.array([[1.0], [1e20]], dtype=np.float32)
    with pytest.warns(RuntimeWarning):
        history = fit(
            model,
            nn.MSELoss(),
            dg.optim.SGD(model.parameters(), lr=0.1),
            (X, LINE_Y),
            epochs=3,
            batch_size=1,
            shuffle=False,
            verbose=0,
        )

    assert history.epoch == [] and "Epoch 1: loss is" in history.stopped_reason
    assert_same_weights(weights_of(model), initial)


class InterruptAt(Callback):
    """Raise KeyboardInterrupt (Ctrl-C) at the start or end of one epoch."""

    def __init__(self, epoch, where="on_epoch_end"):
        self.epoch, self.where = epoch, where
        self.ended = False

    def on_train_begin(self, logs=None):
        self.ended = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.where == "on_epoch_begin" and epoch == self.epoch:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs=None):
        if self.where == "on_epoch_end" and epoch == self.epoch:
            self.weights = weights_of(self.model)
            raise KeyboardInterrupt

    def on_train_end(self, logs=None):
        self.ended = True


def test_keyboard_interrupt_stops_cleanly_and_returns_the_history(capsys):
    interrupt = InterruptAt(2)
    recorder = RecordWeights()
    model = line_model()
    history = fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.01),
        (LINE_X, LINE_Y),
        epochs=10,
        verbose=2,
        callbacks=[recorder, interrupt],
    )

    assert history.interrupted is True
    assert history.epoch == [0, 1, 2]
    assert interrupt.ended is True  # on_train_end still runs
    assert_same_weights(weights_of(model), interrupt.weights)  # nothing restored
    assert history.training_state["epoch"] == 3
    assert "Epoch 3: training interrupted" in capsys.readouterr().out
    assert model.training is True


def resumable_setup():
    X, y = blobs(n=40)
    dg.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
    return X, y, model


def test_a_run_interrupted_and_resumed_ends_with_the_uninterrupted_weights():
    X, y, model = resumable_setup()
    initial = weights_of(model)
    optimizer = dg.optim.Adam(model.parameters(), lr=0.01)
    dg.manual_seed(7)
    full = fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        (X, y),
        epochs=6,
        batch_size=8,
        seed=1,
        verbose=0,
    )

    _, _, interrupted = resumable_setup()
    interrupted.load_state_dict(initial)
    interrupted_optimizer = dg.optim.Adam(interrupted.parameters(), lr=0.01)
    dg.manual_seed(7)
    first = fit(
        interrupted,
        nn.CrossEntropyLoss(),
        interrupted_optimizer,
        (X, y),
        epochs=6,
        batch_size=8,
        seed=1,
        verbose=0,
        callbacks=[InterruptAt(3, "on_epoch_begin")],
    )
    saved = copy.deepcopy(
        (
            weights_of(interrupted),
            interrupted_optimizer.state_dict(),
            first.training_state,
        )
    )

    _, _, resumed = resumable_setup()  # fresh objects: nothing shared with the run
    resumed.load_state_dict(saved[0])
    resumed_optimizer = dg.optim.Adam(resumed.parameters(), lr=0.01)
    resumed_optimizer.load_state_dict(saved[1])
    dg.manual_seed(12345)  # the training state restores deepgrad's generator
    second = fit(
        resumed,
        nn.CrossEntropyLoss(),
        resumed_optimizer,
        (X, y),
        epochs=6,
        batch_size=8,
        seed=99,
        verbose=0,
        training_state=saved[2],
    )

    assert first.epoch == [0, 1, 2] and saved[2]["epoch"] == 3
    assert second.epoch == [0, 1, 2, 3, 4, 5]
    assert second.history["loss"] == full.history["loss"]
    assert_same_weights(weights_of(resumed), weights_of(model))


def test_a_checkpoint_file_resumes_to_the_uninterrupted_weights(tmp_path):
    io = pytest.importorskip("deepgrad.io")
    X, y, model = resumable_setup()
    initial = weights_of(model)
    dg.manual_seed(7)
    fit(
        model,
        nn.CrossEntropyLoss(),
        dg.optim.Adam(model.parameters(), lr=0.01),
        (X, y),
        epochs=5,
        batch_size=8,
        seed=1,
        verbose=0,
    )

    _, _, interrupted = resumable_setup()
    interrupted.load_state_dict(initial)
    optimizer = dg.optim.Adam(interrupted.parameters(), lr=0.01)
    dg.manual_seed(7)
    fit(
        interrupted,
        nn.CrossEntropyLoss(),
        optimizer,
        (X, y),
        epochs=5,
        batch_size=8,
        seed=1,
        verbose=0,
        callbacks=[ModelCheckpoint(tmp_path / "run-{epoch}.dg"), InterruptAt(2)],
    )

    checkpoint = io.load_checkpoint(tmp_path / "run-2.dg")
    resumed = checkpoint.obj
    resumed.train()
    resumed_optimizer = dg.optim.Adam(resumed.parameters(), lr=0.01)
    resumed_optimizer.load_state_dict(checkpoint.optimizer_state)
    history = fit(
        resumed,
        nn.CrossEntropyLoss(),
        resumed_optimizer,
        (X, y),
        epochs=5,
        batch_size=8,
        seed=1,
        verbose=0,
        training_state=checkpoint.training_state,
    )

    assert history.epoch == [0, 1, 2, 3, 4]
    assert_same_weights(weights_of(resumed), weights_of(model))


def test_training_state_that_is_not_one_is_a_value_error():
    model = line_model()
    with pytest.raises(ValueError, match="training_state"):
        fit(
            model,
            nn.MSELoss(),
            dg.optim.SGD(model.parameters(), lr=0.1),
            (LINE_X, LINE_Y),
            verbose=0,
            training_state={"epoch": 1},
        )


# -- errors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"verbose": 3}, ValueError, "verbose"),
        ({"log_every": 0}, ValueError, "log_every"),
        ({"epochs": 2.5}, TypeError, "epochs"),
        ({"validation": 1.5}, ValueError, "between 0 and 1"),
        ({"train_data": "data.csv"}, TypeError, "train_data"),
        ({"metrics": "f1"}, ValueError, "metrics"),
        ({"metrics": "accuracy"}, ValueError, "classification loss"),
        ({"loss_fn": nn.MSELoss(reduction="none")}, ValueError, "scalar"),
    ],
)
def test_fit_explains_bad_arguments(kwargs, error, match):
    model = line_model()
    arguments = {
        "loss_fn": nn.MSELoss(),
        "train_data": (LINE_X, LINE_Y),
        "verbose": 0,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        fit(model, optimizer=dg.optim.SGD(model.parameters(), lr=0.1), **arguments)


def test_a_validation_fraction_with_a_data_loader_is_a_value_error():
    model = line_model()
    with pytest.raises(ValueError, match="DataLoader"):
        fit(
            model,
            nn.MSELoss(),
            dg.optim.SGD(model.parameters(), lr=0.1),
            DataLoader(TensorDataset(LINE_X, LINE_Y)),
            validation=0.5,
            verbose=0,
        )


# -- Classifier --------------------------------------------------------------------
def named_blobs(n=60):
    X, y = blobs(n=n)
    names = np.array(["setosa", "versicolor", "virginica"])
    return X * 10 + 5, names[y]


def test_classifier_learns_string_labels_and_predicts_in_them():
    from deepgrad.data import Standardizer

    X, labels = named_blobs()
    model = classifier_net()
    clf = Classifier(
        model,
        optimizer=dg.optim.Adam(model.parameters(), lr=0.05),
        standardizer=Standardizer(),
    )
    history = clf.fit(X, labels, epochs=30, batch_size=16, verbose=0, seed=0)

    assert clf.class_names == ["setosa", "versicolor", "virginica"]
    assert clf.task == "multiclass" and clf.loss_name == "CrossEntropyLoss"
    assert clf.history is history
    predicted = clf.predict(X)
    assert set(predicted) <= set(clf.class_names)
    assert np.mean(predicted == labels) > 0.9


def test_classifier_fits_the_standardizer_on_the_training_split_only():
    from deepgrad.data import Standardizer, train_val_test_split

    X, labels = named_blobs()
    clf = Classifier(classifier_net(), standardizer=Standardizer())
    clf.fit(X, labels, epochs=1, validation=0.25, verbose=0, seed=4)

    indices = np.array(
        [["setosa", "versicolor", "virginica"].index(label) for label in labels]
    )
    train_X = train_val_test_split(X, indices, val=0.25, seed=4).train[0]
    np.testing.assert_allclose(clf.standardizer.mean_, train_X.mean(axis=0), rtol=1e-5)
    assert not np.allclose(clf.standardizer.mean_, X.mean(axis=0), rtol=1e-5)


def test_classifier_predict_proba_rows_are_probabilities_over_the_classes():
    X, labels = named_blobs()
    clf = Classifier(classifier_net())
    clf.fit(X, labels, epochs=2, verbose=0)

    probabilities = clf.predict_proba(X)
    assert probabilities.shape == (60, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert (
        np.asarray(clf.class_names)[probabilities.argmax(axis=1)] == clf.predict(X)
    ).all()


def test_binary_classifier_with_one_sigmoid_unit_gives_two_probability_columns():
    clf = Classifier(lab_network(), optimizer=None, class_names=["off", "on"])
    clf.fit(XOR_X, XOR_Y, epochs=1, batch_size="full", verbose=0)

    assert clf.loss_name == "BCELoss" and clf.task == "binary"
    probabilities = clf.predict_proba(XOR_X)
    with dg.no_grad():
        positive = clf.model(dg.tensor(XOR_X)).array[:, 0]
    np.testing.assert_allclose(probabilities, np.stack([1 - positive, positive], 1))
    assert clf.predict(XOR_X).tolist() == [
        ["off", "on"][int(p > 0.5)] for p in positive
    ]


@pytest.mark.parametrize(
    ("outputs", "last", "labels", "expected"),
    [
        (1, nn.Sigmoid(), XOR_Y, "BCELoss"),
        (1, None, XOR_Y, "BCEWithLogitsLoss"),
        (3, None, np.array([0, 1, 2, 1]), "CrossEntropyLoss"),
        (3, nn.LogSoftmax(dim=1), np.array([0, 1, 2, 1]), "NLLLoss"),
        (1, None, np.array([0.5, 1.5, 2.0, 0.1], dtype=np.float32), "MSELoss"),
    ],
)
def test_classifier_picks_the_loss_from_the_labels_and_the_last_layer(
    outputs, last, labels, expected
):
    clf = Classifier(classifier_net(outputs, last=last))
    clf.fit(XOR_X, labels, epochs=1, verbose=0)

    assert clf.loss_name == expected


def test_classifier_evaluate_reports_loss_accuracy_and_per_class_metrics():
    pytest.importorskip("deepgrad.metrics")
    X, labels = named_blobs()
    clf = Classifier(classifier_net(), loss_fn="CrossEntropyLoss")
    clf.fit(X, labels, epochs=5, verbose=0)

    result = clf.evaluate(X, labels)
    assert result["accuracy"] == pytest.approx(np.mean(clf.predict(X) == labels))
    assert result["loss"] > 0
    assert result["confusion_matrix"].shape == (3, 3)
    assert result["confusion_matrix"].sum() == 60
    assert result["report"]


def test_classifier_regression_predicts_one_value_per_sample():
    clf = Classifier(line_model(), loss_fn="MSELoss")
    clf.optimizer = dg.optim.SGD(clf.model.parameters(), lr=0.1)
    clf.fit(LINE_X, LINE_Y, epochs=30, batch_size="full", verbose=0)

    assert clf.task == "regression"
    np.testing.assert_allclose(clf.predict(LINE_X), LINE_Y, atol=0.3)
    with pytest.raises(ValueError, match="classification"):
        clf.predict_proba(LINE_X)


def test_classifier_rejects_labels_outside_its_class_names():
    X, labels = named_blobs()
    clf = Classifier(classifier_net())
    clf.fit(X, labels, epochs=1, verbose=0)

    with pytest.raises(ValueError, match=r"\['tulip'\] are not among the class names"):
        clf.evaluate(X[:2], np.array(["setosa", "tulip"]))


def test_classifier_rejects_an_unknown_loss_name_and_task():
    with pytest.raises(ValueError, match="unknown loss"):
        Classifier(line_model(), loss_fn="hinge")
    with pytest.raises(ValueError, match="task"):
        Classifier(line_model(), task="ranking")


def test_classifier_fits_a_dataset_with_its_class_names():
    from deepgrad.data import load_dataset

    clf = Classifier(lab_network(), optimizer=None)
    clf.optimizer = dg.optim.SGD(clf.model.parameters(), lr=0.1)
    clf.fit(load_dataset("xor"), epochs=2, batch_size="full", verbose=0)

    assert clf.class_names == ["0", "1"] and clf.task == "binary"


# -- summary -----------------------------------------------------------------------
def test_summary_prints_a_keras_table_of_layers_shapes_and_parameters(capsys):
    lab_network().summary()

    assert (
        capsys.readouterr().out
        == "\n".join(
            [
                'Model: "Sequential"',
                "_" * 65,
                " Layer (type)                Output Shape              Param #",
                "=" * 65,
                " 0 (Linear)                  (None, 4)                 12",
                " 1 (Sigmoid)                 (None, 4)                 0",
                " 2 (Linear)                  (None, 4)                 20",
                " 3 (Sigmoid)                 (None, 4)                 0",
                " 4 (Linear)                  (None, 1)                 5",
                " 5 (Sigmoid)                 (None, 1)                 0",
                "=" * 65,
                "Total params: 37",
                "Trainable params: 37",
                "Non-trainable params: 0",
                "_" * 65,
            ]
        )
        + "\n"
    )


def test_summary_counts_frozen_weights_and_batchnorm_statistics_as_non_trainable():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    model[2].requires_grad_(False)

    text = summary(model)
    assert " 1 (BatchNorm1d)" in text and "(None, 4)" in text
    assert "Total params: 42" in text  # 16 + (8 + 8 statistics) + 10 (frozen)
    assert "Trainable params: 24" in text
    assert "Non-trainable params: 18" in text


def test_summary_uses_input_shape_when_the_first_layer_is_not_linear():
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 2), nn.Softmax(dim=1))

    unknown = summary(model)
    known = summary(model, input_shape=(2, 3))
    assert "(None, 6)" not in unknown and "?" in unknown
    assert " 0 (Flatten)                 (None, 6)" in known
    assert model.training is True


def test_summary_lists_the_newer_layers_and_feeds_an_embedding_indices():
    """Embedding, LayerNorm, PReLU and the newer activations each get a row with
    their output shape and parameter count; a model starting with an Embedding
    runs its zero batch as int64 indices (float zeros would be refused)."""
    model = nn.Sequential(
        nn.Embedding(10, 4), nn.LayerNorm(4), nn.Flatten(), nn.Linear(12, 6),
        nn.ELU(), nn.SiLU(), nn.Mish(), nn.Softplus(), nn.Hardtanh(), nn.PReLU(6),
    )  # fmt: skip

    rows = summary(model, input_shape=(3,)).splitlines()
    for row in [
        " 0 (Embedding)               (None, 3, 4)              40",
        " 1 (LayerNorm)               (None, 3, 4)              8",
        " 2 (Flatten)                 (None, 12)                0",
        " 3 (Linear)                  (None, 6)                 78",
        " 4 (ELU)                     (None, 6)                 0",
        " 5 (SiLU)                    (None, 6)                 0",
        " 6 (Mish)                    (None, 6)                 0",
        " 7 (Softplus)                (None, 6)                 0",
        " 8 (Hardtanh)                (None, 6)                 0",
        " 9 (PReLU)                   (None, 6)                 6",
    ]:
        assert row in rows
    text = "\n".join(rows)
    assert "Total params: 132" in text  # 40 + 8 + 78 + 6


def test_summary_of_a_nested_custom_module_lists_its_layers():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(2, 8), nn.ReLU())
            self.head = nn.Linear(8, 1)

        def forward(self, x):
            return self.head(self.encoder(x))

    text = summary(Net())
    assert 'Model: "Net"' in text
    assert " encoder.0 (Linear)          (None, 8)                 24" in text
    assert " head (Linear)               (None, 1)                 9" in text


def test_summary_explains_a_forward_pass_that_fails():
    with pytest.raises(ValueError, match="input_shape"):
        summary(nn.Sequential(nn.Flatten(), nn.Linear(6, 2)), input_shape=5)
