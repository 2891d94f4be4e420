"""When a run has diverged: one definition for fit, its back-to-back epochs,
``deepgrad train`` and ``deepgrad sweep``.

A run has diverged when

- a batch's loss is not finite (NaN or infinite): at once;
- the weights are not finite, or their norm has grown to more than
  ``WEIGHT_FACTOR`` times its value before training (or 1, if that is larger):
  at once;
- the epoch loss has stayed above ``LOSS_FACTOR`` times the loss before
  training for ``PATIENCE`` epochs in a row: a run that blew up or got stuck
  and never came back, such as a regression sitting at loss 1e13, Adam at a
  learning rate of 1e9 (loss 54 on moons where it started at 0.7), or the lab's
  XOR network at lr 20, whose saturated sigmoids hold the loss at 2.47 from
  0.70. A spike of an epoch or two (lr 5 and 10 on XOR) is not divergence. The
  loss before training is measured on the first rows at the starting weights;
  the first epoch's would hide a run that blew up within its first epoch.

The last two are read from the History alone (its losses and weight norms, and
the loss and weight norm it started from), so a resumed run judges exactly as
the uninterrupted one would have. fit then puts back the weights after the last
epoch that broke no rule (a resumed run goes back no further than the weights
it resumed from; after a non-finite loss, those at the start of the last epoch
whose loss was finite), prints (or, at verbose=0, warns) one message from
:func:`message`, and sets ``history.diverged``; the command line exits with 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from deepgrad.train.history import History

LOSS_FACTOR = 2.0
PATIENCE = 5
WEIGHT_FACTOR = 1e4


class DivergenceWarning(RuntimeWarning):
    """What fit warns at verbose=0 when training diverged (stopped, weights restored)."""


def squared_norm(parameter_norms: Iterable[Any]) -> Any:
    """The squared L2 norm of all weights from each parameter's norm, summed in
    the parameters' order: the same float64 operations on Python floats (one
    epoch) as on NumPy arrays (the rows of a block of epochs), so both judge alike."""
    total = 0.0
    for norm in parameter_norms:
        total = total + norm * norm
    return total


class Guard:
    """The rules, applied epoch after epoch (``check``), from a History's start."""

    def __init__(self, history: History) -> None:
        losses = history.history.get("loss", [])
        start_loss = history.initial_loss
        if start_loss is None and losses:  # a History from before it was recorded
            start_loss = losses[0]
        self.start_loss = start_loss
        self.loss_limit = (
            LOSS_FACTOR * start_loss
            if start_loss is not None and start_loss > 0
            else math.inf
        )
        start_norm = history.initial_weight_norm
        if start_norm is None:
            start_norm = math.sqrt(
                squared_norm(values[0] for values in history.weight_norms.values())
            )
        self.norm_limit = WEIGHT_FACTOR * max(start_norm, 1.0)
        self.streak = 0  # epochs in a row, up to the last one, above loss_limit
        for loss in reversed(losses):
            if not loss > self.loss_limit:
                break
            self.streak += 1
        self.healthy = True  # the last epoch checked broke no rule (the start: yes)

    def check(self, epoch: int, loss: float, weights_squared: float) -> str | None:
        """Judge the epoch at index ``epoch`` from its loss and squared weight norm:
        why the run has diverged, or None. Sets ``healthy``."""
        high = loss > self.loss_limit
        self.streak = self.streak + 1 if high else 0
        norm = math.sqrt(weights_squared)
        weights_ok = norm <= self.norm_limit  # False for NaN
        self.healthy = weights_ok and not high
        if not math.isfinite(norm):
            return f"Epoch {epoch + 1}: the weights are not finite (norm {norm})"
        if not weights_ok:
            return (
                f"Epoch {epoch + 1}: the weights' norm ({norm:.4g}) grew past "
                f"{self.norm_limit:.4g}, {WEIGHT_FACTOR:g} times its value before "
                "training"
            )
        if self.streak >= PATIENCE:
            return (
                f"Epoch {epoch + 1}: the loss ({loss:.4g}) has stayed above "
                f"{LOSS_FACTOR:g} times its value before training "
                f"({self.start_loss:.4g}) for {PATIENCE} epochs"
            )
        return None


def message(reason: str, lr: float) -> str:
    """The whole divergence message: why, what fit did, and what to try."""
    if not math.isfinite(lr) or lr <= 0:
        advice = f"The learning rate ({lr:g}) must be a positive finite number."
    else:
        advice = (
            f"The learning rate ({lr:g}) is probably too high; try a lower one "
            f"such as {float(f'{lr / 10:.3g}'):g}."
        )
    return f"{reason} — training stopped and the last good weights restored. {advice}"
