"""``deepgrad train DATA --resume FILE``: the run's options come from FILE.

A model file that ``--out`` (or Ctrl-C) writes records the options of its run
(``training_state["cli"]``). ``--resume`` takes every option left out from there,
not from the command's defaults; an option given that agrees is accepted, one that
contradicts is refused in one line naming it. Every resumed run here is checked
against the same run never stopped: the same weights, bit for bit, and the same
log. A file from before the record still resumes when its options are given.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from cli_helpers import error_line, interrupt_at_epoch, run
from deepgrad import io
from deepgrad.train import Classifier

# options that are not train's defaults, changing every part of the run: the
# network, its init and scaling, the optimizer, the batches, the split, dropout's
# random numbers and the L1 penalty (the eager step)
CLASSIFICATION = [
    "--hidden", "5,3", "--activation", "tanh", "--optimizer", "adam",
    "--lr", "0.02", "--batch-size", "16", "--weight-decay", "0.001",
    "--seed", "7", "--val", "0.2", "--dropout", "0.1", "--init", "he",
    "--no-standardize", "--l1", "0.0005",
]  # fmt: skip
# a regression on a CSV file through the compiled step: the target column,
# Nesterov's momentum, the targets' scaling
REGRESSION = [
    "--target", "y", "--hidden", "6", "--activation", "sigmoid",
    "--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--lr", "0.01",
    "--batch-size", "8", "--weight-decay", "0.001", "--seed", "3",
    "--val", "0.25", "--init", "xavier",
]  # fmt: skip
RESUMED_FROM_FILE = "leave them out: --resume takes the run's options from"


def _regression_csv(path: Path) -> Path:
    """y = 2a - 3b + noise over 120 rows: a regression target (not whole numbers)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = X @ np.array([2.0, -3.0]) + 0.1 * rng.normal(size=120)
    rows = [f"{a:.6f},{b:.6f},{t:.6f}" for (a, b), t in zip(X, y, strict=True)]
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture(params=["classification", "regression"])
def trained_run(request, tmp_path) -> tuple[str, list[str]]:
    """DATA and the non-default options of a run: moons, or a regression CSV."""
    if request.param == "classification":
        return "moons", CLASSIFICATION
    return str(_regression_csv(tmp_path / "numbers.csv")), REGRESSION


def _train(*args: str | Path) -> str:
    """``deepgrad train ARGS`` at one log line an epoch; its stdout."""
    result = run("train", *args, "--verbose", "2")
    assert result.exit_code == 0, result.output
    return result.stdout


def _epoch_lines(stdout: str) -> list[str]:
    """The log's epoch lines without their timing, the one part that varies."""
    return [
        re.sub(r" - [0-9.]+m?s$", "", line)
        for line in stdout.splitlines()
        if line.startswith("Epoch ")
    ]


def _weights(path: Path) -> dict[str, np.ndarray]:
    return {
        name: tensor.numpy()
        for name, tensor in dg.load(path).model.state_dict().items()
    }


def _history(path: Path) -> dict:
    """The history a model file holds, but the epochs' timing."""
    history = io.load_checkpoint(path).training_state["history"]
    history["history"].pop("time")
    return history


def _assert_same_run(resumed: Path, unbroken: Path) -> None:
    """The two files hold the same weights bit for bit, the same history and the
    same recorded options (so the resumed file resumes as the unbroken one)."""
    expected = _weights(unbroken)
    assert _weights(resumed).keys() == expected.keys()
    for name, weight in _weights(resumed).items():
        assert np.array_equal(weight, expected[name]), name
    assert _history(resumed) == _history(unbroken)
    assert (
        io.load_checkpoint(resumed).training_state["cli"]
        == io.load_checkpoint(unbroken).training_state["cli"]
    )


def _resave(path: Path, change) -> None:
    """Write ``path`` again with ``change(training_state)`` as its training state
    (the model, its extras and the optimizer state unchanged)."""
    checkpoint = io.load_checkpoint(path)
    optimizer = dg.optim.Adam(checkpoint.obj.model.parameters())
    optimizer.load_state_dict(checkpoint.optimizer_state)
    state = change(dict(checkpoint.training_state))
    io.save(checkpoint.obj, path, optimizer=optimizer, training_state=state)


def _no_training(monkeypatch) -> None:
    monkeypatch.setattr(Classifier, "fit", lambda *a, **k: pytest.fail("trained"))


def test_resume_with_no_options_ends_as_the_unbroken_run(tmp_path, trained_run):
    """--out after 5 epochs, then ``--resume FILE --epochs 12`` and no other
    option: the options all come from the file, so the run ends with the weights,
    history and log lines 6-12 of the same run never stopped."""
    data, options = trained_run
    unbroken, checkpoint, resumed = (tmp_path / n for n in ("a.dg", "ck.dg", "b.dg"))
    log = _train(data, *options, "--epochs", "12", "--out", unbroken)
    _train(data, *options, "--epochs", "5", "--out", checkpoint)

    resumed_log = _train(
        data, "--resume", checkpoint, "--epochs", "12", "--out", resumed
    )

    _assert_same_run(resumed, unbroken)
    assert _epoch_lines(resumed_log) == _epoch_lines(log)[5:]
    assert _epoch_lines(resumed_log)[0].startswith("Epoch 6/12 - loss: ")


def test_resume_after_ctrl_c_with_no_options_finishes_the_interrupted_run(
    tmp_path, monkeypatch, trained_run
):
    """Ctrl-C as epoch 6 of 12 starts saves the run after epoch 5; ``--resume
    FILE`` alone (not even --epochs: the run's 12) finishes it as if it had never
    stopped."""
    data, options = trained_run
    unbroken, checkpoint, resumed = (tmp_path / n for n in ("a.dg", "ck.dg", "b.dg"))
    log = _train(data, *options, "--epochs", "12", "--out", unbroken)
    interrupt_at_epoch(monkeypatch, 6)
    result = run("train", data, *options, "--epochs", "12", "--out", checkpoint)
    assert result.exit_code == 130, result.output
    monkeypatch.undo()

    resumed_log = _train(data, "--resume", checkpoint, "--out", resumed)

    _assert_same_run(resumed, unbroken)
    assert _epoch_lines(resumed_log) == _epoch_lines(log)[5:]
    assert f"Resuming {checkpoint} after epoch 5" in resumed_log


def test_resume_accepts_options_given_again_that_agree(tmp_path):
    """The run's options typed again (some spelled otherwise, --task and --init
    left to choose) agree with the file: the run continues as the unbroken one."""
    unbroken, checkpoint, resumed = (tmp_path / n for n in ("a.dg", "ck.dg", "b.dg"))
    _train("moons", *CLASSIFICATION, "--epochs", "9", "--out", unbroken)
    _train("moons", *CLASSIFICATION, "--epochs", "4", "--out", checkpoint)
    again = [*CLASSIFICATION, "--hidden", "5, 3", "--batch-size", " 16", "--lr", "2e-2"]

    _train(
        "moons", *again, "--task", "auto", "--init", "auto", "--epochs", "9",
        "--resume", checkpoint, "--out", resumed,
    )  # fmt: skip

    _assert_same_run(resumed, unbroken)


@pytest.mark.parametrize(
    "options, named",
    [
        (["--batch-size", "32"], "--batch-size (the checkpoint: 16; these options: 32)"),
        (["--seed", "42"], "--seed (the checkpoint: 7; these options: 42)"),
        (["--val", "0.1"], "--val (the checkpoint: 0.2; these options: 0.1)"),
        (["--dropout", "0.3"], "--dropout (the checkpoint: 0.1; these options: 0.3)"),
        (["--l1", "0"], "--l1 (the checkpoint: 0.0005; these options: 0.0)"),
        (["--standardize"], "--standardize (the checkpoint: off; these options: on)"),
        (["--init", "normal"], "--init (the checkpoint: he; these options: normal)"),
        (["--hidden", "5"], "--hidden (the checkpoint: 5,3; these options: 5)"),
        (
            ["--weight-decay", "0"],
            "--weight-decay (the checkpoint: 0.001; these options: 0.0)",
        ),
        (
            ["--lr", "0.1", "--optimizer", "sgd"],
            "contradict the checkpoint: --optimizer (the checkpoint: adam; these "
            "options: sgd); --lr (the checkpoint: 0.02; these options: 0.1); leave",
        ),
    ],
    ids=[
        "batch-size", "seed", "val", "dropout", "l1", "standardize", "init",
        "hidden", "weight-decay", "optimizer-and-lr",
    ],
)  # fmt: skip
def test_resume_refuses_an_option_that_contradicts_the_run_naming_it(
    tmp_path, monkeypatch, options, named
):
    """An option given that is not the run's is refused before training, in one
    line naming it (each of them), with both values, and saying to leave it out."""
    checkpoint = tmp_path / "ck.dg"
    _train("moons", *CLASSIFICATION, "--epochs", "4", "--out", checkpoint)
    _no_training(monkeypatch)

    result = run("train", "moons", "--resume", checkpoint, "--epochs", "8", *options)

    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert line.startswith(f"Error: --resume {checkpoint}: the options contradict")
    assert named in line
    assert f"{RESUMED_FROM_FILE} {checkpoint}" in line


def test_resume_without_epochs_of_a_finished_run_asks_for_more(tmp_path, monkeypatch):
    """A run that trained all its epochs has nothing left to do with the file's
    --epochs: the line says so and how to continue it."""
    checkpoint = tmp_path / "ck.dg"
    _train("moons", *CLASSIFICATION, "--epochs", "4", "--out", checkpoint)
    _no_training(monkeypatch)

    result = run("train", "moons", "--resume", checkpoint)

    assert result.exit_code == 2, result.output
    assert error_line(result) == (
        f"Error: --resume {checkpoint}: its run has trained all its 4 epochs; give "
        "--epochs N, more than 4, to continue it"
    )


def test_resume_on_data_of_another_task_names_the_data(tmp_path, monkeypatch):
    """Continuing a moons run on iris is refused as the data's fault (its task,
    classes and columns), not as options the user never gave."""
    checkpoint = tmp_path / "ck.dg"
    _train("moons", *CLASSIFICATION, "--epochs", "4", "--out", checkpoint)
    _no_training(monkeypatch)

    result = run("train", "iris", "--resume", checkpoint, "--epochs", "8")

    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert line.startswith(
        f"Error: --resume {checkpoint}: this data contradicts the checkpoint: task "
        "(the checkpoint: binary; this data: multiclass); classes (the checkpoint: "
        "['0', '1']; this data: ['setosa', 'versicolor', 'virginica']); columns"
    )
    assert line.endswith("continue it on data with the same task, classes and columns")


def _without_record(state: dict) -> dict:
    del state["cli"]
    return state


def test_a_file_without_the_options_record_resumes_with_the_options_given(tmp_path):
    """A checkpoint from before runs recorded their options resumes as before:
    with the options it was trained with given again, to the unbroken run."""
    unbroken, checkpoint, resumed = (tmp_path / n for n in ("a.dg", "ck.dg", "b.dg"))
    _train("moons", *CLASSIFICATION, "--epochs", "9", "--out", unbroken)
    _train("moons", *CLASSIFICATION, "--epochs", "4", "--out", checkpoint)
    _resave(checkpoint, _without_record)
    assert "cli" not in io.load_checkpoint(checkpoint).training_state

    _train(
        "moons", *CLASSIFICATION, "--epochs", "9", "--resume", checkpoint,
        "--out", resumed,
    )  # fmt: skip

    _assert_same_run(resumed, unbroken)  # the resumed file records them again


def test_a_file_without_the_options_record_compares_the_defaults(tmp_path, monkeypatch):
    """Without the record, options left out are the command's defaults, compared
    with the file as before: refused, asking for the options it was trained with."""
    checkpoint = tmp_path / "ck.dg"
    _train("moons", *CLASSIFICATION, "--epochs", "4", "--out", checkpoint)
    _resave(checkpoint, _without_record)
    _no_training(monkeypatch)

    result = run("train", "moons", "--resume", checkpoint, "--epochs", "8")

    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert line.startswith(
        f"Error: --resume {checkpoint}: the options contradict the checkpoint: "
        "network (the checkpoint: Linear(2, 5) Tanh Dropout(0.1) Linear(5, 3)"
    )
    assert "--lr (the checkpoint: 0.02; these options: 0.01)" in line
    assert line.endswith("give the options it was trained with")


@pytest.mark.parametrize(
    "record, shown",
    [
        ([1, 2], "(cli: [1, 2])"),
        ({"lr": "fast"}, "(lr: 'fast')"),
        ({"optimizer": "lbfgs"}, "(optimizer: 'lbfgs')"),
        ({"epochs": 5.5}, "(epochs: 5.5)"),
        ({"nesterov": 1}, "(nesterov: 1)"),
        ({"hidden": [5, 3]}, "(hidden: [5, 3])"),
        ({"batch_size": "many"}, "(batch_size: 'many')"),
    ],
    ids=["not-a-dict", "text-for-number", "unknown-name", "float-epochs", "int-flag",
         "list-hidden", "text-batch-size"],
)  # fmt: skip
def test_resume_refuses_a_damaged_record_of_the_options(
    tmp_path, monkeypatch, record, shown
):
    """A record whose values are not the options' (a file written by other
    means) is refused in one line naming the value, never used."""
    checkpoint = tmp_path / "ck.dg"
    _train("moons", *CLASSIFICATION, "--epochs", "4", "--out", checkpoint)
    _resave(checkpoint, lambda state: {**state, "cli": record})
    _no_training(monkeypatch)

    result = run("train", "moons", "--resume", checkpoint, "--epochs", "8")

    assert result.exit_code == 2, result.output
    assert error_line(result) == (
        f"Error: --resume {checkpoint}: its record of the run's options is damaged "
        f"{shown}; resume from a file `deepgrad train` wrote"
    )


def test_resume_help_says_the_options_come_from_the_file():
    """--help tells a user not to retype the run's options."""
    result = run("train", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "taking its options from the file: leave them out" in text
