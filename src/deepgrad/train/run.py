"""The state of one fit call, shared with its callbacks, and the snapshots of
weights the divergence guard goes back to."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from deepgrad.nn.module import Module
from deepgrad.optim.optimizer import Optimizer
from deepgrad.tensor import default_generator
from deepgrad.train.console import echo
from deepgrad.train.history import History


class Snapshot:
    """The weights and optimizer state at the end of the last good epoch.

    Kept in arrays allocated once and refreshed in place every epoch, so the
    divergence guard costs a few copies per epoch, not a deep copy: it must stay
    cheap for the lab's 5000 one-batch epochs.
    """

    def __init__(self, model: Module, optimizer: Optimizer) -> None:
        self.tensors = list(model.state_dict(keep_vars=True).values())
        self.saved = [tensor.array.copy() for tensor in self.tensors]
        self.optimizer = optimizer
        self.optimizer_state: dict[int, dict[str, Any]] = {}
        self.take()

    def take(self) -> None:
        for tensor, saved in zip(self.tensors, self.saved, strict=True):
            np.copyto(saved, tensor.array)
        mirrors = {}
        for param, state in self.optimizer.state.items():
            mirror = self.optimizer_state.get(id(param), {})
            for key, value in state.items():
                if isinstance(value, np.ndarray):
                    kept = mirror.get(key)
                    if isinstance(kept, np.ndarray) and kept.shape == value.shape:
                        np.copyto(kept, value)
                    else:
                        mirror[key] = value.copy()
                else:
                    mirror[key] = copy.deepcopy(value)
            mirrors[id(param)] = mirror
        self.optimizer_state = mirrors

    def copy_from(self, other: Snapshot) -> None:
        """Hold what ``other`` holds (a snapshot of the same model and optimizer)."""
        for saved, source in zip(self.saved, other.saved, strict=True):
            np.copyto(saved, source)
        self.optimizer_state = copy.deepcopy(other.optimizer_state)

    def restore(self) -> None:
        for tensor, saved in zip(self.tensors, self.saved, strict=True):
            np.copyto(tensor.array, saved)
        for param in list(self.optimizer.state):
            mirror = self.optimizer_state.get(id(param))
            if mirror is None:  # state created after the snapshot: start it afresh
                del self.optimizer.state[param]
                continue
            state = self.optimizer.state[param]
            for key, value in mirror.items():
                if isinstance(value, np.ndarray) and isinstance(
                    state.get(key), np.ndarray
                ):
                    np.copyto(state[key], value)
                else:
                    state[key] = copy.deepcopy(value)


class FitRun:
    """One fit call's live state: what callbacks read, and how they stop it."""

    def __init__(
        self,
        model: Module,
        optimizer: Optimizer,
        loader: Any,
        history: History,
        save_target: Any,
        log_keys: list[str],
        initial_epoch: int,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loader = loader
        self.history = history
        self.save_target = save_target  # what ModelCheckpoint saves
        self.log_keys = log_keys  # the keys every epoch's logs will have
        self.console: Any = None
        self.verbose = 1  # fit's: callbacks that stop the run warn at 0
        self.stop_requested = False
        self.stopped_reason: str | None = None
        self.mark_epoch_boundary(initial_epoch)

    def echo(self, message: str) -> None:
        echo(message, self.console)

    def stop(self, reason: str) -> None:
        self.stop_requested = True
        self.stopped_reason = reason

    def mark_epoch_boundary(
        self, completed_epochs: int, saved_in: Snapshot | None = None
    ) -> None:
        """Remember the generators' states: resuming starts from here.

        ``saved_in`` holds the weights and optimizer state of this boundary when
        the model has already moved on from them (None: the model holds them).
        """
        # Generator.bit_generator.state builds a new dict on every read, so no
        # deep copy is needed here (this runs every epoch; training_state copies).
        # One assignment, so that a Ctrl-C never finds the epoch and the place of
        # its weights out of step
        loader_generator = getattr(self.loader, "_generator", None)
        self._boundary: tuple[int, Any, dict[str, Any], Snapshot | None] = (
            completed_epochs,
            self.loader.get_state()
            if loader_generator is None
            else loader_generator.bit_generator.state,
            default_generator().bit_generator.state,
            saved_in,
        )

    def leave_epoch_boundary(self, saved_in: Snapshot) -> None:
        """The model is about to change: the boundary's weights are in ``saved_in``."""
        self._boundary = (*self._boundary[:3], saved_in)

    def return_to_epoch_boundary(self) -> None:
        """After a Ctrl-C: put back the weights, optimizer state and history of
        the last completed epoch, so that what is saved resumes exactly."""
        completed, *_, saved_in = self._boundary
        if saved_in is not None:
            saved_in.restore()
            self._boundary = (*self._boundary[:3], None)
        self.history._truncate(
            sum(1 for epoch in self.history.epoch if epoch < completed)
        )

    def training_state(self) -> dict[str, Any]:
        """The JSON-able state to resume from the last epoch boundary."""
        epoch, loader_state, rng_state, _ = self._boundary
        return {
            "epoch": epoch,
            "loader": copy.deepcopy(loader_state),
            "rng": copy.deepcopy(rng_state),
            "history": self.history.to_dict(),
        }
