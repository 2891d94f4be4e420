"""EarlyStopping: stop training when a monitored value has stopped improving."""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.nn.module import Module
from deepgrad.train.callbacks.callback import MonitorCallback


def _weights(model: Module) -> dict[str, np.ndarray]:
    """A copy of every parameter and buffer, to restore with load_state_dict."""
    return {name: value.array.copy() for name, value in model.state_dict().items()}


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored value has stopped improving (Keras' semantics).

    After each epoch from ``start_from_epoch`` on, the value improves when
    ``value < best - min_delta`` (``mode="min"``) or ``value > best +
    min_delta`` (``"max"``; ``"auto"`` picks max for accuracies, min
    otherwise). Training stops once ``patience`` epochs in a row have not
    improved (at the first non-improving epoch when ``patience=0``).

    Parameters
    ----------
    monitor : str
        The logged value to watch; ``val_loss`` falls back to ``loss`` (with
        a warning) when fit has no validation data.
    min_delta : float
        The smallest change that counts as an improvement.
    patience : int
        Epochs without improvement after which training stops.
    verbose : int
        1 prints when it stops and when it restores weights even when fit is
        silent (``verbose=0``); at fit's ``verbose >= 1`` fit prints the stop
        and this callback the restore, each once, whatever this value.
    mode : {"auto", "min", "max"}
        Whether the value should go down or up.
    restore_best_weights : bool
        At the end of training, put back the weights of the best epoch.
    start_from_epoch : int
        Epochs of warm-up before the value is watched.

    Example
    -------
    >>> stop = EarlyStopping(patience=5, restore_best_weights=True)
    >>> # history = fit(model, loss, optimizer, data, validation=0.2, callbacks=[stop])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__(monitor, mode)
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._resolve_monitor()
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self._maximize:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self._key)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _weights(self.model)
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _weights(self.model)
            self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.stop_training(
                f"Epoch {epoch + 1}: early stopping ({self._key} did not improve "
                f"for {self.wait} epochs)"
            )

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        run = self._active_run()
        # fit prints why it stopped at verbose >= 1; at verbose 0, verbose=1 here
        # says it, so that the stop is said once either way
        speaks = run.verbose > 0 or self.verbose > 0
        if self.stopped_epoch > 0 and self.verbose > 0 and run.verbose == 0:
            run.echo(
                run.stopped_reason or f"Epoch {self.stopped_epoch + 1}: early stopping"
            )
        if self.restore_best_weights and self.best_weights is not None:
            if speaks:
                run.echo(
                    f"Restored the weights of epoch {self.best_epoch + 1} "
                    f"({self._key} {self.best:.4f})"
                )
            self.model.load_state_dict(self.best_weights)
