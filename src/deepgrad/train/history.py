"""History: what ``fit`` returns, the per-epoch record of a training run."""

from __future__ import annotations

from typing import Any


class History:
    """What ``fit`` returns: the per-epoch record of a training run, as Keras'.

    Attributes
    ----------
    history : dict of str to list of float
        ``loss``, ``accuracy`` (classification losses), ``val_loss`` and
        ``val_accuracy`` (with validation data), ``mae`` and ``r2`` (and their
        ``val_`` twins) for a Classifier's regression, ``lr`` (of param group 0,
        during the epoch) and ``time`` (seconds), one entry per epoch.
    grad_norms : dict of str to list of float
        The L2 norm of each parameter's gradient (by its ``state_dict`` name),
        from the last batch of each epoch.
    weight_norms : dict of str to list of float
        ``||W||_2`` of each trainable parameter at the end of each epoch.
    update_ratios : dict of str to list of float
        ``||W_after - W_before|| / ||W_before||`` of each trainable parameter
        over each epoch: how far the epoch's updates moved it, relative to its
        size (``lr * ||dW|| / ||W||`` for one SGD step; around 1e-3 is the
        usual healthy value). NaN where ``W_before`` was all zeros.
    loss_name : str or None
        The loss's full name (``"Binary Cross Entropy Loss"``), for plot labels.
    epoch : list of int
        The 0-based indices of the epochs recorded.
    stopped_reason : str or None
        Why training ended before the last epoch (early stopping, a NaN loss,
        an interrupt), or None.
    interrupted : bool
        Whether a KeyboardInterrupt (Ctrl-C) ended training.
    diverged : bool
        Whether a NaN or infinite loss ended training (the weights were put back
        to the last ones that gave a finite loss).
    initial_loss, initial_weight_norm : float or None
        The loss (on up to 1024 training samples, in eval mode) and the L2 norm
        of all trainable weights before the first epoch: what the divergence
        guard compares with.
    training_state : dict or None
        JSON-able state at the end of the last completed epoch (its index, the
        DataLoader's and deepgrad's generator states, this history): pass it
        to ``fit(..., training_state=...)``, with the model and optimizer
        restored, to resume exactly where the run stopped.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.grad_norms: dict[str, list[float]] = {}
        self.weight_norms: dict[str, list[float]] = {}
        self.update_ratios: dict[str, list[float]] = {}
        self.loss_name: str | None = None
        self.epoch: list[int] = []
        self.stopped_reason: str | None = None
        self.interrupted = False
        self.diverged = False
        self.initial_loss: float | None = None
        self.initial_weight_norm: float | None = None
        self.training_state: dict[str, Any] | None = None

    def _extend(
        self,
        epochs: range,
        logs: dict[str, list[float]],
        grad_norms: dict[str, list[float]],
        weight_norms: dict[str, list[float]],
        update_ratios: dict[str, list[float]],
    ) -> None:
        """Append consecutive epochs: each list holds one value per epoch."""
        self.epoch.extend(epochs)
        for record, values in (
            (self.history, logs),
            (self.grad_norms, grad_norms),
            (self.weight_norms, weight_norms),
            (self.update_ratios, update_ratios),
        ):
            for name, column in values.items():
                record.setdefault(name, []).extend(column)

    def _truncate(self, count: int) -> None:
        """Keep the first ``count`` epochs: those the weights were put back to."""
        del self.epoch[count:]
        for record in (
            self.history,
            self.grad_norms,
            self.weight_norms,
            self.update_ratios,
        ):
            for values in record.values():
                del values[count:]

    def to_dict(self) -> dict[str, Any]:
        """The record as plain lists (JSON-able)."""
        return {
            "epoch": list(self.epoch),
            "history": {key: list(values) for key, values in self.history.items()},
            "grad_norms": {
                name: list(values) for name, values in self.grad_norms.items()
            },
            "weight_norms": {
                name: list(values) for name, values in self.weight_norms.items()
            },
            "update_ratios": {
                name: list(values) for name, values in self.update_ratios.items()
            },
            "loss_name": self.loss_name,
            "initial_loss": self.initial_loss,
            "initial_weight_norm": self.initial_weight_norm,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> History:
        """The History that ``to_dict()`` described."""
        history = cls()
        history.epoch = list(record["epoch"])
        history.history = {key: list(v) for key, v in record["history"].items()}
        history.grad_norms = {key: list(v) for key, v in record["grad_norms"].items()}
        # absent from records written before weights were recorded
        for key in ("weight_norms", "update_ratios"):
            setattr(history, key, {k: list(v) for k, v in record.get(key, {}).items()})
        history.loss_name = record.get("loss_name")
        history.initial_loss = record.get("initial_loss")
        history.initial_weight_norm = record.get("initial_weight_norm")
        return history

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
