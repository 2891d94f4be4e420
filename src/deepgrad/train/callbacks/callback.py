"""Callback, the base of fit's callbacks, and MonitorCallback, the base of those
that watch one logged value."""

from __future__ import annotations

import warnings
from typing import Any

from deepgrad.nn.module import Module
from deepgrad.optim.optimizer import Optimizer
from deepgrad.train.history import History
from deepgrad.train.run import FitRun


class Callback:
    """Base class of callbacks: hooks that ``fit`` calls, with Keras' names.

    ``epoch`` is the 0-based epoch index; ``logs`` holds the epoch's ``loss``,
    ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr`` and ``time`` (those
    that apply). During ``fit``, ``self.model``, ``self.optimizer`` and
    ``self.history`` are the run's, and ``self.stop_training(reason)`` ends
    training after the current epoch. Subclasses reset their state in
    ``on_train_begin``, so one callback object can serve several runs.
    """

    _run: FitRun | None = None

    def set_run(self, run: FitRun) -> None:
        self._run = run

    def _active_run(self) -> FitRun:
        if self._run is None:
            raise RuntimeError(
                f"{type(self).__name__} is not attached to a training run; pass it "
                "to fit(..., callbacks=[...])"
            )
        return self._run

    @property
    def model(self) -> Module:
        return self._active_run().model

    @property
    def optimizer(self) -> Optimizer:
        return self._active_run().optimizer

    @property
    def history(self) -> History:
        return self._active_run().history

    def stop_training(self, reason: str) -> None:
        """Stop after the current epoch; ``reason`` becomes history.stopped_reason."""
        self._active_run().stop(reason)

    def _stop_after_failure(self, reason: str) -> None:
        """Stop training because this callback failed (a full disk): said at the
        end of fit's log, or as a RuntimeWarning when fit runs at verbose=0."""
        self.stop_training(reason)
        if self._active_run().verbose == 0:
            warnings.warn(reason, RuntimeWarning, stacklevel=3)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called once before the first epoch."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called once after the last epoch, an early stop or an interrupt."""

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of each epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after each epoch's training and validation, with its logs."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after each optimizer step with the batch's ``loss`` and ``size``."""


_MODES = ("auto", "min", "max")


class MonitorCallback(Callback):
    """A callback that watches one logged value (``val_loss`` by default)."""

    def __init__(self, monitor: str, mode: str) -> None:
        if mode not in _MODES:
            raise ValueError(
                f"{type(self).__name__}: mode must be one of {_MODES}, "
                f"received: {mode!r}"
            )
        self.monitor = monitor
        self.mode = mode
        self._key = monitor

    @property
    def _maximize(self) -> bool:
        # Keras' "auto": accuracies (and R²) go up, everything else (losses) down
        rising = "acc" in self.monitor or self.monitor.endswith("r2")
        return self.mode == "max" or (self.mode == "auto" and rising)

    def _resolve_monitor(self) -> None:
        """Choose the logged key to watch; without validation, val_x falls back to x."""
        keys = self._active_run().log_keys
        self._key = self.monitor
        if self.monitor in keys:
            return
        fallback = self.monitor.removeprefix("val_")
        if fallback != self.monitor and fallback in keys:
            warnings.warn(
                f"{type(self).__name__}: {self.monitor!r} is not available (no "
                f"validation data); monitoring {fallback!r} instead. Pass "
                f"validation=... to fit to monitor {self.monitor!r}.",
                UserWarning,
                stacklevel=4,
            )
            self._key = fallback
            return
        raise ValueError(
            f"{type(self).__name__}: monitor={self.monitor!r} is not logged by this "
            f"run; choose one of {keys}"
        )
