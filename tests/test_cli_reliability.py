"""The command line when things go wrong: columns in another order, outputs that
cannot be written, a disk that fills up, Ctrl-C twice, networks too large for
memory, numbers out of range, and resuming a run.

Exit codes: 0 ok, 1 a failure during the run, 2 bad input (one ``Error:`` line on
stderr, never a traceback), 130 Ctrl-C.
"""

from __future__ import annotations

import builtins
import csv
import errno
import io
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from cli_helpers import error_line, interrupt_at_epoch, run
from deepgrad import nn
from deepgrad.data import DataLoader, load_dataset
from deepgrad.recipes import estimate_memory, estimate_network_memory
from deepgrad.train import Classifier
from deepgrad.train.batches import EVAL_BATCH_SIZE


def _predictions(text: str) -> list[str]:
    return [row["prediction"] for row in csv.DictReader(io.StringIO(text))]


def _weights(path: Path) -> dict[str, np.ndarray]:
    return {
        name: tensor.numpy()
        for name, tensor in dg.load(path).model.state_dict().items()
    }


class _FillingFile:
    """A file that writes half of what it is given, then fails as a full disk."""

    def __init__(self, handle, error: BaseException) -> None:
        self._handle = handle
        self._error = error

    def write(self, data):
        self._handle.write(data[: len(data) // 2])
        self._handle.flush()
        raise self._error

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        return self._handle.__exit__(*exception)


@pytest.fixture
def faulty_files(monkeypatch):
    """Files that fail as the system would, whichever way the code opens them
    (open, io.open, Path.open, os.fdopen on a mkstemp descriptor).

    ``fill(folder, error)``: every file written in ``folder`` fails halfway with
    ``error`` (a full disk by default); ``deny(path)``: reading ``path`` raises
    PermissionError, which chmod cannot arrange for root.
    """
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("finds a descriptor's file through /proc (Linux)")
    full: dict[Path, BaseException] = {}
    denied: set[Path] = set()
    real_open, real_fdopen = builtins.open, os.fdopen

    def failing(file, mode: str, handle):
        error = full.get(Path(file).resolve().parent)
        if error is not None and any(flag in mode for flag in "wax+"):
            return _FillingFile(handle, error)
        return handle

    def fake_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)):
            if Path(file).resolve() in denied:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return failing(file, mode, real_open(file, mode, *args, **kwargs))
        return real_open(file, mode, *args, **kwargs)

    def fake_fdopen(descriptor, mode="r", *args, **kwargs):
        handle = real_fdopen(descriptor, mode, *args, **kwargs)
        return failing(os.readlink(f"/proc/self/fd/{descriptor}"), mode, handle)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(os, "fdopen", fake_fdopen)

    class Faults:
        @staticmethod
        def fill(folder: Path, error: BaseException | None = None) -> None:
            full[folder.resolve()] = error or OSError(
                errno.ENOSPC, "No space left on device"
            )

        @staticmethod
        def deny(path: Path) -> None:
            denied.add(path.resolve())

    return Faults


@pytest.fixture
def temp_folder(tmp_path, monkeypatch) -> Path:
    """tempfile.gettempdir() points here, where fallback saves go."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# -- 1. evaluate and predict match the model's columns by name -----------------------


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = [",".join(header)] if header else []
    lines += [",".join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def signal_rows() -> list[dict[str, object]]:
    """Rows whose class shows in `signal` only; `noise` is independent of it, so a
    model fed the two columns swapped predicts at random."""
    rng = np.random.default_rng(1)
    rows = []
    for index in range(60):
        kind = "cat" if index % 2 else "dog"
        signal = rng.normal(1.0 if kind == "cat" else 10.0, 1.0)
        rows.append(
            {
                "id": 1000 + index,
                "signal": round(signal, 2),
                "noise": round(rng.uniform(0, 20), 2),
                "kind": kind,
            }
        )
    return rows


def _csv_of(path: Path, rows, columns: list[str], header: bool = True) -> Path:
    return _write_csv(
        path, columns if header else [], [[row[c] for c in columns] for row in rows]
    )


@pytest.fixture(scope="module")
def signal_model(tmp_path_factory, signal_rows) -> Path:
    folder = tmp_path_factory.mktemp("signal")
    data = _csv_of(folder / "train.csv", signal_rows, ["signal", "noise", "kind"])
    model = folder / "signal.dg"
    trained = run("train", data, "--target", "kind", "--epochs", "30", "--out", model)
    assert trained.exit_code == 0, trained.output
    return model


def _predict_both(model: Path, original: Path, variant: Path) -> list[str]:
    """Predict on both files, require the same answers; the variant's notes."""
    expected = run("predict", model, original)
    result = run("predict", model, variant)
    assert expected.exit_code == 0 and result.exit_code == 0, result.output
    assert _predictions(result.stdout) == _predictions(expected.stdout)
    return result.stderr.strip().splitlines()


def test_predict_on_columns_in_another_order_gives_the_same_predictions(
    tmp_path, signal_model, signal_rows
):
    """Today's position rule read `noise` as `signal` and answered at random, with
    exit 0; by name, the swapped file predicts exactly what the original does."""
    original = _csv_of(tmp_path / "a.csv", signal_rows, ["signal", "noise"])
    swapped = _csv_of(tmp_path / "b.csv", signal_rows, ["noise", "signal"])

    notes = _predict_both(signal_model, original, swapped)

    assert notes == []  # a reordering needs no remark
    truth = [row["kind"] for row in signal_rows]  # and the model learnt the signal
    assert _predictions(run("predict", signal_model, original).stdout) == truth


def test_evaluate_on_columns_in_another_order_scores_as_the_original(
    tmp_path, signal_model, signal_rows
):
    original = _csv_of(tmp_path / "a.csv", signal_rows, ["signal", "noise", "kind"])
    swapped = _csv_of(tmp_path / "b.csv", signal_rows, ["kind", "noise", "signal"])

    expected = run("evaluate", signal_model, original)
    result = run("evaluate", signal_model, swapped)

    assert result.exit_code == 0, result.output
    assert "accuracy: 1.0000" in expected.stdout
    # a.csv holds the very bytes signal_model was trained on, and evaluate says so
    trained_on = (
        "these samples were used for training; the scores are not a test score\n"
    )
    assert trained_on in expected.stdout
    assert result.stdout.replace("on b (", "on a (") == expected.stdout.replace(
        trained_on, ""
    )


def test_extra_columns_are_left_out_and_named_in_one_line(
    tmp_path, signal_model, signal_rows
):
    original = _csv_of(tmp_path / "a.csv", signal_rows, ["signal", "noise"])
    with_id = _csv_of(tmp_path / "b.csv", signal_rows, ["id", "noise", "signal"])

    notes = _predict_both(signal_model, original, with_id)

    assert len(notes) == 1 and "Ignoring column id" in notes[0]


def test_a_missing_column_exits_2_listing_what_is_missing(
    tmp_path, signal_model, signal_rows
):
    partial = _csv_of(tmp_path / "b.csv", signal_rows, ["id", "noise", "kind"])
    for command in ("predict", "evaluate"):
        result = run(command, signal_model, partial)
        assert result.exit_code == 2, result.output
        line = error_line(result)
        assert "signal.dg takes 2 features per sample but 'b' lacks 1 of them" in line
        assert "lacks 1 of them: signal (its columns: id, noise)" in line


def test_a_headerless_csv_of_the_models_width_is_taken_by_position_and_said(
    tmp_path, signal_model, signal_rows
):
    named = _csv_of(tmp_path / "a.csv", signal_rows, ["signal", "noise"])
    headerless = _csv_of(
        tmp_path / "b.csv", signal_rows, ["signal", "noise"], header=False
    )

    notes = _predict_both(signal_model, named, headerless)

    assert len(notes) == 1 and "taken by position" in notes[0]
    assert "(signal, noise)" in notes[0]


def test_a_headerless_csv_of_another_width_exits_2(tmp_path, signal_model, signal_rows):
    headerless = _csv_of(
        tmp_path / "b.csv", signal_rows, ["id", "signal", "noise"], header=False
    )
    result = run("predict", signal_model, headerless)
    assert result.exit_code == 2
    assert "signal.dg takes 2 features per sample but 'b' has 3" in error_line(result)


# -- 2. output paths are checked before any work; a failed save keeps the model ------


UNWRITABLE = ["under-a-file", "missing-folder", "sysfs"]


def _unwritable_path(tmp_path: Path, name: str, kind: str) -> Path:
    """A path no save can write: in a folder that is a file, in a missing folder,
    or in sysfs, where not even root can create a file."""
    if kind == "sysfs":
        try:
            with tempfile.TemporaryFile(dir="/sys"):
                pytest.skip("needs a /sys where no file can be created")
        except OSError:
            return Path("/sys") / f"deepgrad-test-{name}"
    if kind == "missing-folder":
        return tmp_path / "missing" / name
    a_file = tmp_path / "afile"
    a_file.write_text("not a folder\n")
    return a_file / name


@pytest.mark.parametrize("kind", UNWRITABLE)
@pytest.mark.parametrize(
    "option, name", [("--out", "m.dg"), ("--plot", "l.png"), ("--animate", "b.gif")]
)
def test_train_refuses_an_unwritable_output_before_training(
    tmp_path, monkeypatch, option, name, kind
):
    """Before, /sys passed the folder check: the whole run trained, then the save
    ended in a PermissionError traceback. Now nothing trains (fit is never
    called) and one line names the option, the path and the cause."""
    path = _unwritable_path(tmp_path, name, kind)
    monkeypatch.setattr(Classifier, "fit", lambda *a, **k: pytest.fail("trained"))

    result = run("train", "xor", "--epochs", "2", option, path)

    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert f"{option} {path}" in line


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into a chmod 0o500 folder; the /sys case covers it",
)
def test_train_refuses_a_folder_without_write_permission(tmp_path):
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = run("train", "xor", "--epochs", "2", "--out", folder / "m.dg")
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 2
    assert "cannot write in" in error_line(result)
    assert "Epoch 1/" not in result.output


@pytest.mark.parametrize("kind", UNWRITABLE)
def test_predict_refuses_an_unwritable_output_before_predicting(
    tmp_path, monkeypatch, signal_model, kind
):
    """Before, predict predicted everything and then failed writing (a traceback
    for a path under a file); now the model is never asked."""
    path = _unwritable_path(tmp_path, "p.csv", kind)
    monkeypatch.setattr(Classifier, "predict", lambda *a: pytest.fail("predicted"))

    result = run("predict", signal_model, "xor", "--output", path)

    assert result.exit_code == 2, result.output
    assert f"--output {path}" in error_line(result)


def test_a_full_disk_at_the_final_save_keeps_the_model_in_the_temp_folder(
    tmp_path, faulty_files, temp_folder
):
    """The disk fills up during the run: the save to --out fails after training.
    The trained model is written to a named file in the temp folder, one line says
    where, and the exit code is 1; it equals what a working disk would have held."""
    args = ["train", "xor", "--epochs", "5", "--seed", "3"]
    reference = tmp_path / "reference.dg"
    assert run(*args, "--out", reference).exit_code == 0
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    faulty_files.fill(out_folder)

    result = run(*args, "--out", out_folder / "model.dg")

    assert result.exit_code == 1, result.output
    line = error_line(result)
    assert "could not save the model to" in line and "No space left" in line
    assert "Epoch 5/5" in result.stdout  # it trained
    (kept,) = temp_folder.iterdir()
    assert kept.name.startswith("deepgrad-unsaved-model-model-")
    assert kept.suffix == ".dg"
    assert f"kept it in {kept} instead" in line
    assert list(out_folder.iterdir()) == []  # no half-written file, no temporary
    for name, weight in _weights(reference).items():
        assert np.array_equal(_weights(kept)[name], weight)


def test_a_full_disk_for_both_saves_says_the_model_is_lost(
    tmp_path, faulty_files, temp_folder
):
    faulty_files.fill(tmp_path)
    faulty_files.fill(temp_folder)
    result = run("train", "xor", "--epochs", "2", "--out", tmp_path / "m.dg")
    assert result.exit_code == 1
    assert "it is lost" in error_line(result)
    assert list(temp_folder.iterdir()) == []


def test_a_history_too_long_for_a_model_file_still_saves_the_model(
    tmp_path, monkeypatch
):
    """A model file's header is capped, and a very long run's history can outgrow
    it: the model (and optimizer) are saved without the training state, one line
    says --resume cannot continue from it, and the run succeeds."""
    from deepgrad import io as dgio

    save = dgio.save

    def capped_save(obj, path, *, optimizer=None, training_state=None):
        if training_state is not None:
            raise dgio.ModelFileError(f"{path}: cannot save: the header is too long")
        return save(obj, path, optimizer=optimizer)

    monkeypatch.setattr(dgio, "save", capped_save)
    out = tmp_path / "long.dg"

    result = run("train", "xor", "--epochs", "3", "--out", out)

    assert result.exit_code == 0, result.output
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 1 and "--resume cannot continue from it" in notes[0]
    checkpoint = dgio.load_checkpoint(out)
    assert checkpoint.training_state is None
    assert checkpoint.optimizer_state is not None


# -- 3. predict --output replaces the old file whole or not at all -------------------


def test_predict_output_on_a_full_disk_leaves_the_old_file_intact(
    tmp_path, faulty_files, signal_model, signal_rows
):
    """Before, write_text truncated the old file and left half of the new one (and
    a traceback). Now: exit 1, one line, the old bytes, and no temporary file."""
    data = _csv_of(tmp_path / "data.csv", signal_rows, ["signal", "noise"])
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    output = out_folder / "predictions.csv"
    old = b"prediction\r\nfrom yesterday\r\n"
    output.write_bytes(old)
    faulty_files.fill(out_folder)

    result = run("predict", signal_model, data, "--output", output)

    assert result.exit_code == 1, result.output
    line = error_line(result)
    assert "No space left on device" in line and "old file is unchanged" in line
    assert output.read_bytes() == old
    assert list(out_folder.iterdir()) == [output]


def test_predict_output_replaces_the_old_file_when_the_disk_has_room(
    tmp_path, signal_model, signal_rows
):
    data = _csv_of(tmp_path / "data.csv", signal_rows, ["signal", "noise"])
    output = tmp_path / "predictions.csv"
    output.write_text("old\n")
    result = run("predict", signal_model, data, "--output", output)
    assert result.exit_code == 0, result.output
    assert _predictions(output.read_text()) == [row["kind"] for row in signal_rows]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "data.csv",
        "predictions.csv",
    ]


# -- 4. --resume, and Ctrl-C during the checkpoint's save ----------------------------

RESUMABLE = ["moons", "--hidden", "6", "--val", "0.2", "--batch-size", "16"]


@pytest.mark.parametrize(
    "options",
    [[], ["--optimizer", "sgd", "--momentum", "0.9", "--dropout", "0.2"]],
    ids=["adam", "sgd-momentum-dropout"],
)
def test_resuming_a_saved_run_ends_with_the_weights_of_one_unbroken_run(
    tmp_path, options
):
    """train --epochs 20 equals train --epochs 10 --out ck.dg then --epochs 20
    --resume ck.dg: weights, optimizer state, shuffling and dropout draws all
    continue where they stopped."""
    args = ["train", *RESUMABLE, *options, "--verbose", "0"]
    unbroken, checkpoint, resumed = (tmp_path / n for n in ("a.dg", "ck.dg", "b.dg"))
    assert run(*args, "--epochs", "20", "--out", unbroken).exit_code == 0
    assert run(*args, "--epochs", "10", "--out", checkpoint).exit_code == 0

    result = run(*args, "--epochs", "20", "--resume", checkpoint, "--out", resumed)

    assert result.exit_code == 0, result.output
    expected = _weights(unbroken)
    assert expected.keys() == _weights(resumed).keys()
    for name, weight in _weights(resumed).items():
        assert np.array_equal(weight, expected[name]), name
    assert not np.array_equal(_weights(checkpoint)["0.weight"], expected["0.weight"])


def test_resuming_after_ctrl_c_mid_epoch_ends_as_one_unbroken_run(
    tmp_path, monkeypatch
):
    """Ctrl-C after three batches of epoch 11 saves the state of epoch 10 (fit's
    part); --resume from it ends with the unbroken run's weights."""
    args = ["train", *RESUMABLE, "--epochs", "20", "--verbose", "0"]
    unbroken, checkpoint, resumed = (tmp_path / n for n in ("a.dg", "ck.dg", "b.dg"))
    assert run(*args, "--out", unbroken).exit_code == 0
    epochs = {"started": 0}
    batches = DataLoader.__iter__

    def interrupt_in_epoch_11(self):
        if self.batch_size == EVAL_BATCH_SIZE:  # an evaluation's batches
            return batches(self)
        epochs["started"] += 1
        if epochs["started"] != 11:
            return batches(self)

        def three_batches_then_ctrl_c():
            for index, batch in enumerate(batches(self)):
                if index == 3:
                    raise KeyboardInterrupt
                yield batch

        return three_batches_then_ctrl_c()

    monkeypatch.setattr(DataLoader, "__iter__", interrupt_in_epoch_11)
    assert run(*args, "--out", checkpoint).exit_code == 130
    monkeypatch.setattr(DataLoader, "__iter__", batches)

    result = run(*args, "--resume", checkpoint, "--out", resumed)

    assert result.exit_code == 0, result.output
    expected = _weights(unbroken)
    for name, weight in _weights(resumed).items():
        assert np.array_equal(weight, expected[name]), name


def test_resume_logs_from_the_checkpoints_epoch(tmp_path):
    checkpoint = tmp_path / "ck.dg"
    assert run("train", "xor", "--epochs", "3", "--out", checkpoint).exit_code == 0
    result = run("train", "xor", "--epochs", "5", "--resume", checkpoint)
    assert result.exit_code == 0, result.output
    assert f"Resuming {checkpoint} after epoch 3" in result.stdout
    epochs = [line.split(" - ")[0] for line in result.stdout.splitlines()]
    assert [line for line in epochs if line.startswith("Epoch")] == [
        "Epoch 4/5",
        "Epoch 5/5",
    ]


@pytest.mark.parametrize(
    "options, named",
    [
        (["--hidden", "4,4"], "--hidden (the checkpoint: 6; these options: 4,4)"),
        (
            ["--activation", "tanh"],
            "--activation (the checkpoint: relu; these options: tanh)",
        ),
        (
            ["--optimizer", "sgd"],
            "--optimizer (the checkpoint: adam; these options: sgd)",
        ),
        (["--lr", "0.5"], "--lr (the checkpoint: 0.01; these options: 0.5)"),
        (["--loss", "ce"], "--loss (the checkpoint: bce; these options: ce)"),
        (["--epochs", "4"], "--epochs 4: "),
    ],
    ids=["hidden", "activation", "optimizer", "lr", "loss", "epochs-not-past"],
)
def test_resume_refuses_options_that_contradict_the_checkpoint(
    tmp_path, monkeypatch, options, named
):
    checkpoint = tmp_path / "ck.dg"
    base = ["train", "moons", "--hidden", "6", "--verbose", "0"]
    assert run(*base, "--epochs", "4", "--out", checkpoint).exit_code == 0
    monkeypatch.setattr(Classifier, "fit", lambda *a, **k: pytest.fail("trained"))

    result = run(*base, "--epochs", "8", "--resume", checkpoint, *options)

    assert result.exit_code == 2, result.output
    assert named in error_line(result)


def test_resume_refuses_a_file_without_training_state(tmp_path):
    bare = tmp_path / "bare.dg"
    dg.save(nn.Sequential(nn.Linear(2, 1)), bare)
    result = run("train", "xor", "--hidden", "", "--resume", bare)
    assert result.exit_code == 2
    assert "holds no optimizer and training state" in error_line(result)


def test_a_second_ctrl_c_during_the_checkpoint_save_keeps_the_old_file(
    tmp_path, monkeypatch, faulty_files
):
    """Ctrl-C stops training; a second one while the checkpoint is written stops
    the save. Before, that ended as 'Aborted.' with exit 1. Now one line says the
    checkpoint was not written and the old file is intact (byte for byte, no
    temporary left), exit 130."""
    checkpoint = tmp_path / "ck.dg"
    old = b"an older checkpoint"
    checkpoint.write_bytes(old)
    interrupt_at_epoch(monkeypatch, 2)  # before it, there is nothing to save
    faulty_files.fill(tmp_path, KeyboardInterrupt())

    result = run("train", "xor", "--epochs", "5", "--out", checkpoint)

    assert result.exit_code == 130, result.output
    assert "checkpoint was not written" in result.stderr
    assert f"{checkpoint} is intact" in result.stderr
    assert checkpoint.read_bytes() == old
    assert list(tmp_path.iterdir()) == [checkpoint]


# -- 5. networks too large for memory are refused before they are built --------------


def test_the_lab_networks_memory_estimate_is_computed_by_hand():
    """2-4-4-1: 2*4+4 + 4*4+4 + 4*1+1 = 37 parameters; float32 weights and
    gradients (no SGD state without momentum): 37 * 2 * 4 = 296 bytes; a batch of
    the 4 XOR rows through widths 2+4+4+1 = 11, Z, A and both gradients:
    4 * 11 * 4 * 4 = 704 bytes."""
    estimate = estimate_network_memory(
        load_dataset("xor"), [4, 4], "bce", "full", "sgd"
    )
    assert (estimate.parameters, estimate.parameter_bytes) == (37, 296)
    assert estimate.activation_bytes == 704
    assert estimate.total == 1000
    # Adam keeps two more copies of every parameter, SGD with momentum one
    assert estimate_memory([2, 4, 4, 1], 4, "adam").parameter_bytes == 37 * 4 * 4
    assert estimate_memory([2, 4, 4, 1], 4, "sgd", 0.9).parameter_bytes == 37 * 3 * 4
    # three classes with ce: three outputs; a batch of 32 of iris' 150 rows
    iris = estimate_network_memory(load_dataset("iris"), [8], "ce", 32)
    assert iris.parameters == 4 * 8 + 8 + 8 * 3 + 3
    assert iris.activation_bytes == 32 * (4 + 8 + 3) * 4 * 4


@pytest.mark.parametrize(
    "args",
    [
        ["train", "xor", "--hidden", "100000,100000"],
        ["train", "xor", "--hidden", "1000000000"],
        ["explain", "xor", "--hidden", "100000,100000"],
        ["gradcheck", "--hidden", "100000,100000"],
        ["sweep", "xor", "--hidden", "4;100000,100000", "--jobs", "1"],
    ],
    ids=["train", "train-1e9", "explain", "gradcheck", "sweep-per-run"],
)
def test_a_network_too_large_for_memory_exits_2_before_any_layer_is_built(
    monkeypatch, args
):
    """Before, 100000,100000 died with a MemoryError traceback and 1e9 was killed
    by the OOM killer at 24 GB: no Linear may even be constructed now."""
    monkeypatch.setattr("deepgrad.recipes.available_memory", lambda: 16 * 1024**3)
    monkeypatch.setattr(nn.Linear, "__init__", lambda *a, **k: pytest.fail("built"))

    result = run(*args)

    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert "would need about" in line and "16.0 GiB available" in line
    assert "--max-memory" in line and "MemoryError" not in result.output


def test_max_memory_overrides_the_available_memory_both_ways(monkeypatch):
    monkeypatch.setattr("deepgrad.recipes.available_memory", lambda: 1000)
    args = ["train", "xor", "--hidden", "16", "--epochs", "2", "--verbose", "0"]

    refused = run(*args)
    assert refused.exit_code == 2
    assert "more than the 1000 B available" in error_line(refused)
    assert run(*args, "--max-memory", "10M").exit_code == 0
    assert run(*args, "--max-memory", "none").exit_code == 0
    lowered = run("train", "xor", "--hidden", "16", "--max-memory", "1K")
    assert "1.0 KiB allowed by --max-memory" in error_line(lowered)
    assert "--max-memory expects a size" in error_line(
        run(*args, "--max-memory", "lots")
    )


# -- 6. OS errors, memory errors and numbers out of range are one line ---------------


@pytest.mark.parametrize(
    "args, option",
    [
        (["train", "xor", "--seed", "-1"], "'--seed'"),
        (["sweep", "xor", "--seed", "-1"], "'--seed'"),
        (["gradcheck", "--seed", "-1"], "'--seed'"),
        (["train", "xor", "--epochs", "-3"], "'--epochs'"),
        (["explain", "xor", "--epochs", "-1"], "'--epoch'"),
        (["train", "xor", "--batch-size", "0"], "--batch-size"),
        (["train", "xor", "--lr", "nan"], "'--lr'"),
        (["train", "xor", "--lr", "inf"], "'--lr'"),
        (["train", "xor", "--lr", "-0.1"], "'--lr'"),
        (["train", "xor", "--lr", "0"], "'--lr'"),
        (["explain", "xor", "--lr", "nan", "--epochs", "1"], "'--lr'"),
        (["train", "xor", "--optimizer", "sgd", "--momentum", "-1"], "'--momentum'"),
        (["train", "xor", "--weight-decay", "nan"], "'--weight-decay'"),
        (["train", "xor", "--val", "1"], "'--val'"),
        (["train", "xor", "--val", "-0.2"], "'--val'"),
        (["train", "xor", "--val", "nan"], "'--val'"),
        (["train", "xor", "--dropout", "1"], "'--dropout'"),
        (["train", "xor", "--dropout", "-0.5"], "'--dropout'"),
        (["gradcheck", "--tolerance", "nan"], "'--tolerance'"),
        (["sweep", "xor", "--threshold", "nan"], "'--threshold'"),
    ],
)
def test_a_number_out_of_range_exits_2_naming_its_option(monkeypatch, args, option):
    monkeypatch.setattr(Classifier, "fit", lambda *a, **k: pytest.fail("trained"))
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert option in error_line(result)


def test_an_unreadable_data_file_exits_2_naming_the_path_and_the_cause(
    tmp_path, faulty_files, signal_model, signal_rows
):
    """Before, PermissionError was no user error: a traceback."""
    data = _csv_of(tmp_path / "data.csv", signal_rows, ["signal", "noise", "kind"])
    faulty_files.deny(data)
    for args in (
        ["train", data, "--target", "kind"],
        ["predict", signal_model, data],
        ["evaluate", signal_model, data, "--target", "kind"],
    ):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert error_line(result) == f"Error: Permission denied: {data}"


def test_running_out_of_memory_during_training_exits_1_in_one_line(monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(Classifier, "fit", out_of_memory)
    result = run("train", "xor", "--epochs", "2")
    assert result.exit_code == 1
    assert error_line(result).startswith("Error: out of memory; use smaller --hidden")


def test_python_m_deepgrad_refuses_a_huge_network_without_a_traceback(tmp_path):
    """The whole program, as a user runs it: exit 2 and one line, nothing built."""
    import subprocess

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deepgrad",
            "train",
            "xor",
            "--hidden",
            "100000,100000",
            "--max-memory",
            "8G",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: --hidden 100000,100000 would need about")
    assert len(result.stderr.strip().splitlines()) == 1


def test_at_verbose_0_a_divergence_is_one_line_not_a_warning_with_a_source_line():
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "deepgrad", "train", "moons", "--optimizer", "adam",
         "--lr", "1e9", "--epochs", "30", "--verbose", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("Epoch 1: the weights' norm") and "try a lower one" in line
    assert "Warning" not in result.stderr


def test_a_reader_that_goes_away_stops_the_command_quietly():
    # `deepgrad train ... | head -1`: no "Error: Broken pipe", no traceback
    import subprocess

    process = subprocess.Popen(
        [sys.executable, "-m", "deepgrad", "train", "xor", "--epochs", "5000",
         "--log-every", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().startswith("Training on xor")
    process.stdout.close()
    assert process.stderr.read() == ""
    assert process.wait(timeout=60) == 1
