"""LivePlot: the loss curve redrawn in place in a Jupyter notebook while fit trains."""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

from deepgrad.figures import draw_history, figure_png, in_notebook, new_figure
from deepgrad.train.callbacks.callback import Callback

_live_warned = False


class LivePlot(Callback):
    """Redraw the loss curve in place in a Jupyter notebook while fit trains.

    What ``fit(..., live=True)`` adds to the callbacks. The first epoch is
    drawn at once, then at most one redraw every ``min_interval`` seconds (and
    never more than a sixth of the time, however slow drawing is), and the
    final curve when training ends. The figure is sent as a PNG through
    ``IPython.display`` and updated under the same display id, so only
    IPython, which every Jupyter kernel has, is needed. Outside a notebook it
    warns once and draws nothing.

    Parameters
    ----------
    min_interval : float
        Seconds between redraws, at least.
    """

    def __init__(self, min_interval: float = 0.5) -> None:
        self.min_interval = min_interval
        self._handle: Any = None
        self._active = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        global _live_warned
        self._active = in_notebook()
        if not self._active:
            if not _live_warned:
                _live_warned = True
                warnings.warn(
                    "fit(live=True) redraws the loss curve in a Jupyter notebook "
                    "only, and this is not one: nothing is drawn. Plot afterwards "
                    "with deepgrad.plots.plot_history(history).",
                    UserWarning,
                    stacklevel=4,
                )
            return
        self._figure, _ = new_figure((8, 5))
        self._handle = None
        self._next_draw = -math.inf
        self._interval = self.min_interval

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._active and time.monotonic() >= self._next_draw:
            self._draw()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._active and self.history.epoch:
            self._draw()

    def _draw(self) -> None:
        from IPython.display import Image, display

        started = time.monotonic()
        values = self.history.history
        epochs = [epoch + 1 for epoch in self.history.epoch]
        self._figure.clear()
        draw_history(
            self._figure.add_subplot(),
            values,
            epochs,
            self.history.loss_name or "Loss",
            accuracy=True,
        )
        image = Image(data=figure_png(self._figure), format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)
        finished = time.monotonic()
        # drawing takes at most a sixth of the time, however slow it is
        self._interval = max(self.min_interval, 5 * (finished - started))
        self._next_draw = finished + self._interval
