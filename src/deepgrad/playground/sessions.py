"""Training sessions: one per browser tab, each on a thread of its own.

A session owns one run: the data, the network, the optimizer and a
:class:`deepgrad.train.Classifier` built exactly as ``deepgrad train`` builds
them (:mod:`deepgrad.recipes`), trained by ``Classifier.fit`` itself. fit calls
the session back after every batch and epoch (a :class:`Callback`); there the
session sends the page a frame, obeys play, pause, step and speed, answers
questions (the inspector, the model file, the code) and, while paused, waits. A
new configuration or a reset leaves fit by an exception and builds the run
again from the same seed, so a reset gives the same first weights.

Only the session's thread touches its model; the event loop talks to it
through a queue of commands and receives messages through an :class:`Outbox`.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import copy
import io
import math
import queue
import re
import secrets
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

import deepgrad as dg
from deepgrad import explain, nn
from deepgrad.data import Standardizer
from deepgrad.data.datasets import Dataset
from deepgrad.playground.code import code_for
from deepgrad.playground.config import (
    Limits,
    RunConfig,
    check_fields,
    check_network_size,
)
from deepgrad.playground.data import (
    DATASETS,
    Plane,
    Upload,
    dataset_csv,
    make_dataset,
)
from deepgrad.playground.frames import Painter, weights
from deepgrad.recipes import (
    DEFAULT_LOSS,
    LOSSES,
    OPTIMIZERS,
    default_log_every,
    initialised_network,
    make_optimizer,
    needs_standardizing,
)
from deepgrad.sweep import format_value
from deepgrad.train import Callback, Classifier, format_epoch_line
from deepgrad.train.batches import split_off_validation

# dg.manual_seed and the draws after it use the process-wide generator: one
# session builds its network (or runs a race) at a time
SEED_LOCK = threading.Lock()
FRAME_INTERVAL = 1 / 30  # seconds between two frames while playing
SPEEDS = (1, 5, 20, 100, 500, 0)  # epochs per second; 0: as fast as it goes
RACE_EPOCHS = 2000  # the longest race, per rate
RACE_RUNS = 6  # the most runs in one race
# the numeric gradient check of the inspector: 2 forward passes per parameter
GRADCHECK_WORK = 2_000_000  # parameters x training rows, at most
WEIGHT_STEP = 1e-6  # the central difference of one clicked weight (float64)
SHOWN_SAMPLES = 8  # per-sample values the inspector lists
_HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


class Turns:
    """One session trains at a time, in turns of about :data:`TURN` seconds,
    first come first served.

    Twenty threads running NumPy at once spend their time handing the GIL to
    each other (each wait for it lasts up to the 5 ms switch interval) and train
    ten times slower in total; taking turns keeps one thread busy at a time
    and shares it fairly, so every tab keeps receiving frames.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._held = False
        # each thread's random stream, while another's is in the default generator
        self._streams: weakref.WeakKeyDictionary[threading.Thread, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._holder: threading.Thread | None = None  # whose stream is in it now

    def acquire(self) -> None:
        with self._lock:
            if not self._held:
                self._held = True
                self._swap_in()
                return
            ready = threading.Event()
            self._waiting.append(ready)
        ready.wait()  # release() handed the turn over
        self._swap_in()

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._held = False

    # Dropout draws its masks from the process-wide generator (as PyTorch's
    # does). Each thread keeps its own stream and puts it in place when the turn
    # passes to it from another thread (a lone tab swaps nothing), so a tab's
    # masks, and its loss curve, are the ones its copied code gives, however
    # many other tabs train between its turns.
    def _swap_in(self) -> None:
        me = threading.current_thread()
        if self._holder is me:
            return
        generator = dg.default_generator()
        if self._holder is not None:
            self._streams[self._holder] = generator.get_state()
        state = self._streams.pop(me, None)
        if state is not None:
            generator.set_state(state)
        self._holder = me

    @contextlib.contextmanager
    def taken(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    @contextlib.contextmanager
    def left(self) -> Iterator[None]:
        """Let the others train while this thread waits (for a command)."""
        self.release()
        try:
            yield
        finally:
            self.acquire()


TURNS = Turns()
TURN = 0.005  # seconds of training before a session lets the next one train


class _Restart(Exception):
    """Leave fit to build the run again (a new configuration or a reset)."""

    def __init__(self, command: dict[str, Any]) -> None:
        super().__init__(command["type"])
        self.command = command


class _Closed(Exception):
    """Leave fit and the session's thread."""


class Outbox:
    """Messages from a session's thread to its WebSocket, on the event loop.

    Frames coalesce: while one waits to be sent, a newer frame replaces its
    pictures and appends its history, so a slow tab skips pictures, never
    epochs. Other messages are sent in order, and a frame never merges with
    one queued before them (the frames of an old run with those of a new one).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        # the frame waiting in the queue, in a one-item list that later frames
        # update in place; None once something else was queued after it
        self._waiting: list[dict[str, Any]] | None = None

    def post(self, message: dict[str, Any]) -> None:
        """Send ``message`` to the tab; callable from any thread."""
        try:
            self._loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # the loop has closed: the server is stopping
            pass

    def _put(self, message: dict[str, Any]) -> None:
        if message["type"] != "frame":
            self._waiting = None
            self._queue.put_nowait(message)
        elif self._waiting is None:
            self._waiting = [message]
            self._queue.put_nowait(self._waiting)
        else:
            older = self._waiting[0]
            for key, values in older["history"].items():
                message["history"][key] = values + message["history"].get(key, [])
            message["log"] = older["log"] + message["log"]
            self._waiting[0] = message

    async def next(self) -> dict[str, Any]:
        item = await self._queue.get()
        if isinstance(item, list):  # a frame, maybe updated since it was queued
            if item is self._waiting:
                self._waiting = None
            return cast(dict[str, Any], item[0])
        return cast(dict[str, Any], item)


class _Hook(Callback):
    """fit's callback into the session, after every batch and epoch."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.session._after_batch(batch, logs or {})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.session._after_epoch(epoch, logs or {})


# the fields that make a run's data: a refused dataset goes back with them
DATA_FIELDS = ("dataset", "samples", "noise", "data_seed", "points", "target", "file")


class _Run:
    """What one configuration built: data, split, classifier, painter."""

    def __init__(self, config: RunConfig, dataset: Dataset, limits: Limits) -> None:
        loss = config.loss or DEFAULT_LOSS[dataset.task]
        outputs = (dataset.n_classes or 2) if loss == "ce" else 1
        check_network_size(config, dataset.n_features, outputs, limits)
        with SEED_LOCK:
            model, self.init = initialised_network(
                dataset,
                config.hidden,
                config.activation,
                loss,
                config.init,
                config.seed,
                config.dropout,
                config.batchnorm,
            )
        self.standardize = (
            config.standardize
            if config.standardize is not None
            else needs_standardizing(dataset.X)
        )
        self.loss_fn = LOSSES[loss]()
        self.classifier = Classifier(
            model,
            loss_fn=self.loss_fn,
            optimizer=make_optimizer(
                config.optimizer,
                model.parameters(),
                config.lr,
                config.momentum,
                config.weight_decay,
                config.nesterov,
            ),
            standardizer=Standardizer() if self.standardize else None,
            # as deepgrad train: a regression learns targets of mean 0, std 1
            target_standardizer=Standardizer()
            if dataset.task == "regression"
            else None,
            class_names=dataset.class_names,
            task=dataset.task,
            feature_names=dataset.feature_names,
            target_name=config.target,
        )
        self.config, self.dataset, self.loss = config, dataset, loss
        # the rows fit keeps for training: its own split, of the row numbers
        rows = np.arange(dataset.n_samples)
        self.test = np.zeros(dataset.n_samples, dtype=bool)
        if config.test_ratio:
            (train_rows, _), (test_rows, _) = split_off_validation(
                rows[:, None],
                dataset.y,
                config.test_ratio,
                dataset.task != "regression",
                config.seed,
            )
            self.test[test_rows[:, 0]] = True
        self.train_rows = rows[~self.test]
        if self.classifier.standardizer is not None:
            # what fit does first; fitted now, the first frame is drawn right
            self.classifier.standardizer.fit(dataset.X[self.train_rows])
        self.plane = Plane(dataset.X, dataset.feature_names)
        self.painter = Painter(self.classifier, dataset, self.plane)
        self.epochs_done = 0
        self.batch = 0
        self.started = False
        self.finished = False
        self.stopped_reason: str | None = None
        self.history: Any = None  # fit's History, from the first epoch on
        self.sent_epochs = 0

    def description(self) -> dict[str, Any]:
        """What the page needs once per run: points, classes, network shape."""
        dataset, plane = self.dataset, self.plane
        points = np.round(plane.project(dataset.X), 4).tolist()
        if dataset.task == "regression":
            low, high = float(dataset.y.min()), float(dataset.y.max())
            labels = np.round((dataset.y - low) / (high - low or 1.0), 4).tolist()
        else:
            labels = dataset.y.tolist()
        model = self.classifier.model
        widths = [dataset.n_features] + [
            module.out_features
            for module in model.children()
            if isinstance(module, nn.Linear)
        ]
        return {
            "config": self.config.as_dict(),
            "data": {
                "name": dataset.name,
                "task": dataset.task,
                "points": points,
                "labels": labels,
                "test": self.test.astype(int).tolist(),
                "class_names": dataset.class_names,
                "feature_names": dataset.feature_names,
                "axes": plane.labels,
                "projected": plane.projected,
                "extent": plane.extent,
                "n_train": int(len(self.train_rows)),
                "n_test": int(self.test.sum()),
            },
            "log_every": default_log_every(self.config.epochs),
            "network": {
                "widths": widths,
                "activation": self.config.activation,
                "loss": self.loss,
                "init": self.init,
                "standardize": self.standardize,
                "parameters": int(sum(p.numel() for p in model.parameters())),
                "layers": [type(module).__name__ for module in model.children()],
            },
        }


class Session:
    """One tab's training session, running on its own thread.

    Parameters
    ----------
    session_id : str
        The token the page uses for downloads.
    limits : Limits
    post : callable
        Sends a message (a JSON-able dict) to the tab; callable from any thread.
    """

    def __init__(
        self, session_id: str, limits: Limits, post: Callable[[dict[str, Any]], None]
    ) -> None:
        self.id = session_id
        self.limits = limits
        self._post = post
        self._commands: queue.Queue[dict[str, Any]] = queue.Queue()
        self.last_seen = time.monotonic()
        self.upload: Upload | None = None
        self._run: _Run | None = None
        self._built_upload: Upload | None = None  # the CSV the run was built from
        self._mode = "paused"  # playing, paused, epoch or batch (one step)
        self._speed = 0
        self._last_frame = 0.0
        self._turn_started = 0.0
        self._hook = _Hook(self)
        self._thread = threading.Thread(
            target=self._work, name=f"deepgrad-playground-{session_id[:8]}", daemon=True
        )
        self._thread.start()

    # -- from the event loop -------------------------------------------------------
    def touch(self) -> None:
        """The tab is active: the idle timeout counts from now."""
        self.last_seen = time.monotonic()

    def submit(self, message: dict[str, Any]) -> None:
        """Queue a command from the tab (``type``: config, play, pause, ...)."""
        self.touch()
        self._commands.put(message)

    def post_closed(self, reason: str) -> None:
        """Tell the tab why its session ends; its WebSocket closes after this."""
        self._post({"type": "closed", "message": reason})

    def ask(self, kind: str, **arguments: Any) -> concurrent.futures.Future[Any]:
        """Ask the session's thread for ``model``, ``history_csv`` or ``data_csv``;
        the future holds the answer, or the ValueError saying why not."""
        self.touch()
        answer: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._commands.put({"type": kind, "future": answer, **arguments})
        return answer

    def close(self, wait: float = 0.0) -> None:
        """Stop the session's thread (within ``wait`` seconds, if given)."""
        self._commands.put({"type": "close"})
        if wait:
            self._thread.join(wait)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the session's thread ------------------------------------------------------
    def _work(self) -> None:
        command: dict[str, Any] | None = None
        while True:
            if command is None:
                command = self._commands.get()
            try:
                with TURNS.taken():
                    self._turn_started = time.monotonic()
                    self._handle(command)
                command = None
            except _Restart as restart:
                command = restart.command
            except _Closed:
                return
            except Exception as error:  # noqa: BLE001 - the tab gets one line
                self._error(error, command)
                command = None

    def _error(self, error: BaseException, command: dict[str, Any] | None) -> None:
        message = " ".join(str(error).split()) or type(error).__name__
        if not isinstance(error, (ValueError, TypeError)):
            message = f"{type(error).__name__}: {message}"
        future = (command or {}).get("future")
        if future is not None and not future.done():
            future.set_exception(ValueError(message))
        else:
            self._post({"type": "error", "message": message})

    def _handle(self, command: dict[str, Any]) -> None:
        """A command outside fit (no run started, or a finished one)."""
        kind = command["type"]
        if kind in ("config", "reset"):
            self._build(command)
        elif kind in ("play", "step"):
            self._set_mode(command)
            self._train()
        else:
            self._answer(command)

    def _answer(self, command: dict[str, Any]) -> None:
        """Commands that work the same inside and outside fit."""
        kind = command["type"]
        if kind == "close":
            raise _Closed
        if kind == "pause":
            self._mode = "paused"
            if self._run is not None:
                self._publish_frame()
        elif kind == "speed":
            self._speed = int(_speed(command.get("value")))
        elif kind in _QUESTIONS:
            run = self._require_run()
            result = _QUESTIONS[kind](self, run, command)
            future = command.get("future")
            if future is not None:
                future.set_result(result)
            else:
                self._post({"type": kind, **result})
        else:
            raise ValueError(
                f"unknown message type {kind!r}; the page sends config, play, pause, "
                "step, reset, speed, inspect, code or race"
            )

    def _require_run(self) -> _Run:
        if self._run is None:
            raise ValueError("no run yet: choose a dataset and a network first")
        return self._run

    def _set_mode(self, command: dict[str, Any]) -> None:
        if command["type"] == "play":
            self._mode = "playing"
            return
        unit = command.get("unit", "epoch")
        if unit not in ("epoch", "batch"):
            raise ValueError(f"step: unit must be epoch or batch, received: {unit!r}")
        self._mode = unit

    def _build(self, command: dict[str, Any]) -> None:
        """Build the run a config (or a reset) asks for.

        A field that cannot be used keeps the value in use and the others apply:
        the page gets the run (``ready``) and then one ``error`` whose ``fields``
        say, for each refused field, why and what the run uses. So does a field
        whose value the checks allow but the run cannot build with (a test ratio
        that leaves a class out), found by putting back the values in use one
        field at a time. A configuration that no such field explains (too few
        clicked points yet) is refused whole: the run in use goes on.
        """
        in_use = self._run.config if self._run is not None else None
        refused: dict[str, str] = {}
        if command["type"] == "reset":
            config = self._require_run().config
        else:
            config, refused = check_fields(
                command.get("config") or {}, self.limits, in_use
            )
        run = None
        if not (refused and self._is_in_use(config)):
            try:
                run = self._make_run(config)
            except ValueError as error:
                if in_use is None:
                    raise
                found = self._culprit(config, in_use)
                if found is None:
                    raise ValueError(
                        f"{error} (nothing applied: the run keeps its configuration)"
                    ) from None
                name, run = found
                line = " ".join(str(error).split())
                # a line that names no field of its own ("Cannot split ...") gets one
                named = re.match(r"[a-z_]+: ", line) is not None
                refused[name] = line if named else f"{name}: {line}"
                if self._is_in_use(run.config):
                    run = None  # the change was that field alone: no restart
        if run is not None:
            self._run, self._built_upload = run, self._upload_for(run.config)
            self._mode = "paused"
            self._post({"type": "ready", "session": self.id, **run.description()})
            self._publish_frame()
        if refused:
            self._post_refused(refused, self._require_run().config)

    def _upload_for(self, config: RunConfig) -> Upload | None:
        return self.upload if DATASETS[config.dataset][1] == "csv" else None

    def _is_in_use(self, config: RunConfig) -> bool:
        """Whether ``config`` would build the run in use again (same data too)."""
        return (
            self._run is not None
            and config == self._run.config
            and self._upload_for(config) is self._built_upload
        )

    def _culprit(self, config: RunConfig, in_use: RunConfig) -> tuple[str, _Run] | None:
        """The first changed field whose value in use lets the rest build.

        The dataset goes back with the fields that describe its data (points
        clicked for a custom set do not change the set in use).
        """
        for item in fields(RunConfig):
            if getattr(config, item.name) == getattr(in_use, item.name):
                continue
            names = DATA_FIELDS if item.name == "dataset" else (item.name,)
            trial = replace(config, **{name: getattr(in_use, name) for name in names})
            try:
                return item.name, self._make_run(trial)
            except ValueError:
                continue
        return None

    def _make_run(self, config: RunConfig) -> _Run:
        upload = self._upload_for(config)
        dataset = make_dataset(config, upload, self.limits)
        if dataset.n_samples > self.limits.max_samples:
            raise ValueError(
                f"data: {dataset.n_samples:,} points; this server takes at most "
                f"{self.limits.max_samples:,} (--max-samples)"
            )
        if upload is not None:
            config = replace(
                config, target=config.target or upload.columns[-1], file=upload.filename
            )
        return _Run(config, dataset, self.limits)

    def _post_refused(self, refused: dict[str, str], config: RunConfig) -> None:
        """One error line for the banner, and each refused field's own line."""
        in_use = config.as_dict()
        lines = {
            name: f"{line} (not applied: the run uses {_shown(in_use[name])})"
            if name in in_use
            else f"{line} (ignored)"
            for name, line in refused.items()
        }
        self._post(
            {"type": "error", "message": "; ".join(lines.values()), "fields": lines}
        )

    def _train(self) -> None:
        run = self._require_run()
        if run.finished:
            self._mode = "paused"
            self._post(
                {
                    "type": "error",
                    "message": f"this run has finished ({run.stopped_reason}); "
                    "press reset, or raise the epochs and apply",
                }
            )
            self._publish_frame()
            return
        run.started = True
        self._last_frame = 0.0
        config = run.config
        try:
            history = run.classifier.fit(
                run.dataset.X,
                run.dataset.y,
                epochs=config.epochs,
                batch_size=config.batch_size,
                validation=config.test_ratio or None,
                callbacks=[self._hook],
                verbose=0,
                seed=config.seed,
                l1=config.l1,
            )
        except (TypeError, ValueError) as error:
            run.finished, run.stopped_reason = True, str(error)
            raise
        run.history = history
        run.finished = True
        run.stopped_reason = history.stopped_reason or (
            f"trained {run.epochs_done} epochs"
        )
        self._mode = "paused"
        self._publish_frame()

    # -- inside fit, after each batch and epoch ------------------------------------
    def _after_batch(self, batch: int, logs: dict[str, Any]) -> None:
        run = self._require_run()
        run.batch = batch + 1
        run.history = self._hook.history
        if self._mode == "batch":
            self._mode = "paused"
            self._publish_frame(batch_loss=logs.get("loss"))
        self._obey()

    def _after_epoch(self, epoch: int, logs: dict[str, Any]) -> None:
        run = self._require_run()
        run.epochs_done, run.batch = epoch + 1, 0
        run.history = self._hook.history
        if self._mode == "epoch":
            self._mode = "paused"
        now = time.monotonic()
        if self._mode == "paused" or now - self._last_frame >= FRAME_INTERVAL:
            self._publish_frame()
        until = None
        if self._mode == "playing" and self._speed:
            until = now + 1.0 / self._speed
        self._obey(until)

    def _obey(self, until: float | None = None) -> None:
        """Handle the tab's commands; wait while paused, or until ``until``."""
        while True:
            if self._mode == "paused":
                timeout: float | None = None
            elif until is not None and until > time.monotonic():
                timeout = until - time.monotonic()
            else:
                timeout = 0.0
            try:
                if timeout == 0.0:
                    command = self._commands.get_nowait()
                else:
                    with TURNS.left():
                        command = self._commands.get(timeout=timeout)
                    self._turn_started = time.monotonic()
            except queue.Empty:
                self._take_turns()
                return
            kind = command["type"]
            try:
                if kind in ("config", "reset"):
                    raise _Restart(command)
                if kind in ("play", "step"):
                    self._set_mode(command)
                else:
                    self._answer(command)
            except (_Restart, _Closed):
                raise
            except Exception as error:  # noqa: BLE001 - the tab gets one line
                self._error(error, command)

    def _take_turns(self) -> None:
        """Let the next session train when this one has had its turn."""
        if time.monotonic() - self._turn_started > TURN:
            with TURNS.left():
                pass
            self._turn_started = time.monotonic()

    # -- frames --------------------------------------------------------------------
    def _publish_frame(self, batch_loss: float | None = None) -> None:
        run = self._require_run()
        self._last_frame = time.monotonic()
        frame: dict[str, Any] = {
            "type": "frame",
            "state": self._state(run),
            "epoch": run.epochs_done,
            "epochs": run.config.epochs,
            "batch": run.batch,
            "batch_loss": batch_loss,
            "stopped_reason": run.stopped_reason if run.finished else None,
            "weights": weights(run.classifier.model),
            **run.painter.paint(),
            **_history_since(run),
        }
        self._post(frame)

    def _state(self, run: _Run) -> str:
        if run.finished:
            return "finished"
        return "playing" if self._mode in ("playing", "epoch", "batch") else "paused"


def _shown(value: Any) -> str:
    """A config value as the page's form shows it (None is auto)."""
    if value is None:
        return "auto"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _speed(value: Any) -> int:
    if value not in SPEEDS:
        raise ValueError(
            f"speed: expected one of {', '.join(map(str, SPEEDS))} epochs per second "
            f"(0: as fast as it goes), received: {value!r}"
        )
    return int(value)


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _history_since(run: _Run) -> dict[str, Any]:
    """The epochs the page has not seen: losses, accuracies, each layer's
    gradient norm, and the lab's log lines (every ``log_every`` epochs)."""
    history = run.history
    start = run.sent_epochs
    if history is None or len(history.epoch) <= start:
        return {"history": {}, "log": []}
    end = len(history.epoch)
    run.sent_epochs = end
    values = history.history
    delta: dict[str, list[Any]] = {"epoch": [e + 1 for e in history.epoch[start:end]]}
    for key in _HISTORY_KEYS:
        if key in values:
            delta[key] = [_number(v) for v in values[key][start:end]]
    linear = [
        f"{name}.weight"
        for name, module in run.classifier.model.named_children()
        if isinstance(module, nn.Linear)
    ]
    for index, name in enumerate(linear):
        norms = history.grad_norms.get(name, [])[start:end]
        delta[f"grad{index + 1}"] = [_number(v) for v in norms]
    every = default_log_every(run.config.epochs)
    log = [
        format_epoch_line(
            epoch, run.config.epochs, {key: values[key][row] for key in values}
        )
        for row, epoch in enumerate(history.epoch[start:end], start=start)
        if epoch == 0 or (epoch + 1) % every == 0
    ]
    return {"history": delta, "log": log}


# -- questions the page asks ---------------------------------------------------------
def _inspect(session: Session, run: _Run, command: dict[str, Any]) -> dict[str, Any]:
    """Backprop at one neuron, from :func:`deepgrad.explain.trace` on the
    training rows: Z, A, dL/dA, dL/dZ for the neuron, dL/dW of its incoming
    weights, dL/db, each with its chain-rule step and check, and the numeric
    gradient check of its layer's parameters."""
    layer_number = _integer(command.get("layer"), "inspect: layer")
    unit = _integer(command.get("unit"), "inspect: unit")
    classifier = run.classifier
    rows = run.train_rows
    features = run.dataset.X[rows]
    if classifier.standardizer is not None:
        features = np.asarray(
            classifier.standardizer.transform(features), dtype=np.float32
        )
    parameters = sum(p.numel() for p in classifier.model.parameters())
    gradcheck = parameters * len(rows) <= GRADCHECK_WORK
    try:
        trace = explain.trace(
            classifier.model,
            features,
            run.dataset.y[rows],
            run.loss_fn,
            gradcheck=gradcheck,
        )
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"inspector: {error} (the inspector follows Linear layers and activations)"
        ) from None
    if not 1 <= layer_number <= len(trace.layers):
        raise ValueError(
            f"inspect: layer must be 1 to {len(trace.layers)}, received: {layer_number}"
        )
    layer = trace.layers[layer_number - 1]
    width = layer.Z.shape[1]
    if not 0 <= unit < width:
        raise ValueError(
            f"inspect: layer {layer_number} has units 0 to {width - 1}, "
            f"received: {unit}"
        )
    quantities = []
    for quantity in (*layer.forward, *layer.backward):
        value = quantity.value
        if quantity.key == "dW":
            shown = value[unit]  # the gradients of this neuron's incoming weights
            symbol = f"{quantity.symbol}[{unit}, :]"
        elif quantity.key == "db":
            shown = value[unit : unit + 1]
            symbol = f"{quantity.symbol}[{unit}]"
        else:
            shown = value[:, unit]  # one value per sample
            symbol = f"{quantity.symbol}[:, {unit}]"
        quantities.append(
            {
                "key": quantity.key,
                "symbol": symbol,
                "formula": quantity.formula,
                "values": [float(v) for v in shown[:SHOWN_SAMPLES]]
                if quantity.key not in ("dW", "db")
                else [float(v) for v in shown],
                "count": int(shown.size),
                "mean": float(np.mean(shown)),
                "residual": quantity.residual,
            }
        )
    symbols = {f"W{layer_number}", f"b{layer_number}"}
    checks = [
        {
            "symbol": row.symbol,
            "backprop_norm": row.backprop_norm,
            "numeric_norm": row.numeric_norm,
            "rel_error": row.rel_error,
            "ok": row.rel_error <= trace.tolerance or row.at_kink,
        }
        for row in trace.gradcheck
        if row.symbol in symbols
    ]
    linear = [m for m in classifier.model.children() if isinstance(m, nn.Linear)]
    weight = linear[layer_number - 1].weight.array
    source = command.get("weight")
    detail = None
    if source is not None:
        source = _integer(source, "inspect: weight")
        if not 0 <= source < weight.shape[1]:
            raise ValueError(
                f"inspect: layer {layer_number} has incoming weights 0 to "
                f"{weight.shape[1] - 1}, received: {source}"
            )
        detail = _weight_detail(trace, classifier, run, layer_number, unit, source)
    return {
        "layer": layer_number,
        "unit": unit,
        "activation": layer.activation,
        "loss": trace.loss,
        "loss_name": trace.loss_name,
        "samples": int(len(rows)),
        "epoch": run.epochs_done,
        "batch_note": "the training set, one full batch"
        if run.config.batch_size == "full" or int(run.config.batch_size) >= len(rows)
        else f"the whole training set ({len(rows)} rows), not one batch of "
        f"{run.config.batch_size}",
        "quantities": quantities,
        "weights": [float(v) for v in weight[unit]],
        "gradcheck": checks,
        "gradcheck_note": None
        if gradcheck
        else f"numeric check skipped: {parameters:,} parameters x {len(rows):,} "
        "rows is too much work for the page",
        "tolerance": trace.tolerance,
        "weight": detail,
    }


def _weight_detail(
    trace: explain.Trace,
    classifier: Any,
    run: _Run,
    layer_number: int,
    unit: int,
    source: int,
) -> dict[str, Any]:
    """One weight W_l[j, i]: its value, dL/dW_l[j, i] = sum over samples of
    dL/dZ_l[n, j] * A_(l-1)[n, i] term by term, and the same derivative by
    central differences (float64, the loss over the same rows)."""
    layer = trace.layers[layer_number - 1]
    dZ = next(q.value for q in layer.backward if q.key == "dZ")[:, unit]
    if layer_number == 1:
        previous = trace.inputs[:, source]
    else:
        previous = trace.layers[layer_number - 2].forward[-1].value[:, source]
    terms = dZ.astype(np.float64) * previous.astype(np.float64)
    backprop = next(q.value for q in layer.backward if q.key == "dW")[unit, source]

    checked = copy.deepcopy(classifier.model).double()
    linear = [m for m in checked.children() if isinstance(m, nn.Linear)]
    parameter = linear[layer_number - 1].weight.array
    x = dg.tensor(trace.inputs.astype(np.float64))
    y = trace.targets
    y = dg.tensor(y.astype(np.float64) if y.dtype.kind == "f" else y)
    loss_fn = copy.deepcopy(run.loss_fn)
    original = float(parameter[unit, source])
    losses = []
    with dg.no_grad():
        for shift in (WEIGHT_STEP, -WEIGHT_STEP):
            parameter[unit, source] = original + shift
            losses.append(float(loss_fn(checked(x), y).item()))
    numeric = (losses[0] - losses[1]) / (2 * WEIGHT_STEP)
    previous_symbol = "X" if layer_number == 1 else f"A{layer_number - 1}"
    return {
        "index": source,
        "symbol": f"W{layer_number}[{unit}, {source}]",
        "value": float(original),
        "formula": f"dL/dW{layer_number}[{unit}, {source}] = Σₙ "
        f"dL/dZ{layer_number}[n, {unit}] · {previous_symbol}[n, {source}]",
        "terms": [float(v) for v in terms[:SHOWN_SAMPLES]],
        "count": int(terms.size),
        "sum": float(terms.sum()),
        "backprop": float(backprop),
        "numeric": numeric,
    }


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an integer, received: {value!r}")
    return value


def _code(session: Session, run: _Run, command: dict[str, Any]) -> dict[str, Any]:
    return code_for(
        {
            "config": run.config,
            "dataset": run.dataset,
            "model": run.classifier.model,
            "init": run.init,
            "standardize": run.standardize,
            "epochs": run.epochs_done or run.config.epochs,
        }
    )


def _model(session: Session, run: _Run, command: dict[str, Any]) -> bytes:
    """The model file of ``deepgrad train --out``, with the optimizer's state."""
    from deepgrad import io as model_io

    with tempfile.TemporaryDirectory(prefix="deepgrad-playground-") as folder:
        path = Path(folder) / "model.dg"
        model_io.save(run.classifier, path, optimizer=run.classifier.optimizer)
        return path.read_bytes()


def _history_csv(session: Session, run: _Run, command: dict[str, Any]) -> str:
    """One row per epoch: epoch (from 1), loss, accuracy, val_loss, ..."""
    buffer = io.StringIO()
    history = run.history
    keys = [k for k in _HISTORY_KEYS if history is not None and k in history.history]
    buffer.write(",".join(["epoch", *keys]) + "\n")
    for row, epoch in enumerate([] if history is None else history.epoch):
        values = [repr(float(history.history[key][row])) for key in keys]
        buffer.write(",".join([str(epoch + 1), *values]) + "\n")
    return buffer.getvalue()


def _data_csv(session: Session, run: _Run, command: dict[str, Any]) -> str:
    return dataset_csv(run.dataset)


def _race_values(command: dict[str, Any]) -> tuple[str, list[Any]]:
    """The raced option and its values, checked: learning rates, optimizers or
    batch sizes (``{"option": "lr", "values": [...]}``; ``{"rates": [...]}`` is
    the older form of a race of rates)."""
    option = command.get("option", "lr")
    values = command.get("values", command.get("rates"))
    if option not in RACE_OPTIONS:
        raise ValueError(
            f"race: option must be one of {', '.join(RACE_OPTIONS)}, "
            f"received: {option!r}"
        )
    what, good = RACE_OPTIONS[option]
    if (
        not isinstance(values, list)
        or not 1 <= len(values) <= RACE_RUNS
        or len(set(map(str, values))) != len(values)
        or not all(good(value) for value in values)
    ):
        raise ValueError(
            f"race: expected 1 to {RACE_RUNS} different {what}, received: {values!r}"
        )
    if option == "lr":
        values = [float(value) for value in values]
    return option, values


def _is_rate(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (0 < value <= 100)
    )


def _is_batch_size(value: Any) -> bool:
    return value == "full" or (
        isinstance(value, int) and not isinstance(value, bool) and value >= 1
    )


# option -> (its values in an error message, the check of one value)
RACE_OPTIONS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "lr": ("learning rates in (0, 100]", _is_rate),
    "optimizer": (f"optimizers among {', '.join(OPTIMIZERS)}", OPTIMIZERS.__contains__),
    "batch_size": ("batch sizes (whole numbers >= 1, or 'full')", _is_batch_size),
}


def _race(session: Session, run: _Run, command: dict[str, Any]) -> dict[str, Any]:
    """The run's network from the same first weights under several learning
    rates, optimizers or batch sizes (:func:`deepgrad.sweep.run_sweep`), for at
    most :data:`RACE_EPOCHS` epochs. Each finished run is posted at once
    (``race-run``), so the chart fills in while the others train."""
    from deepgrad.sweep import run_sweep

    option, values = _race_values(command)
    config = run.config
    epochs = min(config.epochs, RACE_EPOCHS)
    base = {
        "data": run.dataset,
        "hidden": list(config.hidden),
        "activation": config.activation,
        "loss": run.loss,
        "optimizer": config.optimizer,
        "lr": config.lr,
        "momentum": config.momentum,
        "nesterov": config.nesterov,
        "weight_decay": config.weight_decay,
        "batch_size": config.batch_size,
        "epochs": epochs,
        "init": config.init,
        "dropout": config.dropout,
        "batchnorm": config.batchnorm,
        "standardize": run.standardize,
    }
    note = ""
    if option == "optimizer":
        # each optimizer at its own default rate, and without SGD's momentum
        # (Adam and Adagrad take none): a race of the update rules themselves
        base.update(lr=None, momentum=0.0, nesterov=False)
        note = "each optimizer at its default learning rate, no momentum"
    if option == "batch_size":
        train_rows = len(run.train_rows)
        note = f"{train_rows} training rows: 'full' is one step an epoch"
    labels = [f"{option}={format_value(value)}" for value in values]

    def finished(result: dict[str, Any]) -> None:
        session._post(
            {
                "type": "race-run",
                "id": command.get("id"),
                "index": labels.index(result["label"]),
                "of": len(labels),
                **_race_run(result),
            }
        )

    with SEED_LOCK:
        results = run_sweep(
            base, {option: values}, n_jobs=1, seed=config.seed, on_result=finished
        )
    return {
        "id": command.get("id"),
        "option": option,
        "epochs": epochs,
        "note": note,
        "runs": [_race_run(result) for result in results],
    }


def _race_run(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": result["label"],
        "loss": [_number(v) for v in result["loss"]],
        "diverged": bool(result["diverged"]),
        "stopped_reason": result["stopped_reason"],
        "final_loss": _number(result["final_loss"]),
    }


_QUESTIONS: dict[str, Callable[[Session, _Run, dict[str, Any]], Any]] = {
    "inspect": _inspect,
    "code": _code,
    "race": _race,
    "model": _model,
    "history_csv": _history_csv,
    "data_csv": _data_csv,
}


class SessionManager:
    """The server's sessions, within ``limits.max_sessions``."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, post: Callable[[dict[str, Any]], None]) -> Session:
        """A new session, or a ValueError when the server is full."""
        with self._lock:
            if len(self._sessions) >= self.limits.max_sessions:
                raise ValueError(
                    f"the playground has {len(self._sessions)} sessions open, its "
                    f"limit (--max-sessions {self.limits.max_sessions}); close a tab "
                    "or try again later"
                )
            session = Session(secrets.token_urlsafe(16), self.limits, post)
            self._sessions[session.id] = session
            return session

    def get(self, session_id: str) -> Session:
        session = self._sessions.get(session_id)
        if session is None:
            raise KeyError(session_id)
        return session

    def remove(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)
        session.close()

    def idle(self) -> list[Session]:
        """Sessions whose tab has sent nothing for ``limits.idle_timeout``."""
        now = time.monotonic()
        return [
            session
            for session in list(self._sessions.values())
            if now - session.last_seen > self.limits.idle_timeout
        ]

    def close_all(self, wait: float = 2.0) -> None:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            session.close()
        deadline = time.monotonic() + wait
        for session in sessions:
            session._thread.join(max(0.0, deadline - time.monotonic()))

    def __len__(self) -> int:
        return len(self._sessions)
