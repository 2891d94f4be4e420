"""Matplotlib plumbing shared by deepgrad.plots and fit's live loss plot.

Figures are made outside pyplot (no global state, no GUI window), shown as PNGs
in Jupyter, and matplotlib is imported only when a figure is asked for. The
lab's loss figure is drawn here because both ``plots.plot_history`` and the
:class:`~deepgrad.train.callbacks.live_plot.LivePlot` callback draw it.
"""

from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def require_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "deepgrad's plots need matplotlib, which is not installed: "
            "pip install 'deepgrad[plot]'",
            name="matplotlib",
        ) from None
    return matplotlib


def notebook_shell() -> Any:
    """The Jupyter kernel's IPython shell, or None (never imports IPython itself)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    shell = ipython.get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def in_notebook() -> bool:
    return notebook_shell() is not None


def figure_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, facecolor="white")
    return buffer.getvalue()


def _show_figures_as_results(figure_class: type) -> None:
    """Let a notebook show a returned Figure as a PNG.

    The inline backend registers this only once pyplot has drawn; a figure
    made here never goes through pyplot. A formatter already registered
    (inline, retina, svg) is kept.
    """
    shell = notebook_shell()
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", {})
    png = formatters.get("image/png")
    if png is None:
        return
    try:
        png.lookup_by_type(figure_class)
    except KeyError:
        png.for_type(figure_class, figure_png)


def new_figure(figsize: tuple[float, float], ncols: int = 1) -> tuple[Figure, Any]:
    """A figure outside pyplot, and its axes (a list when ``ncols > 1``)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    _show_figures_as_results(Figure)
    figure = Figure(figsize=figsize, layout="constrained")
    axes = [figure.add_subplot(1, ncols, column + 1) for column in range(ncols)]
    return figure, axes[0] if ncols == 1 else axes


def draw_history(
    ax: Axes,
    values: dict[str, list[float]],
    epochs: list[int],
    loss_name: str,
    accuracy: bool,
) -> Axes | None:
    """The lab's loss figure on ``ax``; returns the accuracy axis, if drawn."""
    ax.plot(epochs, values["loss"], color="C0", linewidth=2, label="Training loss")
    if "val_loss" in values:
        ax.plot(
            epochs, values["val_loss"], color="C1", linewidth=2, label="Validation loss"
        )
    ax.set_title("Loss over epochs")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(loss_name)
    ax.grid(True)
    handles, labels = ax.get_legend_handles_labels()
    accuracy_axes = None
    if accuracy and "accuracy" in values:
        accuracy_axes = ax.twinx()
        accuracy_axes.plot(
            epochs,
            values["accuracy"],
            color="C2",
            linestyle="--",
            label="Training accuracy",
        )
        if "val_accuracy" in values:
            accuracy_axes.plot(
                epochs,
                values["val_accuracy"],
                color="C3",
                linestyle="--",
                label="Validation accuracy",
            )
        accuracy_axes.set_ylabel("Accuracy")
        accuracy_axes.set_ylim(0, 1.05)
        more_handles, more_labels = accuracy_axes.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    # on the top axes, so the accuracy lines never cover it
    (accuracy_axes or ax).legend(handles, labels, loc="center right")
    return accuracy_axes
