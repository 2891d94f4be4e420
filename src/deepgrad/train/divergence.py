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

from deepgrad.train.history import History

LOSS_FACTOR = 2.0
PATIENCE = 5
WEIGHT_FACTOR = 1e4


class DivergenceWarning(RuntimeWarning):
    """What fit warns at verbose=0 when training diverged (stopped, weights restored)."""


def _weight_norm(history: History, index: int) -> float:
    """The L2 norm of all trainable weights after the epoch at ``index``."""
    return math.sqrt(
        math.fsum(values[index] ** 2 for values in history.weight_norms.values())
    )


def _weight_limit(history: History) -> float:
    start = history.initial_weight_norm
    if start is None:  # a History from before it was recorded
        start = _weight_norm(history, 0)
    return WEIGHT_FACTOR * max(start, 1.0)


def _start_loss(history: History) -> float:
    if history.initial_loss is None:  # a History from before it was recorded
        return history.history["loss"][0]
    return history.initial_loss


def _loss_too_high(history: History, index: int) -> bool:
    start = _start_loss(history)
    return start > 0 and history.history["loss"][index] > LOSS_FACTOR * start


def healthy(history: History, index: int = -1) -> bool:
    """Whether the epoch at ``index`` ended with a loss and weights in bounds:
    the weights after it are ones the guard may go back to."""
    index = index % len(history.epoch)
    norm = _weight_norm(history, index)
    return (
        not _loss_too_high(history, index)
        and math.isfinite(norm)
        and norm <= _weight_limit(history)
    )


def diverged(history: History, index: int = -1) -> str | None:
    """Why the run has diverged by the end of the epoch at ``index`` (the first
    part of :func:`message`), or None while it has not."""
    index = index % len(history.epoch)
    epoch = history.epoch[index] + 1
    norm, limit = _weight_norm(history, index), _weight_limit(history)
    if not math.isfinite(norm):
        return f"Epoch {epoch}: the weights are not finite (norm {norm})"
    if norm > limit:
        return (
            f"Epoch {epoch}: the weights' norm ({norm:.4g}) grew past "
            f"{limit:.4g}, {WEIGHT_FACTOR:g} times its value before training"
        )
    if index + 1 >= PATIENCE and all(
        _loss_too_high(history, past) for past in range(index + 1 - PATIENCE, index + 1)
    ):
        return (
            f"Epoch {epoch}: the loss ({history.history['loss'][index]:.4g}) has "
            f"stayed above {LOSS_FACTOR:g} times its value before training "
            f"({_start_loss(history):.4g}) for {PATIENCE} epochs"
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
