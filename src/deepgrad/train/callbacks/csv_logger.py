"""CSVLogger: each epoch's logs as a row of a CSV file."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from deepgrad.atomic import atomic_write
from deepgrad.train.callbacks.callback import Callback


class CSVLogger(Callback):
    """Write each epoch's logs to a CSV file: a header, then one row per epoch.

    The columns are ``epoch`` (0-based, as Keras writes it) and the logged keys
    in alphabetical order. The file only ever holds whole rows: an earlier log
    is replaced once the new one's first row is on disk, and a row that cannot
    be written (a full disk) is taken back and stops training cleanly.

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
        self._descriptor: int | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        has_rows = (
            self.append and self.filename.exists() and self.filename.stat().st_size > 0
        )
        self._write_header = not has_rows
        self.filename.parent.mkdir(parents=True, exist_ok=True)
        if has_rows:
            self._descriptor = os.open(self.filename, os.O_WRONLY | os.O_APPEND)

    def _row(self, values: list[Any]) -> bytes:
        text = io.StringIO()
        csv.writer(text, delimiter=self.separator).writerow(values)
        return text.getvalue().encode("utf-8")

    def _write(self, data: bytes) -> None:
        """Add whole rows to the file, or nothing: a failed write is undone."""
        if self._descriptor is None:
            # the first rows replace an earlier log only once they are on disk
            with atomic_write(self.filename) as handle:
                handle.write(data)
            self._descriptor = os.open(self.filename, os.O_WRONLY | os.O_APPEND)
            return
        size = os.fstat(self._descriptor).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._descriptor, view) :]
        except OSError:
            os.ftruncate(self._descriptor, size)
            raise

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        keys = sorted(logs)
        data = self._row([epoch, *(logs[key] for key in keys)])
        if self._write_header:
            data = self._row(["epoch", *keys]) + data
        try:
            self._write(data)
        except OSError as error:
            self._stop_after_failure(
                f"CSVLogger: could not write epoch {epoch + 1}'s row to "
                f"{self.filename} ({error.strerror or error}); training stopped. "
                "The file holds the rows of the epochs before it."
            )
            return
        self._write_header = False

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
