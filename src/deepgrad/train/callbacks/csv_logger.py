"""CSVLogger: each epoch's logs as a row of a CSV file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from deepgrad.train.callbacks.callback import Callback


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
