"""deepgrad.plots and what fit records for it: each figure checked on its objects
(titles, labels, lines and the data in them) and on the PNG or GIF it writes."""

from __future__ import annotations

import math
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
from PIL import Image, ImageSequence
from typer.testing import CliRunner

import deepgrad as dg
from deepgrad import cli, nn, plots
from deepgrad.data import Standardizer, load_dataset
from deepgrad.train import Callback, Classifier, History, fit
from deepgrad.train.callbacks import live_plot

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def lab_net(seed: int = 42) -> nn.Sequential:
    dg.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(2, 4),
        nn.Sigmoid(),
        nn.Linear(4, 4),
        nn.Sigmoid(),
        nn.Linear(4, 1),
        nn.Sigmoid(),
    )


def train_xor(
    epochs: int = 30, lr: float = 0.5, **options
) -> tuple[nn.Module, History]:
    model = lab_net()
    history = fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=lr),
        (XOR_X, XOR_Y),
        epochs=epochs,
        batch_size="full",
        verbose=0,
        **options,
    )
    return model, history


@pytest.fixture(scope="module")
def xor_run() -> tuple[nn.Module, History]:
    return train_xor(epochs=40)


@pytest.fixture(scope="module")
def moons():
    return load_dataset("moons")


def assert_png(path, size: tuple[int, int]) -> None:
    """The file is a PNG of ``size`` pixels with a real picture in it."""
    assert path.is_file()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # not blank, not one flat colour


def line_data(line) -> tuple[list[float], list[float]]:
    x, y = line.get_data()
    return list(map(float, x)), list(map(float, y))


# ---------------------------------------------------------------------------
# What fit records
# ---------------------------------------------------------------------------
class WeightsAroundEachEpoch(Callback):
    def on_train_begin(self, logs=None):
        self.before, self.after = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.before.append(
            {n: p.array.astype(np.float64) for n, p in self.model.named_parameters()}
        )

    def on_epoch_end(self, epoch, logs=None):
        self.after.append(
            {n: p.array.astype(np.float64) for n, p in self.model.named_parameters()}
        )


@pytest.mark.parametrize("fast", [True, False])
def test_weight_norms_and_update_ratios_equal_a_manual_computation(fast):
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    watcher = WeightsAroundEachEpoch()
    history = fit(
        model,
        nn.MSELoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (XOR_X, XOR_Y.astype(np.float32)),
        epochs=4,
        batch_size=2,
        verbose=0,
        callbacks=[watcher],
        fast=fast,
    )

    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(history.weight_norms) == list(history.update_ratios) == names
    for epoch in range(4):
        before, after = watcher.before[epoch], watcher.after[epoch]
        for name in names:
            assert history.weight_norms[name][epoch] == pytest.approx(
                np.linalg.norm(after[name]), rel=1e-12
            )
            assert history.update_ratios[name][epoch] == pytest.approx(
                np.linalg.norm(after[name] - before[name])
                / np.linalg.norm(before[name]),
                rel=1e-9,
            )


def test_update_ratio_of_one_sgd_step_is_lr_times_grad_norm_over_weight_norm():
    lr = 0.3
    model = lab_net().double()  # float64, so W_after - W_before loses no digits
    start = {n: float(np.linalg.norm(p.array)) for n, p in model.named_parameters()}
    history = fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=lr),
        (XOR_X.astype(np.float64), XOR_Y),
        epochs=1,
        batch_size="full",
        verbose=0,
    )
    for name in ("0.weight", "2.weight", "4.weight"):
        assert history.update_ratios[name][0] == pytest.approx(
            lr * history.grad_norms[name][0] / start[name], rel=1e-12
        )


def test_update_ratio_is_nan_while_a_parameter_is_all_zeros_then_finite():
    model = lab_net()
    for layer in (model[0], model[2], model[4]):
        nn.init.zeros_(layer.bias)
    history = fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=0.5),
        (XOR_X, XOR_Y),
        epochs=3,
        batch_size="full",
        verbose=0,
    )
    assert math.isnan(history.update_ratios["0.bias"][0])
    assert all(math.isfinite(v) for v in history.update_ratios["0.bias"][1:])
    assert all(math.isfinite(v) for v in history.update_ratios["0.weight"])


def test_fit_records_the_loss_full_name_for_plot_labels(xor_run):
    _, history = xor_run
    assert history.loss_name == "Binary Cross Entropy Loss"


def test_history_keeps_weight_records_and_loss_name_through_to_dict(xor_run):
    _, history = xor_run
    again = History.from_dict(history.to_dict())
    assert again.weight_norms == history.weight_norms
    assert again.loss_name == history.loss_name
    # NaN != NaN, so compare the ratios as arrays
    for name, values in history.update_ratios.items():
        np.testing.assert_array_equal(again.update_ratios[name], values)


def test_history_from_a_record_without_weight_norms_starts_them_empty():
    record = {"epoch": [0], "history": {"loss": [0.5]}, "grad_norms": {"w": [1.0]}}
    history = History.from_dict(record)
    assert history.weight_norms == {} and history.update_ratios == {}
    assert history.loss_name is None


def test_resumed_training_continues_the_weight_records(xor_run):
    model, history = train_xor(epochs=5)
    resumed = fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=0.5),
        (XOR_X, XOR_Y),
        epochs=8,
        batch_size="full",
        verbose=0,
        training_state=history.training_state,
    )
    assert resumed.epoch == list(range(8))
    assert all(len(values) == 8 for values in resumed.weight_norms.values())
    assert all(len(values) == 8 for values in resumed.update_ratios.values())


def test_importing_deepgrad_and_its_training_loop_does_not_import_matplotlib():
    code = (
        "import sys, deepgrad, deepgrad.train, deepgrad.cli; "
        "print(any(m.startswith('matplotlib') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# Observation 1: plot_history
# ---------------------------------------------------------------------------
def test_plot_history_draws_the_labs_figure_from_the_history(xor_run, tmp_path):
    _, history = xor_run
    path = tmp_path / "loss.png"
    figure = plots.plot_history(history, path=path)

    loss_axes, accuracy_axes = figure.axes
    assert loss_axes.get_title() == "Loss over epochs"
    assert loss_axes.get_xlabel() == "Epoch"
    assert loss_axes.get_ylabel() == "Binary Cross Entropy Loss"
    assert all(line.get_visible() for line in loss_axes.get_xgridlines())
    (loss_line,) = loss_axes.get_lines()
    epochs, values = line_data(loss_line)
    assert epochs == list(range(1, 41))
    assert values == history.history["loss"]
    (accuracy_line,) = accuracy_axes.get_lines()
    assert line_data(accuracy_line)[1] == history.history["accuracy"]
    assert accuracy_axes.get_ylabel() == "Accuracy"
    legend = [text.get_text() for text in accuracy_axes.get_legend().get_texts()]
    assert legend == ["Training loss", "Training accuracy"]
    assert_png(path, (1200, 750))


def test_plot_history_draws_validation_curves_and_can_leave_out_accuracy(moons):
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    history = fit(
        model,
        nn.BCEWithLogitsLoss(),
        dg.optim.Adam(model.parameters(), lr=0.01),
        (moons.X.astype(np.float32), moons.y),
        epochs=5,
        validation=0.25,
        verbose=0,
    )
    figure = plots.plot_history(history)
    labels = [line.get_label() for axes in figure.axes for line in axes.get_lines()]
    assert labels == [
        "Training loss",
        "Validation loss",
        "Training accuracy",
        "Validation accuracy",
    ]
    assert line_data(figure.axes[0].get_lines()[1])[1] == history.history["val_loss"]

    without = plots.plot_history(history, accuracy=False, loss_name="BCE")
    assert len(without.axes) == 1
    assert without.axes[0].get_ylabel() == "BCE"


def test_plot_history_takes_the_labs_own_loss_list_and_an_axes_of_yours():
    from matplotlib.figure import Figure

    figure = Figure()
    ax = figure.add_subplot()
    returned = plots.plot_history({"loss": [0.7, 0.4, 0.1]}, ax=ax)
    assert returned is figure
    assert line_data(ax.get_lines()[0]) == ([1.0, 2.0, 3.0], [0.7, 0.4, 0.1])
    assert ax.get_ylabel() == "Loss"


def test_plot_history_rejects_what_it_cannot_draw(tmp_path):
    with pytest.raises(TypeError, match="History that fit returns"):
        plots.plot_history([0.5, 0.4])
    with pytest.raises(ValueError, match="no loss values"):
        plots.plot_history({"accuracy": [0.5]})
    with pytest.raises(ValueError, match=r"\.png"):
        plots.plot_history({"loss": [0.5]}, path=tmp_path / "loss.jpg")


# ---------------------------------------------------------------------------
# Observation 2: plot_weights
# ---------------------------------------------------------------------------
def test_plot_weights_draws_norms_and_ratios_with_the_healthy_reference(
    xor_run, tmp_path
):
    _, history = xor_run
    path = tmp_path / "weights.png"
    figure = plots.plot_weights(history, path=path)

    norm_axes, ratio_axes = figure.axes
    assert norm_axes.get_title() == "Weight and bias norms"
    assert ratio_axes.get_yscale() == "log"
    names = list(history.weight_norms)
    assert [line.get_label() for line in norm_axes.get_lines()] == names
    for line in norm_axes.get_lines():
        assert line_data(line)[1] == history.weight_norms[line.get_label()]
    *ratio_lines, reference = ratio_axes.get_lines()
    assert [line.get_label() for line in ratio_lines] == names
    np.testing.assert_array_equal(
        line_data(ratio_lines[0])[1], history.update_ratios[names[0]]
    )
    assert reference.get_label() == "1e-3 (usual healthy ratio)"
    assert set(line_data(reference)[1]) == {1e-3}
    assert [line.get_linestyle() for line in norm_axes.get_lines()][:2] == ["-", "--"]
    assert_png(path, (1950, 750))


def test_plot_weights_asks_for_a_history_from_fit():
    with pytest.raises(ValueError, match="no weight_norms"):
        plots.plot_weights(History())
    with pytest.raises(TypeError, match="History"):
        plots.plot_weights({"loss": [1.0]})


# ---------------------------------------------------------------------------
# Observation 3: gradient flow, and the vanishing gradient it shows
# ---------------------------------------------------------------------------
def test_plot_gradient_flow_draws_each_layers_gradient_norm_on_a_log_scale(
    xor_run, tmp_path
):
    _, history = xor_run
    path = tmp_path / "flow.png"
    figure = plots.plot_gradient_flow(history, path=path)

    (ax,) = figure.axes
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "Epoch"
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [
        "1: 0.weight",
        "2: 2.weight",
        "3: 4.weight",
    ]
    for line, name in zip(lines, ("0.weight", "2.weight", "4.weight"), strict=True):
        assert line_data(line)[1] == history.grad_norms[name]
    assert (
        len(plots.plot_gradient_flow(history, include_bias=True).axes[0].get_lines())
        == 6
    )
    assert_png(path, (1350, 825))


def deep_net(activation: type[nn.Module], he_init: bool) -> nn.Sequential:
    """10 Linear layers, 9 hidden activations."""
    dg.manual_seed(0)
    layers: list[nn.Module] = []
    width = 2
    for _ in range(9):
        linear = nn.Linear(width, 16)
        if he_init:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        layers += [linear, activation()]
        width = 16
    return nn.Sequential(*layers, nn.Linear(16, 1))


def first_to_last_gradient_ratio(activation, he_init, moons) -> float:
    model = deep_net(activation, he_init)
    X = Standardizer().fit(moons.X).transform(moons.X).astype(np.float32)
    history = fit(
        model,
        nn.BCEWithLogitsLoss(),
        dg.optim.SGD(model.parameters(), lr=0.1),
        (X, moons.y),
        epochs=5,
        batch_size=32,
        verbose=0,
        seed=0,
    )
    first, last = history.grad_norms["0.weight"], history.grad_norms["18.weight"]
    return float(np.median(np.divide(first, last)))


def test_a_deep_sigmoid_net_vanishes_where_relu_with_he_init_does_not(moons):
    # sigmoid'(z) <= 1/4 at each of 9 layers: the first layer's gradient is
    # orders of magnitude below the last one's; ReLU + He keeps them comparable
    assert first_to_last_gradient_ratio(nn.Sigmoid, False, moons) < 1e-4
    assert first_to_last_gradient_ratio(nn.ReLU, True, moons) > 1e-2


# ---------------------------------------------------------------------------
# Decision boundaries
# ---------------------------------------------------------------------------
def test_plot_decision_boundary_draws_probabilities_the_boundary_and_the_points(
    xor_run, tmp_path
):
    model, _ = xor_run
    before = {name: p.array.copy() for name, p in model.named_parameters()}
    path = tmp_path / "boundary.png"
    figure = plots.plot_decision_boundary(model, XOR_X, XOR_Y, resolution=50, path=path)

    ax, colour_bar = figure.axes
    assert ax.get_title() == "Decision boundary"
    assert colour_bar.get_ylabel() == "P(1)"
    points = [c for c in ax.collections if c.get_offsets().shape == (4, 2)]
    assert len(points) == 1
    np.testing.assert_array_equal(points[0].get_offsets(), XOR_X)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["0", "1"]
    assert all(np.array_equal(p.array, before[n]) for n, p in model.named_parameters())
    assert model.training
    assert_png(path, (1050, 825))


def test_plot_decision_boundary_predicts_through_a_classifiers_standardizer(moons):
    names = ["left moon", "right moon"]
    X = moons.X * 100 + 500  # far from the standardized range the model was fit on
    classifier = Classifier(
        nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1)),
        standardizer=Standardizer(),
        class_names=names,
    )
    classifier.fit(X, np.asarray(names)[moons.y], epochs=20, verbose=0, seed=0)
    figure = plots.plot_decision_boundary(classifier, X, np.asarray(names)[moons.y])

    ax = figure.axes[0]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == names
    # the boundary (the 0.5 contour) lies within the data, not off in a corner
    boundary = [c for c in ax.collections if len(getattr(c, "levels", [])) == 1][0]
    vertices = np.concatenate([path.vertices for path in boundary.get_paths()])
    assert X[:, 0].min() - 50 < np.median(vertices[:, 0]) < X[:, 0].max() + 50


def test_plot_decision_boundary_colours_each_class_of_a_multiclass_model():
    blobs = load_dataset("blobs")
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, blobs.n_classes))
    figure = plots.plot_decision_boundary(model, blobs.X, blobs.y, resolution=30)
    ax = figure.axes[0]
    assert len(figure.axes) == 1  # no probability colour bar
    assert len(ax.get_legend().get_texts()) == blobs.n_classes


def test_plot_decision_boundary_refuses_data_that_is_not_2d(xor_run):
    model, _ = xor_run
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        plots.plot_decision_boundary(model, np.zeros((4, 3)), XOR_Y)
    with pytest.raises(ValueError, match="one label per row"):
        plots.plot_decision_boundary(model, XOR_X, XOR_Y[:3])
    with pytest.raises(TypeError, match="Module or a deepgrad.train.Classifier"):
        plots.plot_decision_boundary("model", XOR_X, XOR_Y)
    with pytest.raises(ValueError, match="resolution"):
        plots.plot_decision_boundary(model, XOR_X, XOR_Y, resolution=1)


def gif_frames(path) -> int:
    with Image.open(path) as image:
        assert image.format == "GIF"
        return sum(1 for _ in ImageSequence.Iterator(image))


def test_boundary_recorder_snapshots_every_n_epochs_and_saves_a_gif(tmp_path):
    model = lab_net()
    recorder = plots.BoundaryRecorder(XOR_X, XOR_Y, every=4)
    fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=0.5),
        (XOR_X, XOR_Y),
        epochs=10,
        batch_size="full",
        verbose=0,
        callbacks=[recorder],
    )
    # the initial weights, epochs 4 and 8, and the last epoch
    assert [s.epoch for s in recorder.snapshots] == [0, 4, 8, 10]
    assert recorder.snapshots[0].loss is None and recorder.snapshots[1].loss > 0
    final = {name: p.array.copy() for name, p in model.named_parameters()}

    path = recorder.save(tmp_path / "boundary.gif", resolution=20)
    assert gif_frames(path) == 4
    assert all(np.array_equal(p.array, final[n]) for n, p in model.named_parameters())


def test_animate_decision_boundary_draws_one_frame_per_snapshot(xor_run, tmp_path):
    model, _ = xor_run
    state = {name: value.array.copy() for name, value in model.state_dict().items()}
    snapshots = [(epoch, state) for epoch in (0, 1, 2)]
    path = plots.animate_decision_boundary(
        model, XOR_X, XOR_Y, snapshots, tmp_path / "xor.gif", fps=5, resolution=20
    )
    assert gif_frames(path) == 3
    with Image.open(path) as image:
        assert image.size == (480, 400)


def test_animate_decision_boundary_rejects_a_bad_path_or_no_snapshots(
    xor_run, tmp_path
):
    model, _ = xor_run
    with pytest.raises(ValueError, match=r"\.gif"):
        plots.animate_decision_boundary(model, XOR_X, XOR_Y, [], tmp_path / "a.png")
    with pytest.raises(ValueError, match="at least one snapshot"):
        plots.animate_decision_boundary(model, XOR_X, XOR_Y, [], tmp_path / "a.gif")
    with pytest.raises(ValueError, match="every"):
        plots.BoundaryRecorder(XOR_X, XOR_Y, every=0)


# ---------------------------------------------------------------------------
# Observation 4: plot_lr_sweep
# ---------------------------------------------------------------------------
def test_plot_lr_sweep_draws_one_labelled_curve_per_rate_on_a_log_axis(tmp_path):
    results = [
        {"label": "lr=0.1", "loss": [0.7, 0.6, 0.5, 0.45], "diverged": False},
        {"label": "lr=1", "loss": [0.7, 0.2, 0.05, 0.01], "diverged": False},
        {"label": "lr=10", "loss": [0.7, 3.0, 40.0], "diverged": True},
    ]
    path = tmp_path / "sweep.png"
    figure = plots.plot_lr_sweep(results, path=path)

    (ax,) = figure.axes
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "Loss for each learning rate"
    curves = [line for line in ax.get_lines() if line.get_label()[0] != "_"]
    assert [line.get_label() for line in curves] == [
        "lr=0.1",
        "lr=1",
        "lr=10 (diverged)",
    ]
    for line, result in zip(curves, results, strict=True):
        assert line_data(line)[1] == result["loss"]
    assert curves[2].get_linestyle() == "--"
    assert_png(path, (1200, 750))


def test_plot_lr_sweep_names_what_a_result_lacks():
    with pytest.raises(ValueError, match="'label' and 'loss'"):
        plots.plot_lr_sweep([{"loss": [1.0]}])
    with pytest.raises(ValueError, match="non-empty list"):
        plots.plot_lr_sweep([])


# ---------------------------------------------------------------------------
# Jupyter: fit(..., live=True)
# ---------------------------------------------------------------------------
def test_live_outside_a_notebook_warns_once_and_trains_as_usual(monkeypatch):
    monkeypatch.setattr(live_plot, "_live_warned", False)
    with pytest.warns(UserWarning, match="Jupyter notebook only"):
        _, history = train_xor(epochs=3, live=True)
    assert len(history.epoch) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_xor(epochs=3, live=True)


@pytest.fixture
def fake_notebook(monkeypatch):
    """IPython as a Jupyter kernel presents it, recording what is displayed."""
    shown: list[tuple[str, bytes]] = []

    class Handle:
        def update(self, image):
            shown.append(("update", image.data))

    def display(image, display_id=False):
        assert display_id is True
        shown.append(("display", image.data))
        return Handle()

    class Image:
        def __init__(self, data, format):
            self.data = data

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    display_module = types.ModuleType("IPython.display")
    display_module.display, display_module.Image = display, Image
    ipython.display = display_module
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    return shown


def test_live_in_a_notebook_displays_once_then_updates_in_place(fake_notebook):
    train_xor(epochs=5, live=True)
    kinds = [kind for kind, _ in fake_notebook]
    assert kinds[0] == "display" and set(kinds[1:]) == {"update"}
    assert all(data.startswith(b"\x89PNG") for _, data in fake_notebook)


def test_live_plot_redraws_at_most_once_per_interval(fake_notebook):
    live = plots.LivePlot(min_interval=3600)
    model = lab_net()
    fit(
        model,
        nn.BCELoss(),
        dg.optim.SGD(model.parameters(), lr=0.5),
        (XOR_X, XOR_Y),
        epochs=50,
        batch_size="full",
        verbose=0,
        callbacks=[live],
    )
    # the first epoch at once, then only the final curve
    assert [kind for kind, _ in fake_notebook] == ["display", "update"]


def test_a_returned_figure_shows_as_a_png_in_a_notebook(monkeypatch, fake_notebook):
    from matplotlib.figure import Figure

    registered = {}

    class PngFormatter:
        def lookup_by_type(self, kind):
            return registered[kind]

        def for_type(self, kind, function):
            registered[kind] = function

    shell = types.SimpleNamespace(
        kernel=object(),
        display_formatter=types.SimpleNamespace(
            formatters={"image/png": PngFormatter()}
        ),
    )
    monkeypatch.setattr(sys.modules["IPython"], "get_ipython", lambda: shell)
    figure = plots.plot_history({"loss": [0.7, 0.3]})
    assert registered[Figure](figure).startswith(b"\x89PNG")


# ---------------------------------------------------------------------------
# The command line: --plot and --animate
# ---------------------------------------------------------------------------
runner = CliRunner()


def test_cli_train_saves_the_loss_plot_and_the_boundary_animation(tmp_path):
    loss_png, boundary_gif = tmp_path / "loss.png", tmp_path / "boundary.gif"
    result = runner.invoke(
        cli.app,
        [
            "train",
            "xor",
            "--hidden",
            "4",
            "--epochs",
            "80",
            "--batch-size",
            "full",
            "--plot",
            str(loss_png),
            "--animate",
            str(boundary_gif),
            "--verbose",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"Saved the loss plot to {loss_png}" in result.output
    assert "(41 frames)" in result.output
    assert_png(loss_png, (1200, 750))
    assert gif_frames(boundary_gif) == 41  # the initial weights + every 2nd epoch


def test_cli_animate_refuses_a_dataset_that_is_not_2d_before_training(tmp_path):
    result = runner.invoke(
        cli.app,
        ["train", "iris", "--epochs", "1", "--animate", str(tmp_path / "b.gif")],
    )
    assert result.exit_code == 2
    assert "needs 2 features" in result.stderr
    assert "Epoch" not in result.output
    result = runner.invoke(cli.app, ["train", "xor", "--plot", str(tmp_path / "l.jpg")])
    assert result.exit_code == 2
    assert "give a .png file" in result.stderr


def test_plot_lr_sweep_gives_every_curve_a_colour_of_its_own():
    # the README's six rates: a sequential colour map drew the first two in
    # nearly the same dark purple (RGB distance 0.27)
    import itertools

    from matplotlib.colors import to_rgb

    results = [
        {"label": f"lr={rate}", "loss": [0.7, 0.5, 0.3], "diverged": False}
        for rate in (0.01, 0.1, 0.5, 1, 2, 20)
    ]
    lines = plots.plot_lr_sweep(results).axes[0].get_lines()
    colours = [np.array(to_rgb(line.get_color())) for line in lines]
    assert len(colours) == 6
    assert min(np.linalg.norm(a - b) for a, b in itertools.combinations(colours, 2)) > 0.35
