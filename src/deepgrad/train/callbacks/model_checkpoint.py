"""ModelCheckpoint: save the model, its optimizer and the training state after epochs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from deepgrad import modelfile
from deepgrad.train.callbacks.callback import MonitorCallback


class ModelCheckpoint(MonitorCallback):
    """Save the model (or Classifier) after epochs, as ``deepgrad.io.save`` does.

    Each file holds the model, the optimizer's state and the training state,
    so that ``deepgrad.io.load_checkpoint`` can resume the run exactly. Saving
    is atomic; a save that fails (a full disk) stops training cleanly: fit
    returns its History, and the file it was replacing is left intact.

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
        run = self._active_run()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            modelfile.save(
                run.save_target,
                path,
                optimizer=run.optimizer,
                training_state=run.training_state(),
            )
        except OSError as error:
            # a full disk or a folder gone read-only: the training so far is not
            # lost (fit returns its History, the model keeps its weights), and the
            # file being replaced is intact, since saving writes atomically
            kept = (
                f"the last checkpoint written, {self.saved[-1]}, is intact"
                if self.saved
                else "no checkpoint was written"
            )
            cause = error.strerror or str(error)
            self._stop_after_failure(
                f"ModelCheckpoint: could not save {path} ({cause}); training stopped "
                f"and {kept}."
            )
            return
        self.saved.append(path)
