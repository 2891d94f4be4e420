"""The fit loop, its History and callbacks, the Classifier, and ``summary``.

``fit`` is the loop the lab writes by hand (forward, loss, backward, step, zero
the gradients), run over the batches of a DataLoader for a number of epochs,
with Keras' log lines and callbacks::

    history = fit(model, nn.BCELoss(), dg.optim.SGD(model.parameters(), lr=0.1),
                  (X, y), epochs=5000, batch_size="full", log_every=500)
    # Epoch 500/5000 - loss: 0.0107 - accuracy: 1.0000 - 1ms

Keras' conventions hold where PyTorch has no such thing: ``epochs`` is the index
of the last epoch (so ``initial_epoch=k`` resumes after epoch k), callbacks see
0-based epoch indices and a ``logs`` dict, and log lines count from 1.
"""

from __future__ import annotations

import copy
import csv
import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from deepgrad import nn
from deepgrad.fast import compile_step
from deepgrad.nn.module import Module
from deepgrad.ops import exp, sigmoid, softmax
from deepgrad.optim.lr_scheduler import LRScheduler
from deepgrad.optim.lr_scheduler import ReduceLROnPlateau as _PlateauScheduler
from deepgrad.optim.optimizer import Optimizer
from deepgrad.tensor import Tensor, default_generator, no_grad

# Epochs with at least this many batches get a live progress bar at verbose=1.
_PROGRESS_MIN_BATCHES = 20
# Validation and prediction run in chunks of this many samples.
_EVAL_BATCH_SIZE = 1024


# ---------------------------------------------------------------------------
# What each loss means: its targets, its accuracy, its probabilities
# ---------------------------------------------------------------------------
class _LossKind(NamedTuple):
    name: str  # the loss class's name, as Classifier.loss_name and model files give it
    index_targets: bool  # class indices (N,) rather than one value per output
    threshold: float | None  # an output above it predicts class 1 (binary losses)
    probability: Callable[[Tensor], Tensor] | None  # output -> class probabilities


def _softmax_last(logits: Tensor) -> Tensor:
    return softmax(logits, dim=-1)


# BCELoss reads probabilities (class 1 when p > 0.5), BCEWithLogitsLoss logits
# (z > 0, the same decision since sigmoid(0) = 0.5); CrossEntropyLoss and
# NLLLoss predict the argmax.
_LOSS_KINDS: dict[type[Module], _LossKind] = {
    nn.BCELoss: _LossKind("BCELoss", False, 0.5, lambda output: output),
    nn.BCEWithLogitsLoss: _LossKind("BCEWithLogitsLoss", False, 0.0, sigmoid),
    nn.CrossEntropyLoss: _LossKind("CrossEntropyLoss", True, None, _softmax_last),
    nn.NLLLoss: _LossKind("NLLLoss", True, None, exp),
    nn.MSELoss: _LossKind("MSELoss", False, None, None),
    nn.L1Loss: _LossKind("L1Loss", False, None, None),
}
LOSSES: dict[str, type[Module]] = {
    kind.name: loss_class for loss_class, kind in _LOSS_KINDS.items()
}


def _loss_kind(loss_fn: Any) -> _LossKind | None:
    """The kind of a known loss (subclasses included); None for a custom loss."""
    for loss_class, kind in _LOSS_KINDS.items():
        if isinstance(loss_fn, loss_class):
            return kind
    return None


def _has_accuracy(kind: _LossKind | None) -> bool:
    return kind is not None and (kind.index_targets or kind.threshold is not None)


def _match_target(kind: _LossKind | None, output: Tensor, target: Tensor) -> Tensor:
    """The target as the loss expects it, from what a Dataset or a user holds.

    Class indices stay int64 of shape (N,); a loss with one value per output
    (BCE, MSE, L1) gets the output's dtype and shape, so int64 labels (N,) meet
    a (N, 1) sigmoid output. Targets of custom losses pass unchanged.
    """
    if kind is None:
        return target
    values = _target_array(kind, target.data, output.shape, output.dtype)
    return target if values is target.data else Tensor(values)


def _target_array(
    kind: _LossKind, values: np.ndarray, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """_match_target on arrays, for an output of ``shape`` and ``dtype``."""
    if kind.index_targets:
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim == 1 and values.dtype.kind == "f":
            values = values.astype(np.int64)
    else:
        values = values.astype(dtype, copy=False)
        if values.shape != shape and values.size == int(np.prod(shape)):
            values = values.reshape(shape)
    return values


def _count_correct(
    kind: _LossKind, outputs: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, int]:
    """(correct predictions in each row of ``outputs``, predictions per row).

    ``outputs`` holds one or more outputs for the same targets along a first
    axis: the epochs of a block run back to back, or ``output[None]``.
    """
    if kind.threshold is not None:
        predicted = outputs > kind.threshold
        correct = predicted == (target > 0.5)
        return np.count_nonzero(correct.reshape(len(outputs), -1), axis=1), target.size
    labels = target.argmax(axis=1) if target.ndim == 2 else target  # probabilities
    return np.count_nonzero(outputs.argmax(axis=-1) == labels, axis=1), len(labels)


def _scalar_loss(loss: Any) -> float:
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        shape = loss.shape if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(
            f"fit: the loss function must return a scalar Tensor, received: {shape}; "
            "use reduction='mean' (or 'sum')"
        )
    return float(loss.data)


# ---------------------------------------------------------------------------
# Output: log lines, the progress bar
# ---------------------------------------------------------------------------
def _echo(message: str, console: Any = None) -> None:
    """Show one line of training output: every line of fit and its callbacks
    comes here, printed to stdout, or to the rich console of a live progress bar
    so the line stays above the bar."""
    if console is None:
        print(message, flush=True)
    else:
        console.print(message, markup=False, highlight=False, soft_wrap=True)


def format_duration(seconds: float) -> str:
    """Keras' epoch time: ``12ms`` under a second, else ``1.3s``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    return f"{seconds:.1f}s"


_LOGGED_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def format_epoch_line(epoch: int, epochs: int, logs: dict[str, float]) -> str:
    """One epoch's log line, as Keras prints it.

    Parameters
    ----------
    epoch : int
        The 0-based epoch index (printed from 1).
    epochs : int
        The last epoch.
    logs : dict
        The epoch's values; ``loss``, ``accuracy``, ``val_loss``,
        ``val_accuracy`` are shown when present, then ``time`` (seconds).

    Example
    -------
    >>> format_epoch_line(2, 4, {"loss": 0.54409, "accuracy": 0.58871, "time": 0.012})
    'Epoch 3/4 - loss: 0.5441 - accuracy: 0.5887 - 12ms'
    """
    parts = [f"Epoch {epoch + 1}/{epochs}"]
    parts += [f"{key}: {logs[key]:.4f}" for key in _LOGGED_KEYS if key in logs]
    parts.append(format_duration(logs["time"]))
    return " - ".join(parts)


def _new_console() -> Any:
    from rich.console import Console

    return Console()


class _ProgressBar:
    """A live rich bar over an epoch's batches, or nothing.

    Shown only at verbose=1 for epochs of many batches, and only where it can
    render (a terminal or Jupyter): in a log file or a captured stream the
    epoch lines alone are printed.
    """

    def __init__(self, verbose: int, n_batches: int) -> None:
        self.console: Any = None
        self._progress: Any = None
        if verbose != 1 or n_batches < _PROGRESS_MIN_BATCHES:
            return
        try:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )
        except ImportError:
            return
        console = _new_console()
        if not (console.is_terminal or console.is_jupyter):
            return
        self.console = console
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task("", total=n_batches)
        self._progress.start()

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        if self._progress is not None:
            self._progress.reset(self._task, description=f"Epoch {epoch + 1}/{epochs}")

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------
class History:
    """What ``fit`` returns: the per-epoch record of a training run, as Keras'.

    Attributes
    ----------
    history : dict of str to list of float
        ``loss``, ``accuracy`` (classification losses), ``val_loss`` and
        ``val_accuracy`` (with validation data), ``lr`` (of param group 0,
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
        return history

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


# ---------------------------------------------------------------------------
# The state of one fit call, shared with the callbacks
# ---------------------------------------------------------------------------
def _weights(model: Module) -> dict[str, np.ndarray]:
    """A copy of every parameter and buffer, to restore with load_state_dict."""
    return {name: value.data.copy() for name, value in model.state_dict().items()}


class _Snapshot:
    """The weights and optimizer state at the end of the last good epoch.

    Kept in arrays allocated once and refreshed in place every epoch, so the
    divergence guard costs a few copies per epoch, not a deep copy: it must stay
    cheap for the lab's 5000 one-batch epochs.
    """

    def __init__(self, model: Module, optimizer: Optimizer) -> None:
        self.tensors = list(model.state_dict(keep_vars=True).values())
        self.saved = [tensor.data.copy() for tensor in self.tensors]
        self.optimizer = optimizer
        self.optimizer_state: dict[int, dict[str, Any]] = {}
        self.take()

    def take(self) -> None:
        for tensor, saved in zip(self.tensors, self.saved, strict=True):
            np.copyto(saved, tensor.data)
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

    def restore(self) -> None:
        for tensor, saved in zip(self.tensors, self.saved, strict=True):
            np.copyto(tensor.data, saved)
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


class _ParameterRecorder:
    """What History records of each trainable parameter, epoch by epoch.

    ``||dL/dW||`` (from the epoch's last batch), ``||W||`` and the
    update-to-weight ratio ``||W_after - W_before|| / ||W_before||``. The values
    arrive as rows, one per epoch, of the parameters laid end to end in the
    model's order (float64): ``record()`` copies one row per epoch, and a block
    of epochs run back to back (``CompiledStep.run_epochs``) hands over all its
    rows to ``record_rows`` at once. Either way the norms of every parameter in
    every row are a handful of whole-array NumPy calls (``np.add.reduceat`` over
    the parameters' segments), so the lab's 5000 one-batch epochs do not feel it.
    """

    def __init__(self, model: Module) -> None:
        self.params = [
            param
            for param in model.parameters()
            if param.requires_grad and param.data.size > 0
        ]
        names = {id(param): name for name, param in model.named_parameters()}
        self.names = [names[id(param)] for param in self.params]
        # parameters with no elements have no norm: reported as 0 like a missing grad
        self.empty = [
            name
            for name, param in model.named_parameters()
            if param.requires_grad and param.data.size == 0
        ]
        sizes = [param.data.size for param in self.params]
        self.size = sum(sizes)
        self.offsets = np.cumsum([0, *sizes[:-1]], dtype=np.intp)
        self.segments = list(zip(self.offsets.tolist(), sizes, strict=True))
        self.row_weights, self.row_grads = np.empty((2, 1, self.size))
        # the weights before the first epoch, and their squared norms
        start = np.empty(self.size)
        self._copy(start, [param.data for param in self.params])
        self.before = self._squared_norms(start[None])[0], start

    def _copy(self, row: np.ndarray, arrays: list[np.ndarray | None]) -> None:
        for (offset, size), array in zip(self.segments, arrays, strict=True):
            if array is None:  # a parameter without a gradient: norm 0
                row[offset : offset + size] = 0
            else:
                row[offset : offset + size] = array.ravel()

    def _squared_norms(
        self, rows: np.ndarray, scratch: np.ndarray | None = None
    ) -> np.ndarray:
        """(rows, parameters): ||segment||^2 of each parameter in each row.

        ``scratch`` (shaped like ``rows``, may be ``rows`` itself) holds the squares.
        """
        if not self.params:
            return np.zeros((len(rows), 0))
        squares = np.square(rows, out=scratch)
        return np.add.reduceat(squares, self.offsets, axis=1)

    def record(self) -> tuple[dict[str, list[float]], ...]:
        """The norms after one epoch (each list holds one value)."""
        self._copy(self.row_weights[0], [param.data for param in self.params])
        self._copy(
            self.row_grads[0],
            [None if param.grad is None else param.grad.data for param in self.params],
        )
        return self.record_rows(self.row_weights, self.row_grads)

    def record_rows(
        self, weights: np.ndarray, grads: np.ndarray
    ) -> tuple[dict[str, list[float]], ...]:
        """(||dL/dW||, ||W||, update ratio) per parameter for consecutive epochs.

        ``weights[k]`` and ``grads[k]`` are the parameters and last gradients
        after epoch k. The ratio is NaN where W_before is all zeros (there is no
        size to compare the update to).
        """
        before_squared, before = self.before
        scratch = np.empty_like(weights)  # the one temporary as large as the rows
        weight_squared = self._squared_norms(weights, scratch)
        np.subtract(weights[0], before, out=scratch[0])  # W_after - W_before
        np.subtract(weights[1:], weights[:-1], out=scratch[1:])
        update_squared = self._squared_norms(scratch, scratch)
        grad_squared = self._squared_norms(grads, scratch)
        previous_squared = np.vstack([before_squared[None], weight_squared[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(
                previous_squared > 0, np.sqrt(update_squared / previous_squared), np.nan
            )
        self.before = weight_squared[-1], weights[-1].copy()
        columns = [np.sqrt(grad_squared), np.sqrt(weight_squared), ratios]
        grad_norms, weight_norms, update_ratios = (
            dict(zip(self.names, values.T.tolist(), strict=True)) for values in columns
        )
        for name in self.empty:
            grad_norms[name] = [0.0] * len(weights)
        return grad_norms, weight_norms, update_ratios


class _FitRun:
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
        self.stop_requested = False
        self.stopped_reason: str | None = None
        self.mark_epoch_boundary(initial_epoch)

    def echo(self, message: str) -> None:
        _echo(message, self.console)

    def stop(self, reason: str) -> None:
        self.stop_requested = True
        self.stopped_reason = reason

    def mark_epoch_boundary(self, completed_epochs: int) -> None:
        """Remember the generators' states: resuming starts from here."""
        # Generator.bit_generator.state builds a new dict on every read, so no
        # deep copy is needed here (this runs every epoch; training_state copies)
        loader_generator = getattr(self.loader, "_generator", None)
        self._boundary: tuple[int, dict[str, Any], dict[str, Any]] = (
            completed_epochs,
            self.loader.get_state()
            if loader_generator is None
            else loader_generator.bit_generator.state,
            default_generator().bit_generator.state,
        )

    def training_state(self) -> dict[str, Any]:
        """The JSON-able state to resume from the last epoch boundary."""
        epoch, loader_state, rng_state = self._boundary
        return {
            "epoch": epoch,
            "loader": copy.deepcopy(loader_state),
            "rng": copy.deepcopy(rng_state),
            "history": self.history.to_dict(),
        }


# ---------------------------------------------------------------------------
# Callbacks
# ---------------------------------------------------------------------------
class Callback:
    """Base class of callbacks: hooks that ``fit`` calls, with Keras' names.

    ``epoch`` is the 0-based epoch index; ``logs`` holds the epoch's ``loss``,
    ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr`` and ``time`` (those
    that apply). During ``fit``, ``self.model``, ``self.optimizer`` and
    ``self.history`` are the run's, and ``self.stop_training(reason)`` ends
    training after the current epoch. Subclasses reset their state in
    ``on_train_begin``, so one callback object can serve several runs.
    """

    _run: _FitRun | None = None

    def set_run(self, run: _FitRun) -> None:
        self._run = run

    def _active_run(self) -> _FitRun:
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


class _MonitorCallback(Callback):
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
        # Keras' "auto": accuracies go up, everything else (losses) goes down
        return self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)

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


class EarlyStopping(_MonitorCallback):
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
        1 prints when it stops and when it restores weights.
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
        if self.stopped_epoch > 0 and self.verbose > 0:
            self._active_run().echo(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                self._active_run().echo(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(_MonitorCallback):
    """Save the model (or Classifier) with ``deepgrad.io.save`` after epochs.

    Each file holds the model, the optimizer's state and the training state,
    so that ``deepgrad.io.load_checkpoint`` can resume the run exactly.

    Parameters
    ----------
    filepath : str or Path
        Where to save; may contain ``{epoch}`` (1-based) and any logged key,
        e.g. ``"ckpt-{epoch:03d}-{val_loss:.3f}.dg"``.
    monitor : str
        The value that decides the best epoch when ``save_best_only``.
    verbose : int
        1 prints a line for each save.
    save_best_only : bool
        Save only when the monitored value improves on the best so far.
    mode : {"auto", "min", "max"}
        Whether the monitored value should go down or up.
    """

    def __init__(
        self,
        filepath: str | Path,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        mode: str = "auto",
    ) -> None:
        super().__init__(monitor, mode)
        self.filepath = filepath
        self.verbose = verbose
        self.save_best_only = save_best_only

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.save_best_only:
            self._resolve_monitor()
        self.best = -math.inf if self._maximize else math.inf
        self.saved: list[Path] = []

    def _path(self, epoch: int, logs: dict[str, Any]) -> Path:
        try:
            return Path(str(self.filepath).format(epoch=epoch + 1, **logs))
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"ModelCheckpoint: cannot fill in filepath {str(self.filepath)!r} "
                f"({error!r}); it may use {{epoch}} and the logged keys {sorted(logs)}"
            ) from None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        path = self._path(epoch, logs)
        if not self.save_best_only:
            if self.verbose > 0:
                self._active_run().echo(f"Epoch {epoch + 1}: saving model to {path}")
            self._save(path)
            return
        value = logs[self._key]
        improved = value > self.best if self._maximize else value < self.best
        if not improved:
            if self.verbose > 0:
                self._active_run().echo(
                    f"Epoch {epoch + 1}: {self._key} did not improve from "
                    f"{self.best:.5f}"
                )
            return
        if self.verbose > 0:
            self._active_run().echo(
                f"Epoch {epoch + 1}: {self._key} improved from {self.best:.5f} to "
                f"{value:.5f}, saving model to {path}"
            )
        self.best = value
        self._save(path)

    def _save(self, path: Path) -> None:
        from deepgrad import io

        run = self._active_run()
        path.parent.mkdir(parents=True, exist_ok=True)
        io.save(
            run.save_target,
            path,
            optimizer=run.optimizer,
            training_state=run.training_state(),
        )
        self.saved.append(path)


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

    def set_run(self, run: _FitRun) -> None:
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


class _PlateauMonitor(_MonitorCallback):
    """The monitored key of a wrapped ReduceLROnPlateau scheduler."""

    def __init__(self, monitor: str) -> None:
        super().__init__(monitor, "auto")


class ReduceLROnPlateau(_MonitorCallback):
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


class CSVLogger(Callback):
    """Write each epoch's logs to a CSV file: a header, then one row per epoch.

    The columns are ``epoch`` (0-based, as Keras writes it) and the logged keys
    in alphabetical order.

    Parameters
    ----------
    filename : str or Path
        The CSV file.
    separator : str
        The column separator.
    append : bool
        Add to an existing file (without repeating its header) instead of
        overwriting it; for resumed runs.
    """

    def __init__(
        self, filename: str | Path, separator: str = ",", append: bool = False
    ) -> None:
        self.filename = Path(filename)
        self.separator = separator
        self.append = append
        self._file: Any = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        has_rows = (
            self.append and self.filename.exists() and self.filename.stat().st_size > 0
        )
        self._write_header = not has_rows
        self.filename.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(  # noqa: SIM115 - kept open for the run, closed at its end
            self.filename, "a" if self.append else "w", newline="", encoding="utf-8"
        )
        self._writer = csv.writer(self._file, delimiter=self.separator)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        keys = sorted(logs)
        if self._write_header:
            self._writer.writerow(["epoch", *keys])
            self._write_header = False
        self._writer.writerow([epoch, *(logs[key] for key in keys)])
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------
def _data_loader_class() -> type:
    from deepgrad.data.loader import DataLoader

    return DataLoader


def _arrays(data: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) arrays from an (X, y) tuple, a Dataset or a DataLoader."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
    elif hasattr(data, "X") and hasattr(data, "y"):
        X, y = data.X, data.y
    else:
        raise TypeError(
            f"fit: {what} must be an (X, y) tuple, a Dataset or a DataLoader, "
            f"received: {type(data).__name__}"
        )
    if y is None:
        raise ValueError(f"fit: {what} has no targets y; training needs (X, y)")
    return (
        X.data if isinstance(X, Tensor) else np.asarray(X),
        y.data if isinstance(y, Tensor) else np.asarray(y),
    )


def _split_off_validation(
    X: np.ndarray, y: np.ndarray, fraction: float, stratify: bool, seed: int | None
) -> tuple[Any, Any]:
    """(train, validation): a seeded split, stratified for class labels."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(
            f"fit: a validation fraction must be between 0 and 1, received: {fraction}"
        )
    from deepgrad.data.preprocessing import train_val_test_split

    split = train_val_test_split(
        X,
        y,
        val=fraction,
        test=0.0,
        stratify=stratify,
        seed=0 if seed is None else seed,
    )
    return split.train, split.val


def _evaluation_loader(X: Any, y: Any) -> Any:
    return _data_loader_class()(
        X, y, batch_size=_EVAL_BATCH_SIZE, shuffle=False, seed=0
    )


def _prepare_data(
    train_data: Any,
    validation: Any,
    batch_size: int | str | None,
    shuffle: bool,
    seed: int | None,
    kind: _LossKind | None,
) -> tuple[Any, Any]:
    """The training DataLoader and the validation one (or None)."""
    DataLoader = _data_loader_class()
    if isinstance(validation, bool):
        raise TypeError(
            "fit: validation must be an (X, y) tuple, a Dataset or a fraction, "
            f"received: {validation!r}"
        )
    if isinstance(train_data, DataLoader):
        if isinstance(validation, float):
            raise ValueError(
                "fit: a validation fraction cannot be split off a DataLoader; pass "
                "validation=(X_val, y_val), or the training data as (X, y)"
            )
        loader = train_data
    else:
        X, y = _arrays(train_data, "train_data")
        if isinstance(validation, float):
            (X, y), validation = _split_off_validation(
                X, y, validation, _has_accuracy(kind), seed
            )
        loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if validation is None:
        return loader, None
    return loader, _evaluation_loader(*_arrays(validation, "validation"))


def _evaluate(
    model: Module, loss_fn: Any, kind: _LossKind | None, loader: Any, accuracy: bool
) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) over a loader, in eval mode without gradients."""
    was_training = model.training
    model.eval()
    loss_sum = 0.0
    correct = counted = seen = 0
    try:
        with no_grad():
            for X_batch, y_batch in loader:
                output = model(X_batch)
                target = _match_target(kind, output, y_batch)
                loss_sum += _scalar_loss(loss_fn(output, target)) * len(X_batch)
                seen += len(X_batch)
                if accuracy and kind is not None:
                    batch_correct, batch_counted = _count_correct(
                        kind, output.data[None], target.data
                    )
                    correct += int(batch_correct[0])
                    counted += batch_counted
    finally:
        model.train(was_training)
    return loss_sum / seen, (correct / counted if accuracy else None)


def _tracks_accuracy(metrics: Any, kind: _LossKind | None) -> bool:
    if metrics == "auto":
        return _has_accuracy(kind)
    if metrics is None or (isinstance(metrics, (list, tuple)) and not metrics):
        return False
    if metrics in ("accuracy", ["accuracy"], ("accuracy",)):
        if not _has_accuracy(kind):
            raise ValueError(
                "fit: accuracy needs a classification loss (BCELoss, "
                "BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss); use metrics=None"
            )
        return True
    raise ValueError(
        f"fit: metrics must be 'auto', 'accuracy' or None, received: {metrics!r}"
    )


def _check_settings(
    epochs: Any, verbose: Any, log_every: Any, initial_epoch: Any
) -> None:
    for name, value, smallest in (
        ("epochs", epochs, 0),
        ("log_every", log_every, 1),
        ("initial_epoch", initial_epoch, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"fit: {name} must be an integer, received: {value!r}")
        if value < smallest:
            raise ValueError(f"fit: {name} must be >= {smallest}, received: {value}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, received: {verbose!r}")


def _with_live_plot(callbacks: Iterable[Callback], live: bool) -> list[Callback]:
    """The callbacks, plus the notebook's live loss plot when ``live``."""
    callbacks = list(callbacks)
    if live:
        from deepgrad.plots import LivePlot  # matplotlib, only when asked for

        callbacks.append(LivePlot())
    return callbacks


def _suggest_lower_lr(lr: float) -> float:
    return float(f"{lr / 10:.3g}")


def fit(
    model: Module,
    loss_fn: Any,
    optimizer: Optimizer,
    train_data: Any,
    epochs: int = 1,
    batch_size: int | str | None = 32,
    validation: Any = None,
    callbacks: Iterable[Callback] = (),
    verbose: int = 1,
    log_every: int = 1,
    shuffle: bool = True,
    seed: int | None = None,
    initial_epoch: int = 0,
    metrics: Any = "auto",
    *,
    training_state: dict[str, Any] | None = None,
    fast: bool = True,
    live: bool = False,
) -> History:
    """Train a model by mini-batch gradient descent, printing Keras-style logs.

    Each batch runs the lab's step: ``optimizer.zero_grad()``, forward, loss,
    ``loss.backward()``, ``optimizer.step()``. An epoch's loss is the mean of
    its batch losses weighted by batch size; validation runs after each epoch
    in ``eval()`` mode under ``dg.no_grad()``. A NaN or infinite loss stops
    training at once and puts back the weights (and optimizer state) of the
    last good epoch. Ctrl-C stops cleanly: the history so far is returned with
    ``interrupted=True``.

    Parameters
    ----------
    model : Module
        The network; left in train mode.
    loss_fn : Module or callable
        ``loss_fn(output, target) -> scalar Tensor``. For deepgrad's losses the
        targets are adapted: int labels (N,) meet a (N, 1) BCE or MSE output.
    optimizer : Optimizer
        Built on ``model.parameters()``.
    train_data : (X, y) tuple, Dataset or DataLoader
        Arrays or Tensors, a ``deepgrad.data.Dataset``, or a ready DataLoader
        (then ``batch_size``, ``shuffle`` and ``seed`` are its own).
    epochs : int
        The index of the last epoch: trains epochs ``initial_epoch..epochs-1``.
    batch_size : int, "full" or None
        Samples per step; 1 is per-sample SGD, "full" (or None) full-batch.
    validation : (X, y) tuple, Dataset or float, optional
        Data to compute ``val_loss`` and ``val_accuracy`` on after each epoch,
        or the fraction of the training data to split off for it (seeded,
        stratified for classification).
    callbacks : iterable of Callback
        EarlyStopping, ModelCheckpoint, LearningRateScheduler, ... in order.
    verbose : {0, 1, 2}
        0 silent; 2 one line per epoch; 1 the same plus a live progress bar
        over the batches of long epochs in a terminal or Jupyter.
    log_every : int
        Print only every N-th epoch, plus the first and the last.
    shuffle : bool
        Reshuffle the samples every epoch.
    seed : int, optional
        Seed of the shuffling (and of the validation split).
    initial_epoch : int
        The epoch to start at, to resume a run.
    metrics : "auto", "accuracy" or None
        "auto" tracks accuracy for classification losses (BCELoss thresholds
        probabilities at 0.5, BCEWithLogitsLoss logits at 0, CrossEntropyLoss
        and NLLLoss take the argmax).
    training_state : dict, optional
        ``history.training_state`` (or a checkpoint's) of an earlier run:
        restores the shuffling and deepgrad's generators and the history, and
        starts at its epoch unless ``initial_epoch`` is given. Restore the
        model's weights and the optimizer's state first.
    fast : bool
        Use the compiled training step of :mod:`deepgrad.fast` when the model is
        a plain MLP it covers (Sequential of Linear + ReLU/Sigmoid/Tanh/LeakyReLU
        with BCELoss, BCEWithLogitsLoss, CrossEntropyLoss or MSELoss): the same
        losses and weights as the eager step, several times faster. When
        nothing runs between epochs (no callbacks or validation, no shuffling,
        plain SGD, no progress bar) the epochs up to the next log line run back
        to back, with the same history; each of them then logs the block's mean
        ``time``. ``False`` always runs the eager step shown above.
    live : bool
        In a Jupyter notebook, redraw the loss curve in place while training
        (:class:`deepgrad.plots.LivePlot`, a few redraws a second at most);
        elsewhere it warns once and does nothing.

    Returns
    -------
    History
        Per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
        ``lr``, ``time``, gradient norms per parameter, and why training stopped.

    Raises
    ------
    TypeError, ValueError
        For data or settings that cannot be used, naming what is wrong.

    Example
    -------
    >>> import numpy as np
    >>> import deepgrad as dg
    >>> from deepgrad import nn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    >>> y = np.array([0, 1, 1, 0])
    >>> _ = dg.manual_seed(42)
    >>> model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1),
    ...                       nn.Sigmoid())
    >>> optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    >>> history = fit(model, nn.BCELoss(), optimizer, (X, y), epochs=3,
    ...               batch_size="full", verbose=0)
    >>> len(history.history["loss"])
    3
    """
    _check_settings(epochs, verbose, log_every, initial_epoch)
    kind = _loss_kind(loss_fn)
    loader, validation_loader = _prepare_data(
        train_data, validation, batch_size, shuffle, seed, kind
    )
    return _fit_loop(
        model,
        loss_fn,
        optimizer,
        loader,
        validation_loader,
        epochs=epochs,
        callbacks=_with_live_plot(callbacks, live),
        verbose=verbose,
        log_every=log_every,
        initial_epoch=initial_epoch,
        accuracy=_tracks_accuracy(metrics, kind),
        training_state=training_state,
        save_target=model,
        fast=fast,
    )


def _restore_training_state(
    training_state: dict[str, Any], loader: Any
) -> tuple[int, History]:
    """Put the generators back; (the epoch to start at, the history so far)."""
    try:
        epoch = int(training_state["epoch"])
        loader.set_state(training_state["loader"])
        default_generator().bit_generator.state = copy.deepcopy(training_state["rng"])
        history = History.from_dict(training_state["history"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            "fit: training_state must be the dict of history.training_state or of "
            f"a checkpoint; it could not be restored ({error!r})"
        ) from None
    return epoch, history


def _stop_diverged(
    run: _FitRun, history: History, epoch: int, bad_loss: float, lr: float, verbose: int
) -> None:
    """Stop the run after a non-finite loss (the weights are already restored)."""
    message = (
        f"Epoch {epoch + 1}: loss is {bad_loss} — training stopped and "
        f"the last good weights restored. The learning rate ({lr:g}) is "
        f"probably too high; try a lower one such as "
        f"{_suggest_lower_lr(lr):g}."
    )
    run.stop(message)
    history.diverged = True
    if verbose == 0:
        warnings.warn(message, RuntimeWarning, stacklevel=4)


# A block shorter than this runs epoch by epoch: setting one up costs about an epoch.
_MIN_BLOCK_EPOCHS = 16
# What one block may hold of recorded weights, gradients, outputs and the scratch
# their norms are computed in.
_BLOCK_BYTES = 32 * 2**20


class _BlockResult(NamedTuple):
    completed: int  # epochs that ran to the end with a finite loss
    bad_loss: float | None  # the loss of the epoch after them, when not finite
    interrupted: bool  # Ctrl-C arrived during the epoch after them
    weights: np.ndarray  # the parameters (float64 rows) after each completed epoch
    last_logs: dict[str, float]  # the logs of the last completed epoch


class _BackToBack:
    """Epochs that ``fit`` runs back to back in ``CompiledStep.run_epochs``.

    The lab's 5000 full-batch epochs spend as long in the per-epoch Python of
    the loop in ``_fit_loop`` (the data loader, snapshots, records, log
    bookkeeping) as in the training step itself. When nothing can happen
    between two epochs (no callbacks, no validation, no progress bar, the same
    batches every epoch, and the compiled step updating by plain SGD over one
    flat buffer) the epochs up to the next log line run back to back, and what
    the loop records of each epoch (loss, accuracy, parameter norms, the
    weights the divergence guard goes back to) is computed for the whole block
    from the rows ``run_epochs`` wrote. The history, weights and log lines are
    those of running the epochs one by one (tests/test_fit_blocks.py checks).
    """

    def __init__(self, step, loader, recorder, kind, accuracy) -> None:
        self.step = step
        self.loader = loader
        self.batches: list[tuple[np.ndarray, np.ndarray]] = []  # on the first run
        self.recorder = recorder
        self.kind = kind
        self.accuracy = accuracy
        samples = loader.n_samples
        if loader.drop_last:  # the samples after the last full batch never train
            samples = len(loader) * loader.batch_size
        self.output_shape = step.output_shape(samples)
        # float64 weights and gradients, and record_rows' scratch, per epoch
        row_bytes = 3 * 8 * recorder.size
        if accuracy:
            row_bytes += int(np.prod(self.output_shape)) * step.dtype.itemsize
        self.max_epochs = max(1, _BLOCK_BYTES // max(row_bytes, 1))

    @classmethod
    def create(
        cls,
        step,
        loader,
        kind,
        recorder,
        callbacks,
        validation_loader,
        progress,
        accuracy,
    ) -> _BackToBack | None:
        """The block runner for this fit call, or None where epochs need the loop."""
        if step is None or callbacks or validation_loader is not None:
            return None
        if progress.console is not None or not step.flat_sgd_ready():
            return None
        if not isinstance(loader, _data_loader_class()) or loader.y is None:
            return None
        if loader.X.dtype != step.dtype:
            return None
        if loader.shuffle and loader.batch_size < loader.n_samples:
            return None  # a new order every epoch
        flat_order = [p for p in step.parameters if p.data.size > 0]
        if len(flat_order) != len(recorder.params) or any(
            a is not b for a, b in zip(flat_order, recorder.params, strict=True)
        ):
            return None
        return cls(step, loader, recorder, kind, accuracy)

    def _gather(self) -> None:
        """The batches of every epoch (the loader does not shuffle), once."""
        for X_batch, y_batch in self.loader:
            shape = self.step.output_shape(len(X_batch))
            target = _target_array(self.kind, y_batch.data, shape, self.step.dtype)
            self.batches.append((X_batch.data, target))
        self.targets = np.concatenate([target for _, target in self.batches])

    def run(self, first: int, epochs: int, history: History, lr: float) -> _BlockResult:
        """Run ``epochs`` epochs from epoch ``first`` and record the completed ones."""
        started = time.perf_counter()
        if not self.batches:
            self._gather()
        losses = np.empty(epochs)
        weights, grads = np.empty((2, epochs, self.recorder.size))
        outputs = (
            np.empty((epochs, *self.output_shape), self.step.dtype)
            if self.accuracy
            else None
        )
        completed, interrupted = self.step.run_epochs(
            self.batches, losses, weights, grads, outputs
        )
        elapsed = time.perf_counter() - started
        bad_loss = (
            float(losses[completed]) if completed < epochs and not interrupted else None
        )
        logs: dict[str, list[float]] = {}
        if completed:
            logs["loss"] = losses[:completed].tolist()
            if outputs is not None:
                correct, counted = _count_correct(
                    self.kind, outputs[:completed], self.targets
                )
                logs["accuracy"] = (correct / counted).tolist()
            logs["lr"] = [lr] * completed
            # the block is timed as a whole: each epoch gets the mean of those
            # that started (a diverged or interrupted one included)
            started_epochs = min(completed + 1, epochs)
            logs["time"] = [elapsed / started_epochs] * completed
            history._extend(
                range(first, first + completed),
                logs,
                *self.recorder.record_rows(weights[:completed], grads[:completed]),
            )
        last_logs = {key: values[-1] for key, values in logs.items()}
        return _BlockResult(
            completed, bad_loss, interrupted, weights[:completed], last_logs
        )

    def set_parameters(self, row: np.ndarray) -> None:
        """Put a row of ``_BlockResult.weights`` back into the model."""
        values, _ = self.step.flat_parameters()
        values[...] = row


def _fit_loop(
    model: Module,
    loss_fn: Any,
    optimizer: Optimizer,
    loader: Any,
    validation_loader: Any,
    *,
    epochs: int,
    callbacks: Sequence[Callback],
    verbose: int,
    log_every: int,
    initial_epoch: int,
    accuracy: bool,
    training_state: dict[str, Any] | None,
    save_target: Any,
    fast: bool = True,
) -> History:
    """The epochs of ``fit`` over ready loaders; ``save_target`` is what checkpoints
    save (the model, or the Classifier that wraps it)."""
    if len(loader) == 0:
        raise ValueError(
            f"fit: the training data gives no batches ({loader!r}); use a smaller "
            "batch_size or drop_last=False"
        )
    kind = _loss_kind(loss_fn)
    history = History()
    if training_state is not None:
        resumed_epoch, history = _restore_training_state(training_state, loader)
        initial_epoch = initial_epoch or resumed_epoch
    log_keys = ["loss"] + (["accuracy"] if accuracy else [])
    if validation_loader is not None:
        log_keys += ["val_loss"] + (["val_accuracy"] if accuracy else [])
    run = _FitRun(
        model,
        optimizer,
        loader,
        history,
        save_target,
        log_keys + ["lr", "time"],
        initial_epoch,
    )
    for callback in callbacks:
        callback.set_run(run)
    # weights (and optimizer state) at the start of the last epoch whose loss was
    # finite, and at the start of the current one: the divergence guard goes back
    # to the former, which is known to give a finite loss
    last_good, epoch_start = _Snapshot(model, optimizer), _Snapshot(model, optimizer)
    step = compile_step(model, loss_fn, optimizer) if fast else None
    recorder = _ParameterRecorder(model)
    history.loss_name = getattr(loss_fn, "full_name", None) or getattr(
        loss_fn, "__name__", type(loss_fn).__name__
    )
    last_logged: int | None = None
    last_logs: dict[str, float] = {}

    model.train()
    progress = _ProgressBar(verbose, len(loader))
    run.console = progress.console
    block = _BackToBack.create(
        step, loader, kind, recorder, callbacks, validation_loader, progress, accuracy
    )

    def _log_due(epoch: int) -> bool:
        return verbose > 0 and (
            (epoch + 1) % log_every == 0
            or epoch == initial_epoch
            or epoch == epochs - 1
        )

    def _block_length(epoch: int, max_epochs: int) -> int:
        """Epochs from ``epoch`` up to the next one with a log line, at most."""
        last = epochs - 1
        if verbose > 0:
            if epoch == initial_epoch:
                return 1
            last = min(last, epoch + (log_every - 1 - epoch) % log_every)
        return min(last - epoch + 1, max_epochs)

    epoch = initial_epoch
    # overflow in a diverging run is reported once by the divergence guard, not as
    # NumPy warnings from deep inside the step
    numpy_errors = np.seterr(over="ignore", invalid="ignore", divide="ignore")
    try:
        for callback in callbacks:
            callback.on_train_begin()
        while epoch < epochs:
            started = time.perf_counter()
            if epoch != initial_epoch:
                epoch_start.take()
            block_epochs = (
                0 if block is None else _block_length(epoch, block.max_epochs)
            )
            if block is not None and block_epochs >= _MIN_BLOCK_EPOCHS:
                lr = float(optimizer.param_groups[0]["lr"])
                result = block.run(epoch, block_epochs, history, lr)
                done = result.completed
                run.mark_epoch_boundary(epoch + done)  # no generator was drawn from
                if done:
                    last_logs = result.last_logs
                    if _log_due(epoch + done - 1):
                        run.echo(format_epoch_line(epoch + done - 1, epochs, last_logs))
                        last_logged = epoch + done - 1
                if result.bad_loss is not None:
                    # the start of the epoch before the bad one: the end of the one
                    # before that, the snapshot, or (epoch 0) the start
                    if done >= 2:
                        block.set_parameters(result.weights[done - 2])
                    else:
                        (
                            epoch_start
                            if done == 1 or epoch == initial_epoch
                            else last_good
                        ).restore()
                    epoch += done
                    _stop_diverged(run, history, epoch, result.bad_loss, lr, verbose)
                    break
                if result.interrupted:
                    epoch += done
                    raise KeyboardInterrupt
                # the snapshot of the start of the last epoch, for the next one
                if done >= 2:
                    block.set_parameters(result.weights[done - 2])
                    epoch_start.take()
                    block.set_parameters(result.weights[done - 1])
                last_good, epoch_start = epoch_start, last_good
                epoch += done
                continue
            for callback in callbacks:
                callback.on_epoch_begin(epoch, {})
            lr = float(optimizer.param_groups[0]["lr"])
            progress.begin_epoch(epoch, epochs)
            loss_sum = 0.0
            correct = counted = seen = 0
            bad_loss: float | None = None
            for batch, (X_batch, y_batch) in enumerate(loader):
                if step is not None and X_batch.data.dtype == step.dtype:
                    # the compiled MLP step (deepgrad.fast), equal to the eager one
                    output_values = step.forward(X_batch.data)
                    target_values = _target_array(
                        kind, y_batch.data, output_values.shape, step.dtype
                    )
                    loss_value = step.backward_and_update(X_batch.data, target_values)
                else:
                    optimizer.zero_grad()
                    output = model(X_batch)
                    target = _match_target(kind, output, y_batch)
                    loss = loss_fn(output, target)
                    loss_value = _scalar_loss(loss)
                    if math.isfinite(loss_value):
                        loss.backward()
                        optimizer.step()
                    output_values, target_values = output.data, target.data
                if not math.isfinite(loss_value):
                    bad_loss = loss_value
                    break
                loss_sum += loss_value * len(X_batch)
                seen += len(X_batch)
                if accuracy and kind is not None:
                    batch_correct, batch_counted = _count_correct(
                        kind, output_values[None], target_values
                    )
                    correct += int(batch_correct[0])
                    counted += batch_counted
                for callback in callbacks:
                    callback.on_batch_end(
                        batch, {"loss": loss_value, "size": len(X_batch)}
                    )
                progress.advance()

            if bad_loss is not None:
                # Diverged: go back to the weights at the start of the last epoch
                # whose loss was finite (the start of this one may already be bad).
                (epoch_start if epoch == initial_epoch else last_good).restore()
                _stop_diverged(run, history, epoch, bad_loss, lr, verbose)
                break
            last_good, epoch_start = epoch_start, last_good

            logs = {"loss": loss_sum / seen}
            if accuracy:
                logs["accuracy"] = correct / counted
            if validation_loader is not None:
                val_loss, val_accuracy = _evaluate(
                    model, loss_fn, kind, validation_loader, accuracy
                )
                logs["val_loss"] = val_loss
                if val_accuracy is not None:
                    logs["val_accuracy"] = val_accuracy
            logs["lr"] = lr
            logs["time"] = time.perf_counter() - started
            history._extend(
                range(epoch, epoch + 1),
                {key: [value] for key, value in logs.items()},
                *recorder.record(),
            )
            run.mark_epoch_boundary(epoch + 1)
            last_logs = logs
            if _log_due(epoch):
                run.echo(format_epoch_line(epoch, epochs, logs))
                last_logged = epoch
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            epoch += 1
            if run.stop_requested:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        run.stopped_reason = f"Epoch {epoch + 1}: training interrupted (Ctrl-C)."
    finally:
        np.seterr(**numpy_errors)
        progress.stop()
        run.console = None
        model.train()

    if verbose > 0 and history.epoch and history.epoch[-1] != last_logged and last_logs:
        # the epoch training stopped at, when log_every skipped it
        run.echo(format_epoch_line(history.epoch[-1], epochs, last_logs))
    if verbose > 0 and run.stopped_reason:
        run.echo(run.stopped_reason)  # after the last epoch's line
    history.stopped_reason = run.stopped_reason
    history.training_state = run.training_state()
    for callback in callbacks:
        callback.on_train_end(dict(last_logs))
    return history


# ---------------------------------------------------------------------------
# Classifier
# ---------------------------------------------------------------------------
_TASKS = ("binary", "multiclass", "regression")


def _last_leaf(model: Module) -> Module:
    leaves = [module for module in model.modules() if not module._modules]
    return leaves[-1] if leaves else model


def _forward_all(model: Module, X: np.ndarray) -> Tensor:
    """The model's output for every row, in eval mode without gradients."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = [
                model(X_batch).data for X_batch, _ in _evaluation_loader(X, None)
            ]
    finally:
        model.train(was_training)
    return Tensor(np.concatenate(outputs))


class Classifier:
    """A model with its loss, optimizer, feature scaling and class names.

    The object a user trains, evaluates, saves (``deepgrad.io.save``) and
    predicts with, in the user's own labels.

    Parameters
    ----------
    model : Module
        The network.
    loss_fn : Module or str, optional
        A loss module, or its class name (``"BCELoss"``, ``"BCEWithLogitsLoss"``,
        ``"CrossEntropyLoss"``, ``"NLLLoss"``, ``"MSELoss"``, ``"L1Loss"``). Chosen at the
        first fit when omitted: BCELoss after a final Sigmoid, else
        BCEWithLogitsLoss, for one binary output; NLLLoss after LogSoftmax,
        else CrossEntropyLoss, for classes; MSELoss for regression.
    optimizer : Optimizer, optional
        Adam(lr=1e-3) over the model's parameters when omitted.
    standardizer : Standardizer, optional
        Feature scaling, fitted on the training split only at the first fit
        (an already fitted one is kept), and applied before every forward.
    class_names : list of str, optional
        The label of each class index. Taken from a Dataset, or from string
        labels given to fit (sorted), when omitted.
    task : {"binary", "multiclass", "regression"}, optional
        Inferred from the loss or the labels when omitted.

    Example
    -------
    >>> import numpy as np
    >>> import deepgrad as dg
    >>> from deepgrad import nn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    >>> y = np.array(["no", "yes", "yes", "no"])
    >>> _ = dg.manual_seed(0)
    >>> clf = Classifier(nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)))
    >>> _ = clf.fit(X, y, epochs=2, batch_size="full", verbose=0)
    >>> clf.class_names, clf.loss_name
    (['no', 'yes'], 'BCEWithLogitsLoss')
    """

    def __init__(
        self,
        model: Module,
        loss_fn: Module | str | None = None,
        optimizer: Optimizer | None = None,
        standardizer: Any = None,
        class_names: Sequence[str] | None = None,
        task: str | None = None,
        feature_names: Sequence[str] | None = None,
        target_name: str | None = None,
    ) -> None:
        # the training data's column names, so that predicting on a CSV that
        # still holds the label column can leave it out
        self.feature_names = None if feature_names is None else list(feature_names)
        self.target_name = target_name
        if not isinstance(model, Module):
            raise TypeError(
                f"Classifier: model must be a deepgrad.nn.Module, received: "
                f"{type(model).__name__}"
            )
        if task is not None and task not in _TASKS:
            raise ValueError(
                f"Classifier: task must be one of {_TASKS}, received: {task!r}"
            )
        if isinstance(loss_fn, str):
            if loss_fn not in LOSSES:
                raise ValueError(
                    f"Classifier: unknown loss {loss_fn!r}; choose one of "
                    f"{sorted(LOSSES)} or pass a loss module"
                )
            loss_fn = LOSSES[loss_fn]()
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.standardizer = standardizer
        self.class_names = (
            None if class_names is None else [str(c) for c in class_names]
        )
        self.task = task
        self.history: History | None = None
        self._input_shape: tuple[int, ...] | None = None

    @property
    def loss_name(self) -> str | None:
        """The loss's name in ``LOSSES`` (None before fit or for a custom loss)."""
        kind = _loss_kind(self.loss_fn)
        return None if kind is None else kind.name

    def __repr__(self) -> str:
        return (
            f"Classifier(task={self.task!r}, loss={self.loss_name!r}, "
            f"class_names={self.class_names!r}, model={self.model!r})"
        )

    # -- data ----------------------------------------------------------------------
    @staticmethod
    def _unpack(X: Any, y: Any) -> tuple[Any, Any, Any]:
        """(X, y, the Dataset or None) from fit's or evaluate's arguments."""
        if y is None and hasattr(X, "X") and hasattr(X, "y"):
            return X.X, X.y, X
        return X, y, None

    @staticmethod
    def _as_float(X: Any) -> np.ndarray:
        """X as a float array: from a Dataset, a Tensor or array-like."""
        if hasattr(X, "X") and not isinstance(X, (np.ndarray, Tensor)):
            X = X.X
        array = X.data if isinstance(X, Tensor) else np.asarray(X)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"Classifier: X must hold numbers, received dtype {array.dtype}"
            )
        return array if array.dtype.kind == "f" else array.astype(np.float32)

    def _standardizer_fitted(self) -> bool:
        return getattr(self.standardizer, "mean_", None) is not None

    def _features(self, X: Any) -> np.ndarray:
        """The model's input: X as floats, standardized when a standardizer is set."""
        array = self._as_float(X)
        if self.standardizer is None or not self._standardizer_fitted():
            return array
        return np.asarray(self.standardizer.transform(array), dtype=array.dtype)

    def _is_classifier(self) -> bool:
        return self.task in ("binary", "multiclass")

    def _encode(self, y: Any, learn_names: bool = False) -> np.ndarray:
        """Labels as the loss expects them: class indices, or floats for regression."""
        labels = y.data if isinstance(y, Tensor) else np.asarray(y)
        if not self._is_classifier():
            if labels.dtype.kind not in "biuf":
                raise TypeError(
                    f"Classifier: regression targets must be numbers, received dtype "
                    f"{labels.dtype}"
                )
            return labels.astype(np.float32) if labels.dtype.kind != "f" else labels
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.dtype.kind in "USO":
            names = [str(label) for label in labels]
            if self.class_names is None and learn_names:
                self.class_names = sorted(set(names))
            if self.class_names is None:
                raise ValueError(
                    "Classifier: labels are names but the classifier has no "
                    "class_names; fit it first or pass class_names=[...]"
                )
            index = {name: i for i, name in enumerate(self.class_names)}
            unknown = sorted(set(names) - set(index))
            if unknown:
                raise ValueError(
                    f"Classifier: labels {unknown} are not among the class names "
                    f"{self.class_names}"
                )
            return np.array([index[name] for name in names], dtype=np.int64)
        if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
            raise ValueError(
                "Classifier: class labels must be class indices 0..C-1 or names, "
                f"received non-integer values such as {labels[:3]}"
            )
        indices = labels.astype(np.int64)
        n_classes = None if self.class_names is None else len(self.class_names)
        too_large = n_classes is not None and indices.max(initial=0) >= n_classes
        if indices.min(initial=0) < 0 or too_large:
            raise ValueError(
                f"Classifier: class indices must be in 0..C-1 (C = {n_classes} class "
                f"names), received values from {indices.min()} to {indices.max()}"
            )
        return indices

    def _infer_task(self, y: Any) -> None:
        if self.task is not None:
            return
        kind = _loss_kind(self.loss_fn)
        labels = y.data if isinstance(y, Tensor) else np.asarray(y)
        if kind is not None and not _has_accuracy(kind):
            self.task = "regression"
        elif kind is None and self.class_names is None and labels.dtype.kind == "f":
            self.task = "regression"
        else:
            if self.class_names is not None:
                n_classes = len(self.class_names)
            elif labels.dtype.kind in "USO":
                n_classes = len(set(map(str, labels.ravel())))
            else:
                n_classes = int(labels.max()) + 1
            self.task = "binary" if n_classes <= 2 else "multiclass"

    def _default_loss(self, X: np.ndarray) -> Module:
        last = _last_leaf(self.model)
        if self.task == "regression":
            return nn.MSELoss()
        if isinstance(last, nn.LogSoftmax):
            return nn.NLLLoss()
        outputs = _forward_all(self.model, X[:2]).shape[-1]
        if self.task == "binary" and outputs == 1:
            return (
                nn.BCELoss() if isinstance(last, nn.Sigmoid) else nn.BCEWithLogitsLoss()
            )
        return nn.CrossEntropyLoss()

    # -- training ------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        epochs: int = 1,
        batch_size: int | str | None = 32,
        validation: Any = None,
        callbacks: Iterable[Callback] = (),
        verbose: int = 1,
        log_every: int = 1,
        shuffle: bool = True,
        seed: int | None = None,
        initial_epoch: int = 0,
        *,
        training_state: dict[str, Any] | None = None,
        live: bool = False,
    ) -> History:
        """Train on (X, y), a Dataset as X, with labels in the user's own names.

        ``validation`` is an (X, y) tuple, a Dataset, or a fraction split off
        (stratified, seeded) before the standardizer is fitted on the rest.
        The other arguments are :func:`fit`'s.

        Returns
        -------
        History
            Also kept as ``self.history``.
        """
        _check_settings(epochs, verbose, log_every, initial_epoch)
        X, y, dataset = self._unpack(X, y)
        if y is None:
            raise ValueError("Classifier.fit needs targets: fit(X, y) or fit(dataset)")
        if dataset is not None:
            if self.class_names is None and getattr(dataset, "class_names", None):
                self.class_names = [str(name) for name in dataset.class_names]
            if self.task is None and getattr(dataset, "task", None) in _TASKS:
                self.task = dataset.task
        self._infer_task(y)
        X_train = self._as_float(X)
        y_train = self._encode(y, learn_names=True)
        if isinstance(validation, float):
            (X_train, y_train), validation = _split_off_validation(
                X_train, y_train, validation, self._is_classifier(), seed
            )
        elif validation is not None:
            X_val, y_val = _arrays(validation, "validation")
            validation = (X_val, self._encode(y_val))
        if self.standardizer is not None and not self._standardizer_fitted():
            self.standardizer.fit(X_train)
        X_train = self._features(X_train)
        self._input_shape = tuple(X_train.shape[1:])
        if validation is not None:
            validation = (self._features(validation[0]), validation[1])
        if self.loss_fn is None:
            self.loss_fn = self._default_loss(X_train)
        if self.optimizer is None:
            from deepgrad.optim import Adam

            self.optimizer = Adam(self.model.parameters(), lr=1e-3)

        DataLoader = _data_loader_class()
        loader = DataLoader(
            X_train, y_train, batch_size=batch_size, shuffle=shuffle, seed=seed
        )
        validation_loader = (
            None if validation is None else _evaluation_loader(*validation)
        )
        self.history = _fit_loop(
            self.model,
            self.loss_fn,
            self.optimizer,
            loader,
            validation_loader,
            epochs=epochs,
            callbacks=_with_live_plot(callbacks, live),
            verbose=verbose,
            log_every=log_every,
            initial_epoch=initial_epoch,
            accuracy=_has_accuracy(_loss_kind(self.loss_fn)),
            training_state=training_state,
            save_target=self,
        )
        return self.history

    # -- prediction ----------------------------------------------------------------
    def _kind(self) -> _LossKind:
        kind = _loss_kind(self.loss_fn)
        if kind is None:
            raise ValueError(
                "Classifier: predictions need one of deepgrad's losses "
                f"({sorted(LOSSES)}); fit the classifier first or pass loss_fn"
            )
        return kind

    def _predict_indices(self, output: Tensor) -> np.ndarray:
        kind = self._kind()
        if kind.threshold is not None:
            predicted = (output.data > kind.threshold).astype(np.int64)
            return (
                predicted[:, 0]
                if predicted.ndim == 2 and predicted.shape[1] == 1
                else predicted
            )
        return output.data.argmax(axis=-1)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels: class names when ``class_names`` is set, else indices;
        the model's outputs for regression (one column raveled)."""
        output = _forward_all(self.model, self._features(X))
        if not self._is_classifier():
            values = output.data
            return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else values
        indices = self._predict_indices(output)
        if self.class_names is None:
            return indices
        return np.asarray(self.class_names)[indices]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), as scikit-learn's.

        A single sigmoid output p gives the two columns ``[1 - p, p]``.

        Raises
        ------
        ValueError
            For a regression model.
        """
        kind = self._kind()
        if kind.probability is None:
            raise ValueError(
                f"Classifier.predict_proba needs a classification loss, this one is "
                f"{kind.name!r}; use predict"
            )
        output = _forward_all(self.model, self._features(X))
        probabilities = kind.probability(output).data
        if (
            kind.threshold is not None
            and probabilities.ndim == 2
            and probabilities.shape[1] == 1
        ):
            return np.concatenate([1 - probabilities, probabilities], axis=1)
        return probabilities

    def evaluate(self, X: Any, y: Any = None) -> dict[str, Any]:
        """Loss, accuracy, the per-class report and the confusion matrix on (X, y).

        Returns
        -------
        dict
            ``loss``; for classification also ``accuracy``, ``report``
            (``deepgrad.metrics.classification_report``) and
            ``confusion_matrix``.
        """
        X, y, _ = self._unpack(X, y)
        if y is None:
            raise ValueError("Classifier.evaluate needs targets: evaluate(X, y)")
        kind = self._kind()
        features = self._features(X)
        targets = self._encode(y)
        loss, accuracy = _evaluate(
            self.model,
            self.loss_fn,
            kind,
            _evaluation_loader(features, targets),
            _has_accuracy(kind),
        )
        result: dict[str, Any] = {"loss": loss}
        if not self._is_classifier():
            return result
        from deepgrad import metrics

        predicted = self._predict_indices(_forward_all(self.model, features))
        n_classes = None if self.class_names is None else len(self.class_names)
        result["accuracy"] = accuracy
        result["report"] = metrics.classification_report(
            targets, predicted, class_names=self.class_names
        )
        result["confusion_matrix"] = metrics.confusion_matrix(
            targets, predicted, num_classes=n_classes
        )
        return result

    def summary(self, input_shape: Any = None) -> None:
        """Print the model's Keras-style summary (see :func:`summary`)."""
        _echo(summary(self.model, input_shape or self._input_shape))


# ---------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------
def _first_linear(model: Module) -> nn.Linear | None:
    for module in model.modules():
        if not module._modules:
            return module if isinstance(module, nn.Linear) else None
    return None


def _shape_text(output: Any) -> str:
    if isinstance(output, Tensor):
        return (
            "("
            + ", ".join(["None", *map(str, output.shape[1:])])
            + (",)" if output.ndim == 1 else ")")
        )
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_shape_text(item) for item in output) + "]"
    return "?"


def _own_counts(module: Module) -> tuple[int, int]:
    """(trainable, non-trainable) weights a module holds itself; float buffers
    such as BatchNorm's running statistics count as non-trainable, as in Keras."""
    trainable = frozen = 0
    for param in module._parameters.values():
        if param is None:
            continue
        if param.requires_grad:
            trainable += param.numel()
        else:
            frozen += param.numel()
    for name, buffer in module._buffers.items():
        persistent = name not in module._non_persistent_buffers_set
        if buffer is not None and persistent and buffer.dtype.kind == "f":
            frozen += buffer.numel()
    return trainable, frozen


def _record_output_shapes(
    model: Module, rows: list[tuple[str, Module]], input_shape: tuple[int, ...]
) -> dict[int, str]:
    """Run a zero batch through the model, noting each row module's output shape."""
    shapes: dict[int, str] = {}
    wrapped: list[Module] = []

    def recording(module: Module) -> Callable[..., Any]:
        forward = type(module).forward

        def forward_and_record(*args: Any, **kwargs: Any) -> Any:
            output = forward(module, *args, **kwargs)
            shapes[id(module)] = _shape_text(output)
            return output

        return forward_and_record

    dtype = next((p.dtype for p in model.parameters() if p.dtype.kind == "f"), None)
    batch = Tensor(np.zeros((2, *input_shape), dtype=dtype or np.float32))
    was_training = model.training
    try:
        for _, module in rows:
            object.__setattr__(module, "forward", recording(module))
            wrapped.append(module)
        model.eval()  # BatchNorm and Dropout behave as at prediction time
        with no_grad():
            model(batch)
    except Exception as error:
        raise ValueError(
            f"summary: the forward pass on a zero batch of shape {batch.shape} "
            f"failed ({error}); pass the shape of one sample as input_shape"
        ) from error
    finally:
        for module in wrapped:
            object.__delattr__(module, "forward")
        model.train(was_training)
    return shapes


class _SummaryTable(NamedTuple):
    """What a summary shows, for the text and the HTML table."""

    model_name: str
    rows: list[tuple[str, str, int]]  # layer (type), output shape, parameters
    trainable: int
    non_trainable: int


def _summary_table(
    model: Module, input_shape: int | Sequence[int] | None
) -> _SummaryTable:
    """The rows and totals of :func:`summary` (whose docstring has the details)."""
    if not isinstance(model, Module):
        raise TypeError(
            f"summary expects a deepgrad.nn.Module, received: {type(model).__name__}"
        )
    rows = [
        (name, module)
        for name, module in model.named_modules()
        if not module._modules or any(_own_counts(module))
    ]
    if input_shape is None:
        first = _first_linear(model)
        input_shape = None if first is None else (first.in_features,)
    if isinstance(input_shape, (int, np.integer)):
        input_shape = (int(input_shape),)
    shapes = (
        {}
        if input_shape is None
        else _record_output_shapes(model, rows, tuple(input_shape))
    )
    table = [
        (
            f"{name} ({type(module).__name__})" if name else type(module).__name__,
            shapes.get(id(module), "?"),
            sum(_own_counts(module)),
        )
        for name, module in rows
    ]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    non_trainable = sum(_own_counts(module)[1] for module in model.modules())
    return _SummaryTable(type(model).__name__, table, trainable, non_trainable)


def summary(model: Module, input_shape: int | Sequence[int] | None = None) -> str:
    """A Keras-style table of a model's layers, output shapes and parameter counts.

    Parameters
    ----------
    model : Module
        The model.
    input_shape : int or tuple of int, optional
        The shape of one sample (without the batch). Output shapes come from a
        forward pass on a zero batch (eval mode, no gradients), run when it is
        given or when the first layer is a Linear (whose ``in_features`` gives
        it); otherwise they show as ``?``.

    Returns
    -------
    str
        The table; ``Module.summary()`` prints it.

    Example
    -------
    >>> from deepgrad import nn
    >>> print(summary(nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1))))
    Model: "Sequential"
    _________________________________________________________________
     Layer (type)                Output Shape              Param #
    =================================================================
     0 (Linear)                  (None, 4)                 12
     1 (Sigmoid)                 (None, 4)                 0
     2 (Linear)                  (None, 1)                 5
    =================================================================
    Total params: 17
    Trainable params: 17
    Non-trainable params: 0
    _________________________________________________________________
    """
    data = _summary_table(model, input_shape)
    table = [(layer, shape, f"{count:,}") for layer, shape, count in data.rows]
    widths = [
        max(28, *(len(row[0]) + 2 for row in table)),
        max(26, *(len(row[1]) + 2 for row in table)),
        10,
    ]

    def line(cells: Sequence[str]) -> str:
        return (
            " "
            + "".join(
                cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
            )
        ).rstrip()

    trainable, non_trainable = data.trainable, data.non_trainable
    rule = 1 + sum(widths)
    return "\n".join(
        [
            f'Model: "{data.model_name}"',
            "_" * rule,
            line(("Layer (type)", "Output Shape", "Param #")),
            "=" * rule,
            *(line(row) for row in table),
            "=" * rule,
            f"Total params: {trainable + non_trainable:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {non_trainable:,}",
            "_" * rule,
        ]
    )


def summary_html(model: Module, input_shape: int | Sequence[int] | None = None) -> str:
    """:func:`summary` as an HTML table: how Jupyter shows a model.

    ``Module._repr_html_`` returns it, so a model on the last line of a notebook
    cell displays its layers, output shapes and parameter counts.

    Parameters
    ----------
    model : Module
        The model.
    input_shape : int or tuple of int, optional
        The shape of one sample, as for :func:`summary`.

    Returns
    -------
    str
        A ``<table>`` with a header row, one row per layer and the totals below.

    Example
    -------
    >>> from deepgrad import nn
    >>> table = summary_html(nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1)))
    >>> table.count("<tr>"), "Total params: 17" in table
    (4, True)
    """
    from html import escape

    data = _summary_table(model, input_shape)
    right = ' style="text-align: right"'
    header = (
        f"<tr><th>Layer (type)</th><th>Output Shape</th><th{right}>Param #</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(layer)}</td><td>{escape(shape)}</td>"
        f"<td{right}>{count:,}</td></tr>"
        for layer, shape, count in data.rows
    )
    total = data.trainable + data.non_trainable
    return (
        f'<div><p><b>Model: "{escape(data.model_name)}"</b></p>'
        f"<table><thead>{header}</thead><tbody>{body}</tbody></table>"
        f"<p>Total params: {total:,}<br>Trainable params: {data.trainable:,}<br>"
        f"Non-trainable params: {data.non_trainable:,}</p></div>"
    )
