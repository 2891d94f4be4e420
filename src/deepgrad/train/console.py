"""What fit prints: Keras' epoch lines and a live progress bar over the batches."""

from __future__ import annotations

from typing import Any

# Epochs with at least this many batches get a live progress bar at verbose=1.
_PROGRESS_MIN_BATCHES = 20


def echo(message: str, console: Any = None) -> None:
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


_LOGGED_KEYS = (
    "loss",
    "accuracy",
    "mae",
    "r2",
    "val_loss",
    "val_accuracy",
    "val_mae",
    "val_r2",
)


def format_epoch_line(epoch: int, epochs: int, logs: dict[str, float]) -> str:
    """One epoch's log line, as Keras prints it.

    Parameters
    ----------
    epoch : int
        The 0-based epoch index (printed from 1).
    epochs : int
        The last epoch.
    logs : dict
        The epoch's values; ``loss``, ``accuracy``, ``mae``, ``r2`` (a
        regression's) and their ``val_`` twins are shown when present, then
        ``time`` (seconds).

    Example
    -------
    >>> format_epoch_line(2, 4, {"loss": 0.54409, "accuracy": 0.58871, "time": 0.012})
    'Epoch 3/4 - loss: 0.5441 - accuracy: 0.5887 - 12ms'
    """
    parts = [f"Epoch {epoch + 1}/{epochs}"]
    parts += [f"{key}: {logs[key]:.4f}" for key in _LOGGED_KEYS if key in logs]
    parts.append(format_duration(logs["time"]))
    return " - ".join(parts)


def new_console() -> Any:
    from rich.console import Console

    return Console()


class ProgressBar:
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
        console = new_console()
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
