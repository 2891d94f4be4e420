"""Figures that show learning happen: loss curves, weights, gradient flow, decision
boundaries (still and animated), learning-rate sweeps and a live loss plot.

Each ``plot_*`` function draws one figure from what ``fit`` recorded
(:class:`deepgrad.train.History`) or from a model, returns the matplotlib
``Figure`` and, given ``path=``, saves it as a PNG::

    history = fit(model, nn.BCELoss(), optimizer, (X, y), epochs=5000, verbose=0)
    plot_history(history, path="loss.png")       # the lab's "Loss over epochs"
    plot_gradient_flow(history, path="flow.png")  # each layer's ||dL/dW|| per epoch
    plot_decision_boundary(model, X, y, path="boundary.png")

matplotlib is imported inside the functions, so ``import deepgrad`` never loads
it. A figure made here is not registered with pyplot: it shows once as a
Jupyter cell's result (or with ``IPython.display.display(fig)``), is freed with
its last reference, and never pops up a window; to draw into a figure of your
own, pass ``ax=`` where offered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from deepgrad import nn
from deepgrad.atomic import atomic_write
from deepgrad.figures import draw_history, new_figure
from deepgrad.nn.module import Module
from deepgrad.tensor import Tensor, no_grad
from deepgrad.train import Callback, History
from deepgrad.train.callbacks.live_plot import LivePlot

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "BoundaryRecorder",
    "LivePlot",
    "Snapshot",
    "animate_decision_boundary",
    "plot_decision_boundary",
    "plot_gradient_flow",
    "plot_history",
    "plot_lr_sweep",
    "plot_weights",
]

# Saved PNGs are figsize * DPI pixels: plot_history's 8 x 5 inches give 1200 x 750.
DPI = 150
# GIF frames are smaller: 6 x 5 inches at 80 dpi give 480 x 400 pixels a frame.
ANIMATION_DPI = 80
# The usual healthy update-to-weight ratio (||lr * dW|| / ||W|| per step).
HEALTHY_UPDATE_RATIO = 1e-3

# The two classes of a binary boundary: blue for class 0, red for class 1, the
# ends of the probability colour map, so points and background agree.
_BINARY_CMAP = "RdBu_r"
_BINARY_POINT_COLOURS = ("#2166ac", "#b2182b")


# ---------------------------------------------------------------------------
# Figures, saving
# ---------------------------------------------------------------------------
def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Any, Any]:
    if ax is None:
        return new_figure(figsize)
    return ax.figure, ax


def _save(figure: Figure, path: str | Path | None) -> None:
    if path is None:
        return
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(
            f"Expected a .png path to save the figure to, received: {str(path)!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:  # an earlier PNG survives a failed save
        figure.savefig(handle, format="png", dpi=DPI, facecolor="white")


def _history_parts(history: Any, what: str) -> tuple[dict[str, list[float]], list[int]]:
    """(the per-epoch values, the 1-based epoch numbers) of a History or a dict."""
    if isinstance(history, History):
        values = history.history
        epochs = [epoch + 1 for epoch in history.epoch]
    elif isinstance(history, Mapping):
        values = {str(key): list(v) for key, v in history.items()}
        epochs = list(range(1, len(next(iter(values.values()), [])) + 1))
    else:
        raise TypeError(
            f"{what} expects the History that fit returns (or a dict such as "
            f"{{'loss': [...]}}), received: {type(history).__name__}"
        )
    return values, epochs


def _parameter_record(history: Any, attribute: str, what: str) -> dict[str, list]:
    if not isinstance(history, History):
        raise TypeError(
            f"{what} expects the History that fit returns, received: "
            f"{type(history).__name__}"
        )
    record: dict[str, list[float]] = getattr(history, attribute)
    if not record:
        raise ValueError(
            f"{what}: this History has no {attribute}; train with "
            "deepgrad.train.fit (or Classifier.fit), which records them every epoch"
        )
    return record


def _layer_of(name: str) -> str:
    """``"2.weight"`` -> ``"2"``: the module a parameter belongs to."""
    return name.rpartition(".")[0] or name


# ---------------------------------------------------------------------------
# Observation 1: loss decreases as the number of iterations increases
# ---------------------------------------------------------------------------


def plot_history(
    history: History | Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    loss_name: str | None = None,
    accuracy: bool = True,
    path: str | Path | None = None,
) -> Figure:
    """Training (and validation) loss against epochs, as the lab draws it.

    Title ``Loss over epochs``, x label ``Epoch``, y label the loss's full name
    (``Binary Cross Entropy Loss``), grid on. Accuracy, when recorded, goes on a
    second y axis (0 to 1, dashed lines).

    Parameters
    ----------
    history : History or dict of str to list of float
        What ``fit`` returned, or per-epoch values such as ``{"loss": [...]}``
        (the lab's ``loss_history``), with optional ``val_loss``,
        ``accuracy`` and ``val_accuracy``.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    loss_name : str, optional
        The y label; default the loss ``fit`` recorded (``history.loss_name``),
        else ``"Loss"``.
    accuracy : bool
        Draw the accuracy axis when the history has accuracy.
    path : str or Path, optional
        Save the figure to this PNG file.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``history`` is neither a History nor a dict.
    ValueError
        If it has no ``loss`` values, or ``path`` is not a .png file.

    Example
    -------
    >>> figure = plot_history({"loss": [0.69, 0.52, 0.31]})
    >>> figure.axes[0].get_title()
    'Loss over epochs'
    """
    values, epochs = _history_parts(history, "plot_history")
    if not values.get("loss"):
        raise ValueError(
            f"plot_history: the history has no loss values (keys: {sorted(values)}); "
            "train at least one epoch"
        )
    if loss_name is None:
        loss_name = getattr(history, "loss_name", None) or "Loss"
    figure, ax = _figure_and_axes(ax, (8, 5))
    draw_history(ax, values, epochs, loss_name, accuracy)
    _save(figure, path)
    return figure


# ---------------------------------------------------------------------------
# Observation 2: weights and biases adjust to minimise the error
# ---------------------------------------------------------------------------
def _layer_colours(names: Sequence[str]) -> dict[str, str]:
    layers = list(dict.fromkeys(_layer_of(name) for name in names))
    return {layer: f"C{index % 10}" for index, layer in enumerate(layers)}


def plot_weights(
    history: History,
    path: str | Path | None = None,
) -> Figure:
    """Each layer's weight and bias norms, and the update-to-weight ratio, per epoch.

    Left: ``||W||_2`` of every parameter (weights solid, biases dashed, one
    colour per layer). Right, on a log scale: the update-to-weight ratio
    ``||W_after - W_before|| / ||W_before||`` of each epoch, with a reference
    line at 1e-3, the usual healthy value: far below it a layer barely learns,
    far above it the learning rate is probably too high.

    Parameters
    ----------
    history : History
        What ``fit`` returned (it records both every epoch).
    path : str or Path, optional
        Save the figure to this PNG file.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the norms, then the ratios.

    Raises
    ------
    TypeError, ValueError
        If ``history`` is not a History with recorded weights.
    """
    weight_norms = _parameter_record(history, "weight_norms", "plot_weights")
    ratios = _parameter_record(history, "update_ratios", "plot_weights")
    epochs = [epoch + 1 for epoch in history.epoch]
    colours = _layer_colours(list(weight_norms))
    figure, (norm_axes, ratio_axes) = new_figure((13, 5), ncols=2)
    for axes, record in ((norm_axes, weight_norms), (ratio_axes, ratios)):
        for name, values in record.items():
            axes.plot(
                epochs,
                values,
                color=colours[_layer_of(name)],
                linestyle="--" if name.endswith("bias") else "-",
                linewidth=1.8,
                label=name,
            )
        axes.set_xlabel("Epoch")
        axes.grid(True, which="both", alpha=0.4)
    norm_axes.set_title("Weight and bias norms")
    norm_axes.set_ylabel("L2 norm ||W||")
    ratio_axes.set_yscale("log")
    ratio_axes.axhline(
        HEALTHY_UPDATE_RATIO,
        color="black",
        linestyle=":",
        linewidth=1.5,
        label="1e-3 (usual healthy ratio)",
    )
    ratio_axes.set_title("Update-to-weight ratio per epoch")
    ratio_axes.set_ylabel("||W_after - W_before|| / ||W_before||")
    # one legend for both panels, outside them: a deep network's twenty
    # entries would otherwise cover the curves
    ratio_axes.legend(
        title="parameter (weights solid, biases dashed)",
        fontsize="small",
        title_fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        ncol=2 if len(weight_norms) > 12 else 1,
    )
    _save(figure, path)
    return figure


# ---------------------------------------------------------------------------
# Observation 3: backpropagation distributes the error layer by layer
# ---------------------------------------------------------------------------
def plot_gradient_flow(
    history: History,
    include_bias: bool = False,
    path: str | Path | None = None,
) -> Figure:
    """Each layer's gradient norm ``||dL/dW||`` against epoch, on a log scale.

    Lines run from the first layer (dark) to the last (light), so a vanishing
    gradient shows as dark lines orders of magnitude below the light ones: a
    deep sigmoid network multiplies the error by ``sigmoid'(z) <= 1/4`` at
    every layer on its way back.

    Parameters
    ----------
    history : History
        What ``fit`` returned (``history.grad_norms``, from each epoch's last
        batch).
    include_bias : bool
        Also draw the biases' gradients (dashed).
    path : str or Path, optional
        Save the figure to this PNG file.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError, ValueError
        If ``history`` is not a History with recorded gradient norms.
    """
    from matplotlib import colormaps

    grad_norms = _parameter_record(history, "grad_norms", "plot_gradient_flow")
    names = [
        name for name in grad_norms if include_bias or not name.endswith("bias")
    ] or list(grad_norms)
    layers = list(dict.fromkeys(_layer_of(name) for name in names))
    palette = colormaps["viridis"]
    epochs = [epoch + 1 for epoch in history.epoch]
    figure, ax = new_figure((9, 5.5))
    for name in names:
        depth = layers.index(_layer_of(name))
        ax.plot(
            epochs,
            grad_norms[name],
            color=palette(0.9 * depth / max(1, len(layers) - 1)),
            linestyle="--" if name.endswith("bias") else "-",
            linewidth=1.8,
            label=f"{depth + 1}: {name}",
        )
    ax.set_yscale("log")
    ax.set_title("Gradient flow: each layer's gradient norm")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("||dL/dW|| (last batch of the epoch)")
    ax.grid(True, which="both", alpha=0.4)
    ax.legend(
        title="layer (input to output)",
        fontsize="small",
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
    )
    _save(figure, path)
    return figure


# ---------------------------------------------------------------------------
# Decision boundaries
# ---------------------------------------------------------------------------
def _last_leaf(model: Module) -> Module:
    leaves = [module for module in model.modules() if not module._modules]
    return leaves[-1] if leaves else model


def _module_probabilities(model: Module, X: np.ndarray) -> np.ndarray:
    """(n, C) class probabilities from a bare model's outputs, read by its last
    layer: probabilities after Sigmoid/Softmax, log-probabilities after
    LogSoftmax, logits otherwise."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            output = model(Tensor(X)).array
    finally:
        model.train(was_training)
    output = output.astype(np.float64).reshape(len(X), -1)
    last = _last_leaf(model)
    if output.shape[1] == 1:
        positive = output[:, 0]
        if not isinstance(last, nn.Sigmoid):
            positive = 1 / (1 + np.exp(-positive))  # logits
        return np.stack([1 - positive, positive], axis=1)
    if isinstance(last, nn.LogSoftmax):
        return np.exp(output)
    if isinstance(last, nn.Softmax):
        return output
    shifted = np.exp(output - output.max(axis=1, keepdims=True))  # softmax of logits
    return shifted / shifted.sum(axis=1, keepdims=True)


def _dtype_of(module: Module) -> np.dtype:
    floats = (p.dtype for p in module.parameters() if p.dtype.kind == "f")
    return np.dtype(next(floats, np.float32))


def _predictor(model: Any) -> tuple[Any, Module]:
    """(X -> (n, C) probabilities, the Module whose weights they depend on).

    A Classifier predicts through its own ``predict_proba`` (standardizer
    included); a bare Module through its forward pass. Either gets the points
    in the dtype of the module's weights.
    """
    if isinstance(model, Module):
        module = model

        def predict(X: np.ndarray) -> np.ndarray:
            return _module_probabilities(module, X.astype(_dtype_of(module)))

        return predict, module
    inner = getattr(model, "model", None)
    if hasattr(model, "predict_proba") and isinstance(inner, Module):
        network = inner

        def predict_proba(X: np.ndarray) -> np.ndarray:
            probabilities = model.predict_proba(X.astype(_dtype_of(network)))
            return np.asarray(probabilities, dtype=np.float64)

        return predict_proba, network
    raise TypeError(
        "Expected a deepgrad.nn.Module or a deepgrad.train.Classifier, received: "
        f"{type(model).__name__}"
    )


def _check_points(X: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X.array if isinstance(X, Tensor) else X)
    y = np.asarray(y.array if isinstance(y, Tensor) else y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"{what} draws 2-D data: X must have shape (n_samples, 2), received: "
            f"{X.shape}; choose two features, or use a 2-D dataset such as moons"
        )
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.shape != (len(X),):
        raise ValueError(
            f"{what}: y must hold one label per row of X ({len(X)}), received shape "
            f"{y.shape}"
        )
    return X.astype(np.float64), y


def _label_indices(
    y: np.ndarray, class_names: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    """Labels as indices 0..C-1, and the name of each class."""
    if y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.all(y == np.round(y))):
        indices = y.astype(np.int64)
        count = int(indices.max()) + 1 if len(indices) else 0
        names = list(class_names) if class_names is not None else []
        return indices, [str(n) for n in names] or [str(c) for c in range(count)]
    labels = y.astype(str)
    names = [str(n) for n in class_names] if class_names else sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the class names {names}")
    return np.array([index[label] for label in labels], dtype=np.int64), names


def _grid(X: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """A resolution x resolution grid over the data, with a margin around it."""
    low, high = X.min(axis=0), X.max(axis=0)
    margin = np.maximum(0.15 * (high - low), 0.25)
    axes = [
        np.linspace(low[i] - margin[i], high[i] + margin[i], resolution)
        for i in range(2)
    ]
    xx, yy = np.meshgrid(*axes)
    return xx, yy


def _point_colours(n_classes: int) -> list[Any]:
    from matplotlib import colormaps

    if n_classes <= 2:
        return list(_BINARY_POINT_COLOURS)
    palette = colormaps["tab10"]
    return [palette(index % 10) for index in range(n_classes)]


class _Boundary(NamedTuple):
    """What every frame of a boundary plot shares: data, grid, colours."""

    X: np.ndarray
    labels: np.ndarray
    names: list[str]
    xx: np.ndarray
    yy: np.ndarray


def _prepare_boundary(
    model: Any,
    X: Any,
    y: Any,
    resolution: int,
    class_names: Sequence[str] | None,
    what: str,
) -> tuple[_Boundary, Any, Module]:
    if (
        isinstance(resolution, bool)
        or not isinstance(resolution, int)
        or resolution < 2
    ):
        raise ValueError(
            f"{what}: resolution must be an integer >= 2, received: {resolution!r}"
        )
    predict, module = _predictor(model)
    X, y = _check_points(X, y, what)
    names = (
        class_names if class_names is not None else getattr(model, "class_names", None)
    )
    labels, names = _label_indices(y, names)
    xx, yy = _grid(X, resolution)
    return _Boundary(X, labels, names, xx, yy), predict, module


def _draw_regions(ax: Axes, boundary: _Boundary, predict: Any) -> tuple[list[Any], int]:
    """The model's prediction over the grid, and the boundary line in black.

    Returns the two contour sets (filled, lines), so that an animation can
    replace them frame after frame, and the number of classes.
    """
    from matplotlib.colors import ListedColormap

    grid_points = np.column_stack([boundary.xx.ravel(), boundary.yy.ravel()])
    probabilities = predict(grid_points)
    if probabilities.shape[1] == 2:
        positive = probabilities[:, 1].reshape(boundary.xx.shape)
        filled = ax.contourf(
            boundary.xx,
            boundary.yy,
            positive,
            levels=np.linspace(0, 1, 11),
            cmap=_BINARY_CMAP,
            alpha=0.75,
        )
        lines = ax.contour(
            boundary.xx,
            boundary.yy,
            positive,
            levels=[0.5],
            colors="black",
            linewidths=1.5,
        )
        return [filled, lines], 2
    n_classes = max(len(boundary.names), probabilities.shape[1])
    predicted = probabilities.argmax(axis=1).reshape(boundary.xx.shape)
    levels = np.arange(n_classes + 1) - 0.5
    filled = ax.contourf(
        boundary.xx,
        boundary.yy,
        predicted,
        levels=levels,
        cmap=ListedColormap(_point_colours(n_classes)),
        alpha=0.35,
    )
    lines = ax.contour(
        boundary.xx,
        boundary.yy,
        predicted,
        levels=levels,
        colors="black",
        linewidths=0.8,
    )
    return [filled, lines], n_classes


def _draw_boundary(
    figure: Figure, ax: Axes, boundary: _Boundary, predict: Any, title: str
) -> list[Any]:
    """The whole boundary figure on ``ax``; returns _draw_regions' artists."""
    from matplotlib.lines import Line2D

    regions, n_classes = _draw_regions(ax, boundary, predict)
    colours = _point_colours(n_classes)
    if n_classes == 2:
        class_one = boundary.names[1] if len(boundary.names) > 1 else "1"
        colour_bar = figure.colorbar(regions[0], ax=ax)
        colour_bar.set_label(f"P({class_one})")
    ax.scatter(
        boundary.X[:, 0],
        boundary.X[:, 1],
        c=[colours[label] for label in boundary.labels],
        edgecolors="black",
        linewidths=0.6,
        s=36 if len(boundary.X) > 50 else 90,
        zorder=3,
    )
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor=colours[index],
            markeredgecolor="black",
            label=name,
        )
        for index, name in enumerate(boundary.names)
    ]
    ax.legend(handles=handles, title="class", loc="upper right", framealpha=0.9)
    ax.set_xlim(boundary.xx.min(), boundary.xx.max())
    ax.set_ylim(boundary.yy.min(), boundary.yy.max())
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    return regions


def plot_decision_boundary(
    model: Any,
    X: Any,
    y: Any,
    ax: Axes | None = None,
    resolution: int = 200,
    class_names: Sequence[str] | None = None,
    path: str | Path | None = None,
) -> Figure:
    """The model's prediction over the plane of a 2-D dataset, with the data on top.

    Two classes: the probability of the second class as a filled contour
    (blue 0 to red 1) with the 0.5 line in black, the decision boundary. More
    classes: the predicted class as coloured regions.

    Parameters
    ----------
    model : Module or Classifier
        A bare network (its last layer says how to read its output: Sigmoid
        or Softmax give probabilities, LogSoftmax log-probabilities, anything
        else logits), or a ``deepgrad.train.Classifier``, which predicts
        through its own standardizer.
    X : array of shape (n_samples, 2)
        The points, in the features the model (or Classifier) takes.
    y : array of shape (n_samples,)
        Their labels: class indices, or names.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    resolution : int
        Grid points along each axis.
    class_names : list of str, optional
        The legend's names; default the Classifier's, else the indices.
    path : str or Path, optional
        Save the figure to this PNG file.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If X is not 2-D data with one label per row, or resolution < 2.
    TypeError
        If ``model`` is neither a Module nor a Classifier.
    """
    boundary, predict, _ = _prepare_boundary(
        model, X, y, resolution, class_names, "plot_decision_boundary"
    )
    figure, ax = _figure_and_axes(ax, (7, 5.5))
    _draw_boundary(figure, ax, boundary, predict, "Decision boundary")
    _save(figure, path)
    return figure


class Snapshot(NamedTuple):
    """A model's weights after ``epoch`` epochs, one frame of an animation."""

    epoch: int
    state: Mapping[str, Any]
    loss: float | None = None


def _weights_copy(module: Module) -> dict[str, np.ndarray]:
    return {name: value.array.copy() for name, value in module.state_dict().items()}


def animate_decision_boundary(
    model: Any,
    X: Any,
    y: Any,
    snapshots: Sequence[Snapshot | tuple[Any, ...]],
    path: str | Path,
    fps: int = 10,
    resolution: int = 100,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Save a GIF of the decision boundary, one frame per snapshot of the weights.

    Each frame loads a snapshot's weights into the model and draws
    :func:`plot_decision_boundary`'s figure, titled with its epoch (and loss).
    The model's own weights are put back afterwards.

    Parameters
    ----------
    model : Module or Classifier
        The model the snapshots were taken of.
    X, y : arrays
        The 2-D points and their labels, as for plot_decision_boundary.
    snapshots : sequence of Snapshot or (epoch, state_dict[, loss]) tuples
        The weights of each frame, e.g. ``BoundaryRecorder.snapshots``.
    path : str or Path
        The .gif file to write.
    fps : int
        Frames per second.
    resolution : int
        Grid points along each axis (lower than plot_decision_boundary's, so
        that many frames draw quickly).
    class_names : list of str, optional
        The legend's names.

    Returns
    -------
    Path
        Where the GIF was written.

    Raises
    ------
    ValueError
        For no snapshots, a path that is not a .gif, or fps < 1.
    """
    from matplotlib.animation import PillowWriter

    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(
            f"animate_decision_boundary writes a GIF: expected a .gif path, "
            f"received: {str(path)!r}"
        )
    if isinstance(fps, bool) or not isinstance(fps, int) or fps < 1:
        raise ValueError(f"fps must be a positive integer, received: {fps!r}")
    frames = [Snapshot(*snapshot) for snapshot in snapshots]
    if not frames:
        raise ValueError(
            "animate_decision_boundary needs at least one snapshot of the weights; "
            "record them with BoundaryRecorder during fit"
        )
    boundary, predict, module = _prepare_boundary(
        model, X, y, resolution, class_names, "animate_decision_boundary"
    )
    current = _weights_copy(module)
    figure, ax = new_figure((6, 5))
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = PillowWriter(fps=fps)
    regions: list[Any] = []
    try:
        # PillowWriter writes to a file name: the atomic write's temporary file,
        # renamed over ``path`` only once the whole GIF is in it
        with (
            atomic_write(path) as gif,
            writer.saving(figure, gif.name, dpi=ANIMATION_DPI),
        ):
            for frame in frames:
                module.load_state_dict(dict(frame.state))
                title = f"Decision boundary, epoch {frame.epoch}"
                if frame.loss is not None:
                    title += f" (loss {frame.loss:.4f})"
                if not regions:
                    regions = _draw_boundary(figure, ax, boundary, predict, title)
                else:
                    # points, legend and colour bar stay; the regions change
                    for artist in regions:
                        artist.remove()
                    regions, _ = _draw_regions(ax, boundary, predict)
                    ax.set_title(title)
                writer.grab_frame(facecolor="white")
                figure.set_layout_engine("none")  # settled by the first frame
    finally:
        module.load_state_dict(current)
    return path


class BoundaryRecorder(Callback):
    """Snapshot the weights every N epochs during fit, to animate the boundary.

    Takes the initial weights (epoch 0), then every ``every``-th epoch and the
    last one; ``save(path)`` writes the GIF with
    :func:`animate_decision_boundary`, drawing through what fit trained (the
    Classifier, standardizer included, when it is ``Classifier.fit``).

    Parameters
    ----------
    X, y : arrays
        The 2-D points to draw (in the features the model or Classifier takes)
        and their labels.
    every : int
        Epochs between snapshots; ``epochs // 40`` gives about 40 frames.
    class_names : list of str, optional
        The legend's names.

    Example
    -------
    >>> recorder = BoundaryRecorder(X=[[0, 0], [1, 1]], y=[0, 1], every=10)
    >>> # fit(model, loss, optimizer, (X, y), epochs=400, callbacks=[recorder])
    >>> # recorder.save("boundary.gif")
    """

    def __init__(
        self,
        X: Any,
        y: Any,
        every: int = 10,
        class_names: Sequence[str] | None = None,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(
                f"BoundaryRecorder: every must be a positive integer, received: "
                f"{every!r}"
            )
        self.X, self.y = _check_points(X, y, "BoundaryRecorder")
        self.every = every
        self.class_names = class_names
        self.snapshots: list[Snapshot] = []
        self._target: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # what fit trains: the Classifier of Classifier.fit, else the model
        self._target = self._active_run().save_target
        self._last_epoch: int | None = None
        self.snapshots = [Snapshot(len(self.history.epoch), _weights_copy(self.model))]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._last_epoch = epoch
        if (epoch + 1) % self.every == 0:
            self._take(epoch, logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if (
            self._last_epoch is not None
            and self.snapshots[-1].epoch != self._last_epoch + 1
        ):
            self._take(self._last_epoch, logs)

    def _take(self, epoch: int, logs: dict[str, Any] | None) -> None:
        loss = (logs or {}).get("loss")
        self.snapshots.append(Snapshot(epoch + 1, _weights_copy(self.model), loss))

    def save(self, path: str | Path, fps: int = 10, resolution: int = 100) -> Path:
        """Write the recorded frames as a GIF; see animate_decision_boundary."""
        if self._target is None:
            raise ValueError(
                "BoundaryRecorder has no frames yet: pass it to fit(..., "
                "callbacks=[recorder]) first"
            )
        return animate_decision_boundary(
            self._target,
            self.X,
            self.y,
            self.snapshots,
            path,
            fps=fps,
            resolution=resolution,
            class_names=self.class_names,
        )


# ---------------------------------------------------------------------------
# Observation 4: the learning rate greatly influences convergence speed
# ---------------------------------------------------------------------------
def _check_sweep_results(results: Any) -> list[dict[str, Any]]:
    if isinstance(results, Mapping) or not isinstance(results, Sequence) or not results:
        raise ValueError(
            "plot_lr_sweep expects a non-empty list of dicts {'label': str, "
            f"'loss': list of float, 'diverged': bool}}, received: {results!r:.80}"
        )
    checked = []
    for index, result in enumerate(results):
        if (
            not isinstance(result, Mapping)
            or "label" not in result
            or "loss" not in result
        ):
            raise ValueError(
                f"plot_lr_sweep: result {index} must be a dict with 'label' and 'loss' "
                f"(and 'diverged'), received: {result!r:.80}"
            )
        checked.append(
            {
                "label": str(result["label"]),
                "loss": [float(value) for value in result["loss"]],
                "diverged": bool(result.get("diverged", False)),
            }
        )
    return checked


def plot_lr_sweep(
    results: Sequence[Mapping[str, Any]], path: str | Path | None = None
) -> Figure:
    """One loss curve per learning rate (or other setting), on a log y axis.

    Parameters
    ----------
    results : list of dict
        ``{"label": str, "loss": list of float, "diverged": bool}`` per run,
        as ``deepgrad.sweep`` produces them. A diverged run is drawn dashed,
        with an x where it stopped and ``(diverged)`` in its label.
    path : str or Path, optional
        Save the figure to this PNG file.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a result lacks ``label`` or ``loss``.

    Example
    -------
    >>> figure = plot_lr_sweep([{"label": "lr=0.1", "loss": [0.7, 0.5, 0.2]},
    ...                         {"label": "lr=1", "loss": [0.7, 0.1, 0.01]}])
    >>> [line.get_label() for line in figure.axes[0].get_lines()]
    ['lr=0.1', 'lr=1']
    """
    from matplotlib import colormaps

    runs = _check_sweep_results(results)
    # a qualitative palette: each curve its own hue (a sequential map made the
    # first rates the same dark purple)
    palette = colormaps["tab10" if len(runs) <= 10 else "tab20"]
    figure, ax = new_figure((8, 5))
    for index, run in enumerate(runs):
        colour = palette(index % palette.N)
        loss = np.asarray(run["loss"], dtype=np.float64)
        epochs = np.arange(1, len(loss) + 1)
        label = run["label"] + (" (diverged)" if run["diverged"] else "")
        ax.plot(
            epochs,
            loss,
            color=colour,
            linewidth=2,
            linestyle="--" if run["diverged"] else "-",
            label=label,
        )
        finite = np.flatnonzero(np.isfinite(loss) & (loss > 0))
        if run["diverged"] and len(finite):
            last = finite[-1]
            ax.plot(
                [epochs[last]],
                [loss[last]],
                marker="x",
                markersize=12,
                markeredgewidth=2.5,
                color=colour,
                linestyle="",
            )
    ax.set_yscale("log")
    swept = {name for run in results for name in dict(run.get("options") or {})}
    what = ", ".join(sorted(swept)).replace("_", " ") if swept else "learning rate"
    ax.set_title(
        "Loss for each learning rate"
        if what in ("lr", "learning rate")
        else f"Loss for each {what}"
    )
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss (log scale)")
    ax.grid(True, which="both", alpha=0.4)
    ax.legend()
    _save(figure, path)
    return figure
