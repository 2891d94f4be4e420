"""LearningRateScheduler: set the learning rate each epoch from a function or a scheduler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deepgrad.optim.lr_scheduler import LRScheduler
from deepgrad.optim.lr_scheduler import ReduceLROnPlateau as _PlateauScheduler
from deepgrad.train.callbacks.callback import Callback, MonitorCallback
from deepgrad.train.run import FitRun


class _PlateauMonitor(MonitorCallback):
    """The monitored key of a wrapped ReduceLROnPlateau scheduler."""

    def __init__(self, monitor: str) -> None:
        super().__init__(monitor, "auto")


class LearningRateScheduler(Callback):
    """Step a ``deepgrad.optim.lr_scheduler`` scheduler once per epoch.

    The scheduler is stepped at the end of each epoch, after that epoch's
    optimizer steps, as PyTorch's loops do; a ``ReduceLROnPlateau`` scheduler
    is stepped with the monitored value. A Keras-style function
    ``schedule(epoch, lr) -> new_lr`` is also accepted: it sets the learning
    rate of every param group at the start of each epoch.

    Parameters
    ----------
    schedule : LRScheduler or callable
        A scheduler built on the optimizer passed to fit, or a function.
    monitor : str
        The value a ``ReduceLROnPlateau`` scheduler watches.
    verbose : int
        1 prints the learning rate a function sets.

    Raises
    ------
    TypeError
        If ``schedule`` is neither a scheduler nor callable.
    ValueError
        (at fit) If the scheduler drives another optimizer than fit's.

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([weight], lr=0.1)
    >>> step_lr = dg.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    >>> callback = LearningRateScheduler(step_lr)
    """

    def __init__(
        self,
        schedule: LRScheduler | Callable[[int, float], float],
        monitor: str = "val_loss",
        verbose: int = 0,
    ) -> None:
        if not isinstance(schedule, LRScheduler) and not callable(schedule):
            raise TypeError(
                "LearningRateScheduler expects a deepgrad.optim.lr_scheduler "
                "scheduler or a function (epoch, lr) -> lr, received: "
                f"{type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self._plateau = (
            _PlateauMonitor(monitor)
            if isinstance(schedule, _PlateauScheduler)
            else None
        )

    def set_run(self, run: FitRun) -> None:
        super().set_run(run)
        if self._plateau is not None:
            self._plateau.set_run(run)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if isinstance(self.schedule, LRScheduler):
            if self.schedule.optimizer is not self.optimizer:
                raise ValueError(
                    "LearningRateScheduler: the scheduler was built on another "
                    "optimizer than the one passed to fit; build it on fit's optimizer"
                )
        if self._plateau is not None:
            self._plateau._resolve_monitor()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if isinstance(self.schedule, LRScheduler):
            return
        lr = float(self.schedule(epoch, float(self.optimizer.param_groups[0]["lr"])))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.verbose > 0:
            self._active_run().echo(
                f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{lr}."
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if isinstance(self.schedule, _PlateauScheduler) and self._plateau is not None:
            self.schedule.step((logs or {})[self._plateau._key])
        elif isinstance(self.schedule, LRScheduler):
            self.schedule.step()
