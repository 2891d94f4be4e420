"""The `deepgrad` command line, run through typer's CliRunner and `python -m deepgrad`."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deepgrad as dg
from cli_helpers import error_line, interrupt_at_epoch, run
from deepgrad.data import DataLoader
from deepgrad.io import load_checkpoint
from deepgrad.train.batches import EVAL_BATCH_SIZE

LAB_XOR = (
    "train xor --hidden 4,4 --activation sigmoid --loss bce --optimizer sgd --lr 0.1 "
    "--epochs 5000 --batch-size full --seed 42"
).split()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def pets_csv(tmp_path_factory) -> Path:
    """A CSV of the user's own: two numeric features and string labels."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("pets") / "pets.csv"
    lines = ["weight,height,kind"]
    for _ in range(30):
        lines.append(f"{rng.normal(4, 1):.2f},{rng.normal(25, 3):.1f},cat")
        lines.append(f"{rng.normal(30, 5):.2f},{rng.normal(60, 5):.1f},dog")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("iris") / "iris.dg"
    result = run("train", "iris", "--epochs", "30", "--hidden", "8", "--out", path)
    assert result.exit_code == 0, result.output
    return path


def test_lab_xor_command_reproduces_the_lab_log_and_learns_xor(tmp_path):
    model_path = tmp_path / "xor.dg"
    result = run(*LAB_XOR, "--out", model_path)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    epoch_lines = [line for line in lines if line.startswith("Epoch ")]
    # the lab notebook's losses at epochs 0 and 4500 (same seed, same init: PyTorch's
    # numbers after manual_seed(42), so the lab's notebook prints them too)
    assert epoch_lines[0].startswith("Epoch 1/5000 - loss: 0.7198")
    assert "Epoch 4500/5000 - loss: 0.0177" in result.stdout
    assert len(epoch_lines) == 11  # every 500 epochs, plus the first
    assert f"Saved model to {model_path}" in result.stdout
    classifier = dg.load(model_path)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    assert classifier.predict(X).tolist() == ["0", "1", "1", "0"]


def test_python_m_deepgrad_trains_saves_and_predicts_to_a_file(tmp_path):
    def deepgrad(*args: str):
        return subprocess.run(
            [sys.executable, "-m", "deepgrad", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    trained = deepgrad("train", "moons", "--epochs", "3", "--out", "moons.dg")
    assert trained.returncode == 0, trained.stderr
    assert "Epoch 3/3 - loss:" in trained.stdout
    assert (tmp_path / "moons.dg").is_file()

    predicted = deepgrad("predict", "moons.dg", "moons", "--output", "preds.csv")
    assert predicted.returncode == 0, predicted.stderr
    rows = _rows((tmp_path / "preds.csv").read_text())
    assert len(rows) == 200
    assert set(rows[0]) == {"prediction", "probability_0", "probability_1"}
    assert {row["prediction"] for row in rows} <= {"0", "1"}
    assert "Wrote 200 predictions to preds.csv" in predicted.stderr

    failed = deepgrad("train", "no_such_set")
    assert failed.returncode == 2
    assert failed.stderr.startswith("Error: Unknown dataset 'no_such_set'")
    assert len(failed.stderr.strip().splitlines()) == 1


def test_a_csv_with_string_labels_trains_and_predicts_those_labels(tmp_path, pets_csv):
    model_path = tmp_path / "pets.dg"
    trained = run(
        "train",
        pets_csv,
        "--target",
        "kind",
        "--epochs",
        "40",
        "--lr",
        "0.05",
        "--out",
        model_path,
    )
    assert trained.exit_code == 0, trained.output
    assert "standardize on" in trained.stdout

    predicted = run("predict", model_path, pets_csv, "--target", "kind")
    assert predicted.exit_code == 0, predicted.output
    rows = _rows(predicted.stdout)
    truth = [row["kind"] for row in _rows(pets_csv.read_text())]
    assert [row["prediction"] for row in rows] == truth
    assert set(rows[0]) == {"prediction", "probability_cat", "probability_dog"}

    unlabelled = tmp_path / "new_pets.csv"
    unlabelled.write_text("weight,height\n3.5,24\n35,62\n")
    new = run("predict", model_path, unlabelled)
    assert [row["prediction"] for row in _rows(new.stdout)] == ["cat", "dog"]

    evaluated = run("evaluate", model_path, pets_csv, "--target", "kind")
    assert evaluated.exit_code == 0, evaluated.output
    assert "accuracy: 1.0000" in evaluated.stdout
    assert "cat" in evaluated.stdout and "dog" in evaluated.stdout

    # the model remembers its label column: no --target needed on the same layout
    remembered = run("predict", model_path, pets_csv)
    assert remembered.exit_code == 0, remembered.output
    assert [row["prediction"] for row in _rows(remembered.stdout)] == truth
    assert run("evaluate", model_path, pets_csv).stdout == evaluated.stdout


def test_evaluate_prints_the_report_and_the_confusion_matrix(iris_model):
    result = run("evaluate", iris_model, "iris")

    assert result.exit_code == 0, result.output
    assert "precision" in result.stdout and "recall" in result.stdout
    assert "Confusion matrix" in result.stdout
    accuracy = float(result.stdout.split("accuracy: ")[1].split()[0])
    assert 0.5 < accuracy <= 1.0
    for name in dg.data.load_dataset("iris").class_names:
        assert name in result.stdout


def test_predict_writes_csv_to_stdout_with_one_probability_per_class(iris_model):
    result = run("predict", iris_model, "iris")

    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    names = dg.data.load_dataset("iris").class_names
    assert len(rows) == 150
    assert list(rows[0]) == ["prediction", *(f"probability_{n}" for n in names)]
    for row in rows[:5]:
        probabilities = [float(row[f"probability_{n}"]) for n in names]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
        assert row["prediction"] == names[int(np.argmax(probabilities))]


def test_datasets_lists_every_builtin_dataset():
    result = run("datasets")
    assert result.exit_code == 0
    for entry in dg.data.available_datasets():
        assert entry["name"] in result.stdout


def test_datasets_names_the_extra_of_the_sets_it_cannot_load(monkeypatch):
    """With scikit-learn installed the table says nothing of extras; without it,
    one line after the table names the four sets and the extra that loads them."""
    assert "pip install" not in run("datasets").stdout
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "sklearn" else find_spec(name, *args),
    )
    result = run("datasets")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == (
        "iris, wine, breast_cancer and digits need the sklearn extra, which is not "
        "installed: pip install 'deepgrad[sklearn]'"
    )


def test_gradcheck_prints_each_parameter_and_passes_for_the_lab_network():
    result = run("gradcheck", "--hidden", "4,4", "--activation", "sigmoid")
    assert result.exit_code == 0, result.output
    for name in ("0.weight", "0.bias", "2.weight", "4.weight", "4.bias"):
        assert name in result.stdout
    assert "All 6 gradients agree within 1e-05" in result.stdout


def test_gradcheck_exits_1_when_a_gradient_is_off(monkeypatch):
    monkeypatch.setattr(
        dg, "model_gradcheck", lambda *a, **k: {"0.weight": 3e-3, "0.bias": 1e-9}
    )
    result = run("gradcheck", "and", "--hidden", "")
    assert result.exit_code == 1
    assert "FAIL" in result.stdout
    assert "0.weight" in error_line(result)


def test_training_options_build_the_network_they_name(tmp_path):
    model_path = tmp_path / "moons.dg"
    result = run(
        "train",
        "moons",
        "--hidden",
        "6,5",
        "--activation",
        "tanh",
        "--loss",
        "ce",
        "--optimizer",
        "sgd",
        "--momentum",
        "0.9",
        "--weight-decay",
        "1e-4",
        "--epochs",
        "4",
        "--batch-size",
        "16",
        "--val",
        "0.25",
        "--dropout",
        "0.1",
        "--batchnorm",
        "--init",
        "he",
        "--early-stopping",
        "2",
        "--out",
        model_path,
    )
    assert result.exit_code == 0, result.output
    assert "val_loss" in result.stdout
    model = dg.load(model_path).model
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == [
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Dropout",
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Dropout",
        "Linear",
    ]
    assert model[-1].out_features == 2  # one logit per class for ce


def test_ctrl_c_during_training_saves_a_checkpoint_and_exits_130(tmp_path, monkeypatch):
    calls = {"count": 0}
    batches = DataLoader.__iter__

    def interrupt_in_third_epoch(self):  # Ctrl-C as the third epoch starts
        if self.batch_size != EVAL_BATCH_SIZE:  # training, not an evaluation
            calls["count"] += 1
        if calls["count"] == 3:
            raise KeyboardInterrupt
        return batches(self)

    monkeypatch.setattr(DataLoader, "__iter__", interrupt_in_third_epoch)
    checkpoint_path = tmp_path / "ckpt.dg"
    result = run(*LAB_XOR[:-6], "--epochs", "10", "--out", checkpoint_path)

    assert result.exit_code == 130, result.output
    assert f"saved a checkpoint to {checkpoint_path}" in result.stdout
    checkpoint = load_checkpoint(checkpoint_path)
    assert checkpoint.training_state["epoch"] == 2
    assert checkpoint.optimizer_state is not None
    assert checkpoint.obj.class_names == ["0", "1"]


def test_ctrl_c_without_out_saves_nothing_and_exits_130(tmp_path, monkeypatch):
    interrupt_at_epoch(monkeypatch, 2)  # before it, training has not started
    monkeypatch.chdir(tmp_path)
    result = run("train", "xor", "--epochs", "5")
    assert result.exit_code == 130
    assert "nothing saved" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "nope"], "Unknown dataset 'nope'"),
        (["train", "xor", "--hidden", "4,x"], "--hidden expects"),
        (["train", "xor", "--batch-size", "half"], "--batch-size expects"),
        (["train", "missing.csv", "--target", "y"], "No such data file: missing.csv"),
        (["train", "iris", "--loss", "bce"], "use --loss ce"),
        (["train", "iris", "--loss", "mse"], "--loss mse is for numeric targets"),
        (["train", "notes.txt"], "notes.txt: give a .csv or .npz file"),
        (["train", "xor", "--optimizer", "adam", "--momentum", "0.9"], "--momentum"),
        (["train", "xor", "--epochs", "0"], "'--epochs'"),
        (["train", "xor", "--no-such-option"], "No such option"),
        (["evaluate", "missing.dg", "xor"], "missing.dg: no such model file"),
    ],
    ids=[
        "unknown-dataset",
        "bad-hidden",
        "bad-batch-size",
        "missing-csv",
        "bce-for-3-classes",
        "mse-for-classes",
        "not-a-data-file",
        "momentum-for-adam",
        "epochs-0",
        "unknown-option",
        "missing-model",
    ],
)
def test_bad_input_exits_2_with_one_error_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not data\n")
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in error_line(result)


def test_a_csv_without_target_exits_2_naming_the_option(pets_csv):
    result = run("train", pets_csv)
    assert result.exit_code == 2
    assert "--target" in error_line(result)


def test_a_corrupted_model_file_exits_2_for_evaluate_and_predict(tmp_path, iris_model):
    corrupted = tmp_path / "corrupted.dg"
    data = bytearray(iris_model.read_bytes())
    data[-2] ^= 0xFF
    corrupted.write_bytes(bytes(data))

    for command in ("evaluate", "predict"):
        result = run(command, corrupted, "iris")
        assert result.exit_code == 2
        assert "modified or corrupted" in error_line(result)


def test_data_without_the_models_columns_exits_2_naming_the_missing_ones(iris_model):
    for command in ("evaluate", "predict"):
        result = run(command, iris_model, "xor")
        assert result.exit_code == 2
        line = error_line(result)
        assert "iris.dg takes 4 features per sample but 'xor' lacks 4 of them" in line
        assert "sepal length (cm)" in line and "(its columns: x1, x2)" in line


def test_deepgrad_without_arguments_shows_the_commands():
    result = run()
    for command in ("train", "evaluate", "predict", "datasets", "gradcheck"):
        assert command in result.output


def test_out_in_a_missing_folder_is_refused_before_training(tmp_path):
    result = run("train", "xor", "--epochs", "3", "--out", tmp_path / "no" / "x.dg")
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Epoch 1/" not in result.output


def test_plot_without_matplotlib_is_one_error_line_before_training(monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "matplotlib" else find_spec(name, *args),
    )
    result = run("train", "xor", "--epochs", "3", "--plot", "loss.png")
    assert result.exit_code == 2
    assert "pip install 'deepgrad[plot]'" in result.output
    assert "Epoch 1/" not in result.output


def test_a_diverging_run_exits_1_after_keeping_the_last_good_weights(tmp_path):
    model_path = tmp_path / "diverged.dg"
    result = run(
        "train",
        "xor",
        "--optimizer",
        "sgd",
        "--lr",
        "1e9",
        "--epochs",
        "30",
        "--out",
        model_path,
    )
    assert result.exit_code == 1
    assert result.output.count("training stopped") == 1
    assert "try a lower one" in result.output
    predicted = run("predict", model_path, "xor")
    assert "nan" not in predicted.stdout


def test_sweep_writes_a_plot_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("sweep", "xor", "--lr", "0.5,1", "--epochs", "20", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert list(tmp_path.iterdir()) == []


def test_version_prints_the_package_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"deepgrad {dg.__version__}"


def test_nesterov_trains_what_sgd_with_nesterov_trains(tmp_path):
    """--nesterov is PyTorch's SGD(nesterov=True): the model file's weights equal
    those of the same run in Python, and they differ from plain momentum's."""
    from deepgrad.recipes import initialised_network

    out = tmp_path / "nesterov.dg"
    common = ("train", "xor", "--hidden", "4", "--activation", "tanh",
              "--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.9",
              "--batch-size", "full", "--epochs", "30", "--no-standardize")  # fmt: skip
    result = run(*common, "--nesterov", "--out", out)
    assert result.exit_code == 0, result.output
    plain = tmp_path / "plain.dg"
    assert run(*common, "--out", plain).exit_code == 0

    dataset = dg.data.load_dataset("xor")
    model, _ = initialised_network(dataset, [4], "tanh", "bce", "auto", 42)
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    loss_fn = dg.nn.BCELoss()
    X, y = dg.tensor(dataset.X), dg.tensor(dataset.y.reshape(-1, 1).astype(np.float32))
    for _ in range(30):
        optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        optimizer.step()
    trained = dg.load(out).model.state_dict()
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(trained[name].array, value.array, rtol=1e-5, atol=1e-6)
    other = dg.load(plain).model.state_dict()
    assert not np.allclose(other["0.weight"].array, trained["0.weight"].array)


def test_nesterov_without_momentum_or_with_adam_is_one_error_line():
    line = error_line(run("train", "xor", "--optimizer", "adam", "--nesterov"))
    assert "--nesterov does not apply to --optimizer adam" in line
    line = error_line(run("train", "xor", "--optimizer", "sgd", "--nesterov"))
    assert "--nesterov needs a momentum: add --momentum 0.9" in line


def test_every_option_in_every_help_names_what_it_takes_not_a_python_type():
    """Each command's --help shows a metavar (N, RATES, ADDRESS, ...) for each
    option that takes a value, never typer's <str>, <int range> or <float>."""
    from deepgrad.cli import app as typer_app

    commands = [
        command.name or command.callback.__name__
        for command in typer_app.registered_commands
    ]
    assert {"train", "sweep", "serve", "kernels"} <= set(commands)
    for command in commands:
        result = run(command, "--help")
        assert result.exit_code == 0, result.output
        for typed in ("<str>", "<int", "<float", "<path>"):
            assert typed not in result.output, f"{command} --help shows {typed}"
