"""ReduceLROnPlateau: lower the learning rate when a monitored value stops improving."""

from __future__ import annotations

import math
from typing import Any

from deepgrad.train.callbacks.callback import MonitorCallback


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when a value stops improving (Keras).

    An epoch improves on the best when ``value < best - min_delta`` (``"max"``:
    ``value > best + min_delta``). After ``patience`` epochs in a row without
    improvement, every param group's learning rate becomes ``max(lr * factor,
    min_lr)``, then ``cooldown`` epochs pass before bad epochs count again.

    Parameters
    ----------
    monitor : str
        The logged value to watch (``val_loss`` falls back to ``loss``).
    factor : float
        The multiplier, < 1.
    patience : int
        Epochs without improvement before the learning rate is reduced.
    verbose : int
        1 prints each reduction.
    mode : {"auto", "min", "max"}
        Whether the value should go down or up.
    min_delta : float
        The smallest change that counts as an improvement.
    cooldown : int
        Epochs to wait after a reduction.
    min_lr : float
        The learning rate never goes below it.

    Raises
    ------
    ValueError
        If ``factor >= 1``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(monitor, mode)
        if factor >= 1.0:
            raise ValueError(
                "ReduceLROnPlateau does not support a factor >= 1.0, "
                f"received: factor={factor}"
            )
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._resolve_monitor()
        self.best = -math.inf if self._maximize else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, value: float) -> bool:
        if self._maximize:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self._key)
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best = value
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _reduce(self, epoch: int) -> None:
        groups = self.optimizer.param_groups
        if float(groups[0]["lr"]) <= self.min_lr:
            return
        for group in groups:
            group["lr"] = max(float(group["lr"]) * self.factor, self.min_lr)
        if self.verbose > 0:
            self._active_run().echo(
                f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                f"{groups[0]['lr']}."
            )
        self.cooldown_counter = self.cooldown
        self.wait = 0
