"""deepgrad.sweep and `deepgrad sweep`: many runs from the same weights, in parallel."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from typer.testing import CliRunner

import deepgrad as dg
from deepgrad import cli, recipes
from deepgrad.data import load_dataset
from deepgrad.sweep import (
    epochs_to_threshold,
    parse_option_values,
    plan_sweep,
    run_sweep,
)
from deepgrad.train import Classifier

runner = CliRunner()


def _regression_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 3))
    return X, (X @ [1.0, -2.0, 0.5]).astype(np.float32)


def _lab_network(hidden=(4, 4), seed=42):
    """The network `deepgrad train xor --hidden 4,4 --activation sigmoid` builds."""
    dg.manual_seed(seed)
    model = recipes.build_network(2, list(hidden), "sigmoid", "bce", "binary", 2)
    recipes.initialise(model, "normal", seed)
    return model


# -- the sweep's results ---------------------------------------------------------------
def test_serial_and_parallel_sweeps_give_identical_per_run_results():
    grid = {"lr": [0.5, 2.0], "batch_size": [2, "full"]}
    base = {"epochs": 60, "dropout": 0.1}  # dropout draws from deepgrad's generator
    serial = run_sweep(base, grid, n_jobs=1)
    parallel = run_sweep(base, grid, n_jobs=2)
    assert [r["label"] for r in parallel] == [r["label"] for r in serial]
    for one, other in zip(serial, parallel, strict=True):
        assert one["loss"] == other["loss"]  # bit for bit
        assert one["accuracy"] == other["accuracy"]
        assert one["epochs_to_threshold"] == other["epochs_to_threshold"]
        assert one["diverged"] == other["diverged"]
    # the mini-batch runs shuffled and dropped units, and still agree: both are
    # seeded per run
    assert serial[0]["loss"] != serial[1]["loss"]


def test_runs_of_one_architecture_start_from_the_same_initial_weights():
    runs = plan_sweep({}, {"lr": [0.1, 1.0, 5.0], "momentum": [0.0, 0.9]})
    expected = {k: v.numpy() for k, v in _lab_network().state_dict().items()}
    assert len(runs) == 6
    for run in runs:
        assert run["initial_state"].keys() == expected.keys()
        for name, value in expected.items():
            np.testing.assert_array_equal(run["initial_state"][name], value)


def test_every_run_trains_from_the_shared_weights():
    # full batch: epoch 1's loss is the loss of the starting weights, whatever the rate
    results = run_sweep({"epochs": 3}, {"lr": [0.01, 1.0, 100.0]}, n_jobs=1)
    xor = load_dataset("xor")
    model = _lab_network()
    start = dg.nn.BCELoss()(model(dg.tensor(xor.X)), dg.tensor(xor.y[:, None] * 1.0))
    for result in results:
        assert result["loss"][0] == pytest.approx(start.item(), rel=1e-6)


def test_runs_that_change_the_architecture_build_from_the_same_seed():
    runs = plan_sweep({"seed": 7}, {"hidden": [[2], [4, 4]]})
    assert [run["label"] for run in runs] == ["hidden=2", "hidden=4,4"]
    for run, hidden in zip(runs, [(2,), (4, 4)], strict=True):
        built = _lab_network(hidden, seed=7).state_dict()
        assert run["initial_state"]["0.weight"].shape == (hidden[0], 2)
        for name, value in built.items():
            np.testing.assert_array_equal(run["initial_state"][name], value.numpy())


@pytest.mark.parametrize(("batch_size", "dropout"), [("full", 0.0), (2, 0.2)])
def test_a_sweep_run_gives_the_numbers_of_deepgrad_train(batch_size, dropout):
    (result,) = run_sweep(
        {"epochs": 50, "batch_size": batch_size, "dropout": dropout},
        {"lr": [0.5]},
        n_jobs=1,
    )
    xor = load_dataset("xor")
    # the steps of `deepgrad train xor --hidden 4,4 --activation sigmoid ...`
    dg.manual_seed(42)
    model = recipes.build_network(2, [4, 4], "sigmoid", "bce", "binary", 2, dropout)
    recipes.initialise(model, "normal", 42)
    classifier = Classifier(
        model,
        loss_fn=dg.nn.BCELoss(),
        optimizer=recipes.make_optimizer("sgd", model.parameters(), 0.5, 0.0, 0.0),
        class_names=xor.class_names,
        task="binary",
    )
    history = classifier.fit(
        xor.X, xor.y, epochs=50, batch_size=batch_size, verbose=0, seed=42
    )
    assert result["loss"] == history.history["loss"]
    assert result["accuracy"] == history.history["accuracy"]


def test_a_huge_learning_rate_saturating_the_sigmoids_is_reported_as_diverged():
    results = run_sweep({"epochs": 50}, {"lr": [1.0, 1e4]}, n_jobs=1)
    calm, huge = results
    assert not calm["diverged"]
    assert huge["diverged"] and math.isnan(huge["final_loss"])
    # saturated sigmoids hold the loss far above its start: fit's loss rule
    # stopped the run (its losses are all finite)
    assert all(loss > 2 * huge["loss"][0] for loss in huge["loss"][-5:])
    assert "stayed above 2 times its value before training" in huge["stopped_reason"]


def test_a_learning_rate_driving_the_loss_to_infinity_is_reported_as_diverged():
    base = {"data": _regression_data(), "hidden": [8], "activation": "relu"}
    calm, huge = run_sweep({**base, "epochs": 30}, {"lr": [0.01, 1e4]}, n_jobs=1)
    assert not calm["diverged"] and calm["stopped_reason"] is None
    assert calm["accuracy"] is None and calm["final_accuracy"] is None  # regression
    assert huge["diverged"]
    assert math.isnan(huge["final_loss"])
    assert "training stopped" in huge["stopped_reason"]
    assert len(huge["loss"]) < 30 and all(map(math.isfinite, huge["loss"]))


def test_result_dicts_hold_every_key_the_plots_and_table_read():
    (result,) = run_sweep({"epochs": 5}, {"lr": [1.0]}, n_jobs=1)
    assert {
        "label",
        "options",
        "loss",
        "accuracy",
        "final_loss",
        "final_accuracy",
        "epochs_to_threshold",
        "diverged",
        "time",
    } <= set(result)
    assert result["options"] == {"lr": 1.0}
    assert len(result["loss"]) == len(result["accuracy"]) == 5
    assert result["final_loss"] == result["loss"][-1]
    assert result["time"] >= 0


def test_epochs_to_threshold_is_the_first_epoch_below_it_counted_from_one():
    losses = [0.5, 0.2, 0.09, 0.3, 0.01]
    assert epochs_to_threshold(losses, 0.1) == 3
    assert epochs_to_threshold(losses, 1.0) == 1
    assert epochs_to_threshold(losses, 0.1 * 0.01) is None
    assert epochs_to_threshold(losses, 0.09) == 5  # strictly below


def test_epochs_to_threshold_of_a_run_matches_its_loss_curve():
    (result,) = run_sweep({"epochs": 300}, {"lr": [2.0]}, n_jobs=1, threshold=0.5)
    reached = result["epochs_to_threshold"]
    assert reached is not None
    assert result["loss"][reached - 1] < 0.5 <= result["loss"][reached - 2]


def test_a_serial_sweep_leaves_the_callers_random_generator_alone():
    dg.manual_seed(3)
    expected = dg.randn(3).numpy()
    dg.manual_seed(3)
    run_sweep({"epochs": 2}, {"lr": [0.1, 1.0]}, n_jobs=1)
    np.testing.assert_array_equal(dg.randn(3).numpy(), expected)


def test_on_result_is_called_once_per_run():
    seen = []
    run_sweep({"epochs": 2}, {"lr": [0.1, 1.0]}, n_jobs=1, on_result=seen.append)
    assert sorted(result["label"] for result in seen) == ["lr=0.1", "lr=1"]


def test_plot_lr_sweep_draws_one_curve_per_result_from_the_result_dicts():
    from deepgrad import plots

    results = run_sweep({"epochs": 40}, {"lr": [1.0, 1e4]}, n_jobs=1)
    figure = plots.plot_lr_sweep(results)
    lines = [line for line in figure.axes[0].get_lines() if line.get_label()[0] != "_"]
    assert [line.get_label() for line in lines] == ["lr=1", "lr=10000 (diverged)"]
    for line, result in zip(lines, results, strict=True):
        np.testing.assert_allclose(line.get_ydata(), result["loss"])
        # the diverged run stops early: its curve ends there
        np.testing.assert_array_equal(
            line.get_xdata(), np.arange(1, len(result["loss"]) + 1)
        )
    assert len(results[0]["loss"]) == 40 and len(results[1]["loss"]) < 40


# -- the grid ----------------------------------------------------------------------------
def test_a_grid_of_several_options_is_their_cartesian_product_labelled_in_order():
    runs = plan_sweep({}, {"lr": [0.1, 1], "batch_size": [1, "full"]})
    assert [run["label"] for run in runs] == [
        "lr=0.1, batch_size=1",
        "lr=0.1, batch_size=full",
        "lr=1, batch_size=1",
        "lr=1, batch_size=full",
    ]
    assert runs[1]["options"] == {"lr": 0.1, "batch_size": "full"}
    assert runs[1]["config"]["hidden"] == [4, 4]  # the rest from the base config


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"learning_rate": [0.1]}, "unknown option 'learning_rate'"),
        ({"epochs": [10, 100]}, "epochs cannot be swept"),
        ({"seed": [1, 2]}, "seed cannot be swept"),
        ({"lr": []}, "grid['lr'] is empty"),
        ({"lr": 0.1}, "must be a list of values"),
        ({"lr": [0.1, 0.1]}, "lists 0.1 more than once"),
        ({"lr": [0.1, -1.0]}, "lr must be finite and > 0, received: -1.0"),
        ({"activation": ["sigmoid", "swish"]}, "activation must be one of"),
        ({"batch_size": [0, "full"]}, "--batch-size expects 'full' or a positive"),
        (
            {"optimizer": ["sgd", "adam"], "momentum": [0.9]},
            "run 'optimizer=adam, momentum=0.9': --momentum does not apply",
        ),
    ],
)
def test_an_unusable_grid_is_rejected_before_any_run_starts(grid, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        run_sweep({"epochs": 5}, grid, n_jobs=1)


def test_an_unknown_config_option_is_rejected():
    with pytest.raises(ValueError, match="unknown option.*'epoch'"):
        plan_sweep({"epoch": 5}, {"lr": [0.1]})


def test_command_line_values_parse_into_grid_values():
    assert parse_option_values("lr", "0.01, 0.1,1") == [0.01, 0.1, 1.0]
    assert parse_option_values("hidden", "2;4,4;8,8") == [[2], [4, 4], [8, 8]]
    assert parse_option_values("batch_size", "1,4,full") == [1, 4, "full"]
    assert parse_option_values("activation", "sigmoid,relu") == ["sigmoid", "relu"]


def test_a_value_that_does_not_parse_names_the_flag_and_the_value():
    with pytest.raises(ValueError, match=r"--lr expects numbers .* 'abc' in '0.1,abc'"):
        parse_option_values("lr", "0.1,abc")
    with pytest.raises(ValueError, match="--batch-size .* '' in '1,,full'"):
        parse_option_values("batch_size", "1,,full")


# -- the command -------------------------------------------------------------------------
def _error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def test_sweep_command_prints_the_table_and_saves_one_plot(tmp_path):
    from PIL import Image

    plot = tmp_path / "lr.png"
    result = runner.invoke(
        cli.app,
        ["sweep", "xor", "--lr", "0.5,2,1e4", "--epochs", "300", "--jobs", "2"]
        + ["--plot", str(plot)],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    for header in ("lr", "final loss", "accuracy", "epochs to loss < 0.1", "diverged"):
        assert header in out
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["0.5", "2", "10000"]
    assert rows[2].split("│")[5].strip() == "yes"  # lr=1e4 diverged
    assert "Fastest below 0.1: lr=2" in out
    assert "Diverged: lr=10000" in out
    image = Image.open(plot).convert("RGB")
    assert image.size == (1200, 750)  # plot_lr_sweep's 8 x 5 inches at 150 dpi
    colours = np.unique(np.asarray(image).reshape(-1, 3), axis=0)
    assert len(colours) > 10  # curves, not a blank canvas


def test_sweep_command_makes_a_column_per_swept_option(tmp_path):
    result = runner.invoke(
        cli.app,
        ["sweep", "xor", "--hidden", "2;4,4", "--batch-size", "1,full"]
        + ["--epochs", "20", "--jobs", "1", "--plot", str(tmp_path / "grid.png")],
    )
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "final loss" in line)
    assert header.split("┃")[1].strip() == "hidden"
    assert header.split("┃")[2].strip() == "batch size"
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row.split("│")[1:3]] for row in rows] == [
        ["2", "1"],
        ["2", "full"],
        ["4,4", "1"],
        ["4,4", "full"],
    ]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--lr", "0.1,abc"], "--lr expects numbers"),
        (["--hidden", "4;x"], "--hidden expects layer sizes"),
        (["--activation", "sigmoid,swish"], "activation must be one of"),
        (["--optimizer", "adam", "--momentum", "0,0.9"], "does not apply"),
        (["--epochs", "0"], "--epochs"),
    ],
)
def test_sweep_command_reports_a_bad_value_in_one_line_with_exit_code_2(
    args, named, tmp_path
):
    result = runner.invoke(
        cli.app, ["sweep", "xor", *args, "--plot", str(tmp_path / "no.png")]
    )
    assert result.exit_code == 2
    assert named in _error_line(result)
    assert not (tmp_path / "no.png").exists()
