"""Learning-rate schedules that rewrite ``group["lr"]`` in an optimizer's param groups.

Call ``scheduler.step()`` once per epoch (or iteration), after ``optimizer.step()``.
The schedules follow ``torch.optim.lr_scheduler`` formula for formula, including
its recursive ("chainable") forms, so the learning rates equal PyTorch's.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable
from typing import Any, SupportsFloat

from deepgrad.optim.optimizer import Optimizer


def _current_lrs(optimizer: Optimizer) -> list[float]:
    return [group["lr"] for group in optimizer.param_groups]


class LRScheduler:
    """Base class of the schedulers (PyTorch's ``lr_scheduler.LRScheduler``).

    On construction it records each group's starting ``lr`` as ``initial_lr``
    (kept in ``base_lrs``) and takes a first step to epoch 0, which sets the
    epoch-0 learning rate. Subclasses implement ``get_lr()``: the learning rates
    for the epoch ``last_epoch`` has just moved to.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates to set.
    last_epoch : int
        The index of the last epoch; -1 (the default) starts afresh. Another
        value resumes a schedule and needs ``initial_lr`` in every group.

    Raises
    ------
    TypeError
        If ``optimizer`` is not an Optimizer.
    KeyError
        If resuming (``last_epoch != -1``) and a group has no ``initial_lr``.
    """

    _is_initial = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{index}] "
                        "when resuming scheduler with last_epoch >= 0: load the "
                        "optimizer's state_dict first, or start with last_epoch=-1"
                    )
        self.base_lrs: list[float] = [
            group["initial_lr"] for group in optimizer.param_groups
        ]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``last_epoch``, one per param group."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per param group."""
        return self._last_lr

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer."""
        if self._step_count == 1 and not self.optimizer._opt_called:
            warnings.warn(
                "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
                "Call them in the opposite order: `optimizer.step()` before "
                "`lr_scheduler.step()`, or the first value of the learning rate "
                "schedule is skipped.",
                UserWarning,
                stacklevel=2,
            )
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = _current_lrs(self.optimizer)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (which has its own state_dict)."""
        return {
            key: value for key, value in self.__dict__.items() if key != "optimizer"
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by ``state_dict()``."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr_epoch = lr_{epoch-1} * gamma`` if epoch is a non-zero multiple of
    step_size, else ``lr_{epoch-1}``; from a constant start that is
    ``base_lr * gamma ** (epoch // step_size)``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates to set.
    step_size : int
        Period of the decay, in epochs (>= 1).
    gamma : float
        Multiplicative factor of the decay (default 0.1).
    last_epoch : int
        The index of the last epoch (default -1: start afresh).

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([weight], lr=0.1)
    >>> scheduler = dg.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    >>> for epoch in range(4):
    ...     optimizer.step()
    ...     scheduler.step()
    >>> scheduler.get_last_lr()
    [0.025]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        step_size: int,
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        if step_size < 1:
            raise ValueError(f"Expected step_size >= 1, received: {step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _current_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch.

    ``lr_epoch = lr_{epoch-1} * gamma ** (times epoch appears in milestones)``;
    from a constant start that is ``base_lr * gamma ** (milestones <= epoch)``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates to set.
    milestones : iterable of int
        Epochs at which to decay (increasing).
    gamma : float
        Multiplicative factor of the decay (default 0.1).
    last_epoch : int
        The index of the last epoch (default -1: start afresh).

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([weight], lr=1.0)
    >>> scheduler = dg.optim.lr_scheduler.MultiStepLR(optimizer, [1, 3], gamma=0.5)
    >>> for epoch in range(3):
    ...     optimizer.step()
    ...     scheduler.step()
    >>> scheduler.get_last_lr()
    [0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return _current_lrs(self.optimizer)
        return [
            group["lr"] * self.gamma ** self.milestones[self.last_epoch]
            for group in self.optimizer.param_groups
        ]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``base_lr * gamma**epoch``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates to set.
    gamma : float
        Multiplicative factor of the decay.
    last_epoch : int
        The index of the last epoch (default -1: start afresh).

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([weight], lr=1.0)
    >>> scheduler = dg.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    >>> optimizer.step()
    >>> scheduler.step()
    >>> scheduler.get_last_lr()
    [0.5]
    """

    def __init__(
        self, optimizer: Optimizer, gamma: float, last_epoch: int = -1
    ) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        # the constructor's step must not decay a resumed schedule a second time
        if self._is_initial:
            return _current_lrs(self.optimizer)
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate from ``base_lr`` to ``eta_min`` along a cosine.

    The closed form (SGDR without restarts, Loshchilov & Hutter, 2017) is::

        lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    and, as PyTorch does, it is computed recursively from the current lr, so that
    changes made to ``group["lr"]`` by others carry through::

        lr_t = eta_min + (lr_{t-1} - eta_min)
               * (1 + cos(pi * t / T_max)) / (1 + cos(pi * (t - 1) / T_max))

    except where the denominator is 0 (t - 1 = T_max, 3 T_max, ...), where
    ``lr_t = lr_{t-1} + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2``. Past
    ``T_max`` the learning rate climbs back up the cosine: a period of 2 T_max.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates to set.
    T_max : int
        Number of epochs from ``base_lr`` down to ``eta_min`` (>= 1).
    eta_min : float
        The minimum learning rate (default 0).
    last_epoch : int
        The index of the last epoch (default -1: start afresh).

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([weight], lr=1.0)
    >>> scheduler = dg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=2)
    >>> optimizer.step()
    >>> scheduler.step()
    >>> round(scheduler.get_last_lr()[0], 12)
    0.5
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if T_max < 1:
            raise ValueError(f"Expected T_max >= 1, received: {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return _current_lrs(self.optimizer)
        if (self.last_epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return [
                group["lr"]
                + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
                for base_lr, group in zip(
                    self.base_lrs, self.optimizer.param_groups, strict=True
                )
            ]
        return [
            (1 + math.cos(math.pi * self.last_epoch / self.T_max))
            / (1 + math.cos(math.pi * (self.last_epoch - 1) / self.T_max))
            * (group["lr"] - self.eta_min)
            + self.eta_min
            for group in self.optimizer.param_groups
        ]


class LinearLR(LRScheduler):
    """Scale the learning rate by a factor moving linearly from start to end.

    The closed form is ``base_lr * (start_factor + (end_factor - start_factor) *
    min(epoch, total_iters) / total_iters)``; like PyTorch it is computed
    recursively::

        lr_0 = base_lr * start_factor
        lr_t = lr_{t-1} * (1 + (end_factor - start_factor)
               / (total_iters * start_factor + (t - 1) * (end_factor - start_factor)))

    for 0 < t <= total_iters, and ``lr_t = lr_{t-1}`` after that.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates to set.
    start_factor : float
        Factor at epoch 0, in (0, 1] (default 1/3).
    end_factor : float
        Factor from epoch ``total_iters`` on, in [0, 1] (default 1.0).
    total_iters : int
        Number of epochs to go from one factor to the other (default 5).
    last_epoch : int
        The index of the last epoch (default -1: start afresh).

    Raises
    ------
    ValueError
        If a factor is outside its range.

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([weight], lr=1.0)
    >>> scheduler = dg.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.5,
    ...                                            total_iters=2)
    >>> scheduler.get_last_lr()
    [0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less "
                f"or equal to 1, received: start_factor={start_factor}"
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                "Ending multiplicative factor expected to be between 0 and 1, "
                f"received: end_factor={end_factor}"
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [
                group["lr"] * self.start_factor for group in self.optimizer.param_groups
            ]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _current_lrs(self.optimizer)
        return [
            group["lr"]
            * (
                1.0
                + (self.end_factor - self.start_factor)
                / (
                    self.total_iters * self.start_factor
                    + (self.last_epoch - 1) * (self.end_factor - self.start_factor)
                )
            )
            for group in self.optimizer.param_groups
        ]


# is_better(current, best, threshold) for each (mode, threshold_mode)
_IS_BETTER = {
    ("min", "rel"): lambda current, best, threshold: current < best * (1.0 - threshold),
    ("min", "abs"): lambda current, best, threshold: current < best - threshold,
    ("max", "rel"): lambda current, best, threshold: current > best * (threshold + 1.0),
    ("max", "abs"): lambda current, best, threshold: current > best + threshold,
}


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a metric stops improving.

    Each ``step(metric)`` compares the metric with the best seen so far. A
    metric is better when, for ``mode="min"``, it is below ``best * (1 -
    threshold)`` (``threshold_mode="rel"``) or ``best - threshold`` ("abs"); for
    ``mode="max"``, above ``best * (1 + threshold)`` or ``best + threshold``.
    After more than ``patience`` epochs in a row without improvement::

        new_lr = max(lr * factor, min_lr)   (kept only if lr - new_lr > eps)

    and then ``cooldown`` epochs pass in which bad epochs are not counted.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates to set.
    mode : {"min", "max"}
        Whether the metric should go down (a loss) or up (an accuracy).
    factor : float
        Multiplier of the learning rate, < 1 (default 0.1).
    patience : int
        Epochs without improvement tolerated before reducing (default 10).
    threshold : float
        How much better counts as better (default 1e-4).
    threshold_mode : {"rel", "abs"}
        Whether ``threshold`` is relative to the best value or absolute.
    cooldown : int
        Epochs to wait after a reduction before counting bad epochs (default 0).
    min_lr : float or list of float
        Lower bound on the learning rate, for all groups or per group (default 0).
    eps : float
        Reductions smaller than this are skipped (default 1e-8).

    Raises
    ------
    ValueError
        For ``factor >= 1``, an unknown mode or threshold_mode, or a ``min_lr``
        list whose length differs from the number of param groups.

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([weight], lr=1.0)
    >>> scheduler = dg.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=1)
    >>> for val_loss in [1.0, 1.0, 1.0]:
    ...     scheduler.step(val_loss)
    >>> scheduler.get_last_lr()
    [0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-8,
    ) -> None:
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0, received: {factor}")
        self.factor = factor
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer

        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(
                    f"expected {len(optimizer.param_groups)} min_lrs (one per param "
                    f"group), got {len(min_lr)}"
                )
            self.default_min_lr: float | None = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)

        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = _current_lrs(optimizer)
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in {"min", "max"}:
            raise ValueError(f"mode {mode} is unknown! Expected 'min' or 'max'")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError(
                f"threshold mode {threshold_mode} is unknown! Expected 'rel' or 'abs'"
            )
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, current: float, best: float) -> bool:
        is_better = _IS_BETTER[self.mode, self.threshold_mode]
        return is_better(current, best, self.threshold)

    def step(self, metrics: SupportsFloat) -> None:  # type: ignore[override]
        """Record this epoch's metric and reduce the learning rate if it plateaued."""
        current = float(metrics)
        self.last_epoch += 1

        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1

        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count

        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

        self._last_lr = _current_lrs(self.optimizer)

    def _reduce_lr(self) -> None:
        if len(self.optimizer.param_groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    "The number of param groups in the `optimizer` "
                    f"({len(self.optimizer.param_groups)}) differs from when "
                    f"`ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. "
                    "Please modify the `min_lrs` field to match the length of the "
                    "`optimizer` param groups."
                )
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)

        for group, min_lr in zip(
            self.optimizer.param_groups, self.min_lrs, strict=True
        ):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)
