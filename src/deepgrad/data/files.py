"""The user's own data: CSV, NumPy ``.npz`` and MNIST-style IDX files.

Each loader returns a :class:`~deepgrad.data.datasets.Dataset` and rejects anything
it cannot turn into float32 features and int64 class indices with a ValueError that
names the column, line or key at fault and says what to do. Class labels of any
kind (strings, integers) become indices ``0..C-1`` in sorted order, and
``class_names`` maps them back. Nothing is ever unpickled.
"""

from __future__ import annotations

import csv
import gzip
import lzma
import math
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from deepgrad.data.datasets import Dataset, Task

PathLike = str | Path

# Cells a spreadsheet or pandas writes for "no value" in a numeric column.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})

# IDX and NPZ files declare their arrays' shapes before the data: an array larger
# than this (a billion float32 values; MNIST's images take 47 MB) is refused before
# anything is read or allocated. Raise it to read larger files, memory permitting.
MAX_ARRAY_BYTES = 4 * 2**30
# CSV rows are parsed this many at a time: one block's cells are Python strings
# (some 60 bytes each), turned into float32 in one NumPy call and dropped.
_BLOCK_ROWS = 4096
# Distinct labels a target column keeps as text while they may be class names;
# past this many, a column of numbers keeps only the numbers (a regression target).
_MAX_TEXT_LABELS = 65536
# task="auto": a column of whole numbers with more distinct values than both of
# these is a quantity (ages, counts), read as a regression target, not classes
AUTO_REGRESSION_MIN_VALUES = 20
AUTO_REGRESSION_MIN_FRACTION = 0.05
TASKS = ("auto", "binary", "multiclass", "regression")
_CHUNK_SIZE = 1 << 20


def _available_memory() -> int | None:
    """Bytes of memory available without swapping (Linux), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_size(name: str, what: str, size: int) -> None:
    """Refuse an array of ``size`` bytes beyond MAX_ARRAY_BYTES or the free memory."""
    if size > MAX_ARRAY_BYTES:
        raise ValueError(
            f"{name}: {what} takes {size} bytes, more than the {MAX_ARRAY_BYTES} "
            "deepgrad reads (deepgrad.data.files.MAX_ARRAY_BYTES); the file is "
            "damaged, or raise that limit"
        )
    available = _available_memory()
    if available is not None and size > available:
        raise ValueError(
            f"{name}: {what} takes {size} bytes, more than the {available} bytes of "
            "memory available; free some memory or use a smaller file"
        )


def _allocate(
    name: str,
    what: str,
    shape: tuple[int, ...],
    dtype: np.dtype,
    order: Literal["C", "F"] = "C",
) -> np.ndarray:
    """np.empty after _check_size; a MemoryError (a ulimit) becomes a ValueError."""
    size = math.prod(shape) * dtype.itemsize
    _check_size(name, what, size)
    try:
        return np.empty(shape, dtype, order=order)
    except MemoryError:
        raise ValueError(
            f"{name}: {what} takes {size} bytes, more than this process may allocate; "
            "free some memory or use a smaller file"
        ) from None


def _read_into(stream: IO[bytes] | gzip.GzipFile, array: np.ndarray) -> int:
    """Fill a contiguous array with bytes from stream; how many bytes were read
    (fewer than the array holds when the stream ends first)."""
    view = np.ravel(array, order="K").view(np.uint8).data
    filled = 0
    while filled < len(view):
        # a piece at a time: GzipFile.readinto reads the whole request into a
        # bytes object first, then copies it
        piece = view[filled : filled + _CHUNK_SIZE]
        count = stream.readinto(piece)  # type: ignore[union-attr]
        if not count:
            break
        filled += count
    return filled


class _Growing:
    """Rows appended block by block to an array of a given first capacity.

    Past it, the capacity doubles by copying into a fresh np.empty, whose pages
    beyond the copy stay untouched (``ndarray.resize`` would zero them); the
    result is trimmed in place, so unused capacity is never resident.
    """

    def __init__(self, dtype: Any, capacity: int, width: tuple[int, ...] = ()) -> None:
        self.array = np.empty((capacity, *width), dtype)
        self.size = 0

    def extend(self, rows: np.ndarray) -> None:
        end = self.size + len(rows)
        if end > len(self.array):
            capacity = (max(end, 2 * len(self.array)), *self.array.shape[1:])
            grown = np.empty(capacity, self.array.dtype)
            grown[: self.size] = self.array[: self.size]
            self.array = grown
        self.array[self.size : end] = rows
        self.size = end

    def result(self) -> np.ndarray:
        """The rows appended; trimming a large array frees its tail, copying nothing."""
        self.array.resize((self.size, *self.array.shape[1:]), refcheck=False)
        return self.array


def _row_capacity(path: Path, columns: int) -> int:
    """About as many rows as a CSV file has, counted without parsing it.

    Rows end in "\\n", "\\r" or both, so there are at most as many as line ends
    (more when quoted cells span lines); and a row of values takes at least two
    bytes a column, which bounds a file of blank lines.
    """
    if not path.is_file():  # a pipe: counting would consume it
        return _BLOCK_ROWS
    newlines = returns = 0
    with open(path, "rb") as file:
        while piece := file.read(_CHUNK_SIZE):
            newlines += piece.count(b"\n")
            returns += piece.count(b"\r")
    return min(max(newlines, returns), path.stat().st_size // (2 * columns)) + 1


def _encode_labels(labels: np.ndarray, what: str) -> tuple[np.ndarray, list[str]]:
    """Map class labels to indices in sorted order; return (y, class_names).

    Integer labels (also integers written as text, ``"3"`` or ``"3.0"``) sort
    numerically and are named ``str(int)``; other text labels sort as strings.
    """
    if labels.dtype.kind in "US":
        try:
            numbers = labels.astype(np.float64)
        except ValueError:
            values, y = np.unique(labels, return_inverse=True)
            return _checked_classes(y, [str(v) for v in values], what)
        labels = numbers
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError(
                f"{what} holds non-integer numbers; class labels must be integers or "
                "text"
            )
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "iub":
        raise TypeError(
            f"{what}: expected integer or text class labels, received dtype "
            f"{labels.dtype}"
        )
    values, y = np.unique(labels, return_inverse=True)
    return _checked_classes(y, [str(int(v)) for v in values], what)


def _checked_classes(
    y: np.ndarray, class_names: list[str], what: str
) -> tuple[np.ndarray, list[str]]:
    if len(class_names) < 2:
        raise ValueError(
            f"{what} has one class only ({class_names[0]!r}); a classifier needs "
            "examples of at least two classes"
        )
    return y.reshape(-1).astype(np.int64), class_names


def _as_numbers(labels: np.ndarray) -> np.ndarray | None:
    """The labels as float64 when every one is a number (also written as text)."""
    if labels.dtype.kind in "US":
        try:
            return labels.astype(np.float64)
        except ValueError:
            return None
    return labels.astype(np.float64) if labels.dtype.kind in "iubf" else None


def _is_regression_target(labels: np.ndarray) -> bool:
    """True for finite numbers that are not all integers (prices, not classes)."""
    numbers = _as_numbers(labels)
    return (
        numbers is not None
        and labels.dtype.kind in "USf"
        and bool(np.all(np.isfinite(numbers)))
        and bool(np.any(numbers != np.round(numbers)))
    )


def choose_task(labels: np.ndarray, rows: int, column: str) -> tuple[str, str]:
    """What ``task="auto"`` reads a target column as: ``("regression", why)`` or
    ``("classes", why)``; ``why`` is empty for text labels.

    Numbers that are not all whole are a regression target. Whole numbers are
    one too (ages, counts, prices in dollars) when they take more than
    AUTO_REGRESSION_MIN_VALUES distinct values and more than
    AUTO_REGRESSION_MIN_FRACTION of the rows; fewer are class labels.

    Parameters
    ----------
    labels : ndarray
        The column's labels, each distinct one at least once (text or numbers).
    rows : int
        The number of rows the column has.
    column : str
        Its name, for ``why``.

    Example
    -------
    >>> choose_task(np.arange(46), 300, "age")[0]
    'regression'
    """
    numbers = _as_numbers(labels)
    if numbers is None or not np.all(np.isfinite(numbers)):
        return "classes", ""
    if np.any(numbers != np.round(numbers)):
        return "regression", f"{column!r} holds numbers that are not whole"
    distinct = len(np.unique(numbers))
    values = f"{column!r} holds {distinct} distinct whole numbers"
    share = f"{AUTO_REGRESSION_MIN_FRACTION:.0%} of the {rows} rows"
    if distinct > max(AUTO_REGRESSION_MIN_VALUES, AUTO_REGRESSION_MIN_FRACTION * rows):
        return "regression", (
            f"{values}, more than {AUTO_REGRESSION_MIN_VALUES} and more than {share}"
        )
    return "classes", (
        f"{values}, not more than {AUTO_REGRESSION_MIN_VALUES} or not more than {share}"
    )


def _task(class_names: Sequence[str] | None) -> Task:
    if class_names is None:
        return "regression"
    return "binary" if len(class_names) == 2 else "multiclass"


# ---------------------------------------------------------------------------- CSV


def load_csv(
    path: PathLike,
    target: str | None,
    class_names: Sequence[str] | None = None,
    task: str = "auto",
) -> Dataset:
    """Read a CSV file: a header row, numeric feature columns and a label column.

    Parameters
    ----------
    path : str or Path
        Comma-separated text file (UTF-8) whose first row names the columns.
    target : str or None
        Name of the label column; every other column is a feature. None reads
        unlabelled data (``y`` is empty), e.g. to predict.
    class_names : sequence of str, optional
        The classes a model was trained on (its ``class_names``), when reading data
        to evaluate or predict: labels are mapped to these indices instead of being
        collected from the file. Without it, labels become indices ``0..C-1`` in
        sorted order (integers numerically) and ``class_names`` keeps them as text.
    task : {"auto", "binary", "multiclass", "regression"}
        What the target column is. ``"auto"`` (see :func:`choose_task`): a
        regression target when it holds numbers that are not whole, or more than
        20 distinct whole numbers and more than 5% of the rows; class labels
        otherwise (binary for two). Ignored when ``class_names`` is given.

    Returns
    -------
    Dataset
        ``task`` is ``"binary"`` or ``"multiclass"`` for class labels and
        ``"regression"`` (float32 ``y``) for a numeric target; ``task_reason``
        says why ``"auto"`` chose it for numbers. Unlabelled data without
        ``class_names`` gets ``task="multiclass"`` as a placeholder (or
        ``"regression"`` when asked for): the model decides.

    Raises
    ------
    ValueError
        No header row; no column named ``target`` (the message lists the columns);
        a row with the wrong number of cells; a missing or non-numeric feature value
        (naming the column and the 1-based line); a missing label; one class only;
        a label not among ``class_names``; text after more than 65,536 different
        numbers in the target column; text in a ``"regression"`` target, other
        than two classes for ``"binary"``; data that does not fit in memory. The file
        is parsed a block of rows at a time, into float32 as it goes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pets.csv"
    >>> _ = path.write_text("weight,height,kind\\n4,30,cat\\n30,60,dog\\n5,25,cat\\n")
    >>> ds = load_csv(path, target="kind")
    >>> ds.y.tolist(), ds.class_names, ds.feature_names
    ([0, 1, 0], ['cat', 'dog'], ['weight', 'height'])
    """
    path = Path(path)
    if task not in TASKS:
        raise ValueError(f"load_csv: task must be one of {TASKS}, received: {task!r}")
    known = None if class_names is None else [str(name) for name in class_names]
    # utf-8-sig drops the byte-order mark Excel writes in front of the header.
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, skipinitialspace=True)
        try:
            header = _read_header(path, next(reader, None))
            target_index = _target_index(path, header, target)
            feature_names = [name for name in header if name != target]
            capacity = _row_capacity(path, len(header))
            X = _Growing(np.float32, capacity, (len(feature_names),))
            labels: _Labels | _KnownLabels | None = None
            if target_index is not None:
                name = header[target_index]
                labels = (
                    _Labels(path, name, target_index, capacity)
                    if known is None
                    else _KnownLabels(path, name, target_index, capacity, known)
                )
            for rows, lines in _blocks(path, reader, len(header)):
                if labels is None:
                    X.extend(_parse_features(path, rows, lines, feature_names))
                    continue
                # the label cells leave the rows, which keep the feature cells
                texts = [row.pop(labels.column).strip() for row in rows]
                X.extend(_parse_features(path, rows, lines, feature_names))
                labels.extend(texts, lines)
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{path.name} is not UTF-8 text ({err.reason}); save it as CSV UTF-8"
            ) from None
        except csv.Error as err:
            raise ValueError(
                f"{path.name}: malformed CSV on line {reader.line_num}: {err}"
            ) from None
        except MemoryError:
            raise ValueError(
                f"{path.name}: its {reader.line_num} lines of values do not fit in the "
                "memory available; free some memory or use a smaller file"
            ) from None
    if X.size == 0:
        raise ValueError(f"{path.name} has a header row but no data rows")

    reason = ""
    if labels is None:
        y = np.zeros(0, dtype=np.int64)
        found: Task = "regression" if task == "regression" else "multiclass"
        if known is not None:
            found = _task(known)
    elif isinstance(labels, _KnownLabels):
        y, found = labels.codes.result(), _task(known)
    else:
        y, known, found, reason = labels.encode(task)
    description = f"{path.name}: {X.size} rows, {len(feature_names)} features"
    if target is not None:
        description += f", target {target!r}"
    return Dataset(
        name=path.stem,
        X=X.result(),
        y=y,
        feature_names=feature_names,
        class_names=known,
        task=found,
        description=description,
        task_reason=reason,
    )


def _read_header(path: Path, header: list[str] | None) -> list[str]:
    """The column names, checked: present, not data, named, unique."""
    if header is None or not any(cell.strip() for cell in header):
        raise ValueError(
            f"{path.name} is empty; expected a header row naming the columns, then one "
            "row per sample"
        )
    header = [name.strip() for name in header]
    if all(_is_number(name) for name in header):
        raise ValueError(
            f"{path.name}: the first line ({', '.join(header)}) looks like data; add a "
            "header row naming the columns"
        )
    for position, name in enumerate(header, start=1):
        if not name:
            raise ValueError(
                f"{path.name}: column {position} has no name in the header row; name it"
            )
        if header.count(name) > 1:
            raise ValueError(
                f"{path.name}: column name {name!r} appears {header.count(name)} times "
                "in the header row; column names must be unique"
            )
    return header


def _target_index(path: Path, header: list[str], target: str | None) -> int | None:
    if target is not None and target not in header:
        hint = ""
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            hint = (
                " (the file does not look comma-separated: save it as CSV with commas)"
            )
        raise ValueError(
            f"{path.name}: no column named {target!r}; columns are: "
            f"{', '.join(header)}{hint}. Pass the name of the label column "
            "(target= in Python, --target at the command line)"
        )
    if len(header) == 1 and target is not None:
        raise ValueError(
            f"{path.name}: only the target column {target!r}; add feature columns"
        )
    return None if target is None else header.index(target)


def _blocks(
    path: Path, reader: Any, width: int
) -> Iterator[tuple[list[list[str]], list[int]]]:
    """The non-blank rows, _BLOCK_ROWS at a time, with each one's 1-based line."""
    rows: list[list[str]] = []
    lines: list[int] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            raise ValueError(
                f"{path.name}: line {reader.line_num} has {len(row)} values but the "
                f"header has {width} columns; every row needs one value per column"
            )
        rows.append(row)
        lines.append(reader.line_num)
        if len(rows) == _BLOCK_ROWS:
            yield rows, lines
            rows, lines = [], []
    if rows:
        yield rows, lines


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# Features are float32: a larger cell would become inf.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _parse_features(
    path: Path, rows: list[list[str]], lines: list[int], names: list[str]
) -> np.ndarray:
    """One block's feature cells (a row of them per line) as float32."""
    try:
        # Fast path: NumPy converts the whole block at once (parsing each cell as
        # float() does); the cell-by-cell loop below runs only when that fails, to
        # name the first bad cell.
        values = np.array(rows, dtype=np.float64).reshape(len(rows), len(names))
        if values.size == 0 or np.max(np.abs(values)) <= _FLOAT32_MAX:  # NaN: False
            return values.astype(np.float32)
    except ValueError:
        pass
    values = np.empty((len(rows), len(names)), dtype=np.float64)
    for i, (row, line) in enumerate(zip(rows, lines, strict=True)):
        for k, (cell, name) in enumerate(zip(row, names, strict=True)):
            values[i, k] = _parse_cell(path, cell.strip(), name, line)
    return values.astype(np.float32)


def _parse_cell(path: Path, cell: str, column: str, line: int) -> float:
    if cell.lower() in MISSING_TOKENS:
        raise ValueError(
            f"{path.name}: column {column!r} has a missing value on line {line}; "
            "fill it in or drop the row"
        )
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(
            f"{path.name}: column {column!r} is not numeric: {cell!r} on line {line}; "
            "feature columns must hold numbers, so encode it as numbers (e.g. one 0/1 "
            "column per category) or drop the column"
        ) from None
    if not math.isfinite(value):
        raise ValueError(
            f"{path.name}: column {column!r} holds {cell!r} on line {line}; feature "
            "values must be finite numbers"
        )
    if abs(value) > _FLOAT32_MAX:
        raise ValueError(
            f"{path.name}: column {column!r} holds {cell!r} on line {line}, too large "
            f"for float32 (the largest is {_FLOAT32_MAX:.4g}); scale the column or "
            "drop the row"
        )
    return value


class _LabelColumn:
    """The target column of a CSV, read a block of rows at a time."""

    def __init__(self, path: Path, target: str, column: int) -> None:
        self.path, self.target, self.column = path, target, column

    def _refuse_missing(self, labels: list[str], lines: list[int]) -> None:
        if not all(labels):  # only an empty cell: "none" or "NA" can be a class
            raise ValueError(
                f"{self.path.name}: target column {self.target!r} has a missing label "
                f"on line {lines[labels.index('')]}; fill it in or drop the row"
            )


class _KnownLabels(_LabelColumn):
    """A CSV's labels mapped to a model's class names as they are read."""

    def __init__(
        self,
        path: Path,
        target: str,
        column: int,
        capacity: int,
        class_names: list[str],
    ) -> None:
        super().__init__(path, target, column)
        self.class_names = class_names
        self.index = {name: i for i, name in enumerate(class_names)}
        self.codes = _Growing(np.int64, capacity)

    def extend(self, labels: list[str], lines: list[int]) -> None:
        self._refuse_missing(labels, lines)
        codes = [
            self._class(label, line) for label, line in zip(labels, lines, strict=True)
        ]
        self.codes.extend(np.array(codes, dtype=np.int64))

    def _class(self, label: str, line: int) -> int:
        key = label
        if key not in self.index and _is_number(key) and float(key).is_integer():
            key = str(int(float(key)))  # "1.0" in the file, "1" in class_names
        if key not in self.index:
            raise ValueError(
                f"{self.path.name}: label {label!r} in column {self.target!r} on line "
                f"{line} is not one of the model's classes: "
                f"{', '.join(self.class_names)}"
            )
        return self.index[key]


class _Labels(_LabelColumn):
    """A CSV's target column, read block by block without a string per row.

    Each label is kept as the index of its distinct text (``codes`` into
    ``texts``) and, while every label is a number, as that number too. Once a
    column of numbers holds more than _MAX_TEXT_LABELS distinct values, only the
    numbers are kept: it is a regression target (or integer classes).
    """

    def __init__(self, path: Path, target: str, column: int, capacity: int) -> None:
        super().__init__(path, target, column)
        self.texts: dict[str, int] | None = {}  # None once only numbers are kept
        self.codes = _Growing(np.int32, capacity)
        self.all_numbers = True
        self.numbers = _Growing(np.float64, capacity)

    def extend(self, labels: list[str], lines: list[int]) -> None:
        self._refuse_missing(labels, lines)
        if self.all_numbers:
            try:
                self.numbers.extend(np.array(labels, dtype=np.float64))
            except ValueError:
                self.all_numbers, self.numbers = False, _Growing(np.float64, 0)
        if self.texts is None:
            if not self.all_numbers:
                self._refuse_text_among_numbers(labels, lines)
            return
        codes = [self.texts.setdefault(label, len(self.texts)) for label in labels]
        self.codes.extend(np.array(codes, dtype=np.int32))
        if len(self.texts) > _MAX_TEXT_LABELS and self.all_numbers:
            self.texts, self.codes = None, _Growing(np.int32, 0)

    def _refuse_text_among_numbers(self, labels: list[str], lines: list[int]) -> None:
        label, line = next(
            (
                pair
                for pair in zip(labels, lines, strict=True)
                if not _is_number(pair[0])
            ),
            (labels[0], lines[0]),
        )
        raise ValueError(
            f"{self.path.name}: target column {self.target!r} holds more than "
            f"{_MAX_TEXT_LABELS} different numbers, then the text {label!r} on line "
            f"{line}; a numeric target needs a number on every row: fix or drop it"
        )

    def encode(self, task: str) -> tuple[np.ndarray, list[str] | None, Task, str]:
        """(y, class_names, task, why auto chose it), as if every label had been
        kept as text; ``task`` is load_csv's."""
        codes: np.ndarray | None = None
        if self.texts is None:
            values = self.numbers.result()
        else:  # each distinct label once, and a code per row
            values, codes = np.array(list(self.texts)), self.codes.result()
        rows = len(values) if codes is None else len(codes)
        reason = ""
        if task == "auto":
            chosen, reason = choose_task(values, rows, self.target)
        else:
            chosen = "regression" if task == "regression" else "classes"
        what = f"{self.path.name}: column {self.target!r}"
        if chosen == "regression":
            numbers = _as_numbers(values)
            if numbers is None:
                text = next(str(label) for label in values if not _is_number(label))
                raise ValueError(
                    f"{what} holds the text {text!r}; a regression target needs a "
                    "number on every row"
                )
            y = numbers.astype(np.float32)
            return (y if codes is None else y[codes]), None, "regression", reason
        y, class_names = _encode_labels(values, what)
        found = _task(class_names)
        if task == "binary" and found != "binary":
            raise ValueError(
                f"{what} holds {len(class_names)} classes; task binary needs two "
                "(use multiclass)"
            )
        if task == "multiclass":
            found = "multiclass"
        return (y if codes is None else y[codes]), class_names, found, reason


# ---------------------------------------------------------------------------- NPZ


def load_npz(path: PathLike, x_key: str = "X", y_key: str | None = "y") -> Dataset:
    """Read features and labels from a NumPy ``.npz`` archive (never unpickling).

    Parameters
    ----------
    path : str or Path
        File written by ``np.savez(path, X=..., y=...)``.
    x_key : str, default "X"
        Key of the features, shape (n_samples, ...); extra dimensions (images) are
        flattened.
    y_key : str or None, default "y"
        Key of the labels, shape (n_samples,); None reads unlabelled data.

    Returns
    -------
    Dataset
        Integer or text labels become class indices in sorted order (``class_names``
        keeps them as text); non-integer numbers make a regression target.

    Raises
    ------
    ValueError
        Not a readable ``.npz``; a key missing (the message lists the keys present);
        object arrays; a damaged member (naming it: no .npy header, a shape its
        bytes do not hold, a bad checksum); an array larger than ``MAX_ARRAY_BYTES``
        or the memory available, found from its header before it is read;
        non-numeric or non-finite features; mismatched lengths; one class only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "xor.npz"
    >>> np.savez(path, X=np.eye(2), y=np.array([3, 7]))
    >>> ds = load_npz(path)
    >>> ds.y.tolist(), ds.class_names
    ([0, 1], ['3', '7'])
    """
    path = Path(path)
    how = f"write it with np.savez(path, {x_key}=features, {y_key or 'y'}=labels)"
    with open(path, "rb") as file:
        if file.read(6) == b"\x93NUMPY":  # np.save's magic string
            raise ValueError(
                f"{path.name} holds a single array, not an .npz archive; {how}"
            )
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:
        raise ValueError(
            f"{path.name} is not a readable .npz archive ({err}); {how}"
        ) from None
    with archive:
        X = _read_npz_array(path, archive, x_key, "x_key")
        y = _read_npz_array(path, archive, y_key, "y_key") if y_key else None
    if X.dtype.kind not in "biuf" or X.ndim < 2:
        raise ValueError(
            f"{path.name}: {x_key!r} must be numbers of shape (n_samples, n_features), "
            f"received dtype {X.dtype} and shape {X.shape}"
        )
    X = X.reshape(len(X), -1).astype(np.float32)
    bad_rows = np.flatnonzero(~np.all(np.isfinite(X), axis=1))
    if len(bad_rows):
        raise ValueError(
            f"{path.name}: {x_key!r} has NaN or infinite values in {len(bad_rows)} rows "
            f"(first: row {bad_rows[0]}); fill them in or drop those rows"
        )
    class_names: list[str] | None = None
    task: Task = "multiclass"
    if y is None:
        y = np.zeros(0, dtype=np.int64)
    else:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(
                f"{path.name}: expected {y_key!r} of shape ({len(X)},), one label per "
                f"row of {x_key!r}, received shape {y.shape}"
            )
        if _is_regression_target(y):
            y, task = y.astype(np.float32), "regression"
        else:
            y, class_names = _encode_labels(y, f"{path.name}: {y_key!r}")
            task = _task(class_names)
    return Dataset(
        name=path.stem,
        X=X,
        y=y,
        feature_names=[f"x{i + 1}" for i in range(X.shape[1])],
        class_names=class_names,
        task=task,
        description=f"{path.name}: {len(X)} samples, {X.shape[1]} features",
    )


# Readers of a .npy header by format version (np.save writes 3.0 only for
# structured dtypes with non-Latin-1 field names, which are no features anyway).
_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _read_npz_array(
    path: Path, archive: zipfile.ZipFile, key: str, parameter: str
) -> np.ndarray:
    """One array of the archive, its .npy header checked before anything is
    allocated: the shape it declares must fit the member and MAX_ARRAY_BYTES."""
    members = {name.removesuffix(".npy"): name for name in archive.namelist()}
    if key not in members:
        raise ValueError(
            f"{path.name} has no array {key!r}; it holds: {', '.join(members)}. "
            f"Pass the right name as {parameter}"
        )
    member = members[key]
    damaged = f"{path.name} is damaged: its array {key!r} (the member {member!r})"
    try:
        with archive.open(member) as stream:
            try:
                version = np.lib.format.read_magic(stream)
                if version not in _NPY_HEADERS:
                    raise ValueError(f".npy format version {version}")
                shape, fortran_order, dtype = _NPY_HEADERS[version](stream)
            except ValueError as err:
                raise ValueError(
                    f"{damaged} has no readable .npy header ({err}); write it again "
                    "with np.savez"
                ) from None
            if dtype.hasobject:
                raise ValueError(
                    f"{path.name}: {key!r} is an object array, which cannot be read "
                    "without unpickling (unsafe); save numbers or fixed-width strings "
                    "instead"
                )
            size = math.prod(shape) * dtype.itemsize
            stored = archive.getinfo(member).file_size - stream.tell()
            if size != stored:
                raise ValueError(
                    f"{damaged} declares shape {shape} of {dtype}, {size} bytes, but "
                    f"holds {stored}; write it again with np.savez"
                )
            array = _allocate(
                path.name,
                f"its array {key!r} of shape {shape} and dtype {dtype}",
                shape,
                dtype,
                "F" if fortran_order else "C",
            )
            if _read_into(stream, array) != size:
                raise ValueError(
                    f"{damaged} is cut short; write it again with np.savez"
                )
    # a damaged stream, or one compressed or encrypted as np.savez never does
    except (
        EOFError,
        OSError,
        zipfile.BadZipFile,
        zlib.error,
        lzma.LZMAError,
        NotImplementedError,
        RuntimeError,
    ) as err:
        raise ValueError(f"{damaged} ({err}); write it again with np.savez") from None
    return array


# ---------------------------------------------------------------------------- IDX

# The third byte of an IDX file's magic number; all data is big-endian.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (the format of MNIST), plain or gzip-compressed.

    The file is a 4-byte magic number ``0, 0, dtype code, ndim``, then ``ndim``
    big-endian uint32 sizes, then the data in C order, big-endian.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray
        In native byte order, with the shape the header gives.

    Raises
    ------
    ValueError
        A bad magic number, an unknown dtype code, a damaged gzip stream, a file
        whose length does not match its header (truncated or with extra bytes), or
        a header declaring more than ``MAX_ARRAY_BYTES`` or the memory available.
        A gzip stream is decompressed as it is read, and no further than the
        header says and one piece more, so a small "gzip bomb" stays small.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
    >>> _ = write_idx(path, np.array([5, 0, 4], dtype=np.uint8))
    >>> read_idx(path).tolist()
    [5, 0, 4]
    """
    return _read_idx(Path(path))


def _read_idx(
    path: Path, check: Callable[[tuple[int, ...], np.dtype], None] | None = None
) -> np.ndarray:
    """read_idx, calling ``check(shape, dtype)`` after the header, before the data."""
    with open(path, "rb") as file:
        if file.peek(2)[:2] != b"\x1f\x8b":  # gzip's magic number
            size = path.stat().st_size if path.is_file() else None
            return _read_idx_stream(path, file, size, check)
        try:
            with gzip.GzipFile(fileobj=file) as stream:
                return _read_idx_stream(path, stream, None, check)
        except (EOFError, OSError, zlib.error) as err:
            raise ValueError(
                f"{path.name} is a damaged gzip file ({err}); download it again"
            ) from None


def _read_idx_stream(
    path: Path,
    stream: IO[bytes] | gzip.GzipFile,
    size: int | None,
    check: Callable[[tuple[int, ...], np.dtype], None] | None,
) -> np.ndarray:
    """An IDX array from a stream of ``size`` bytes (None: unknown, as gzip's).

    The header comes first and the data's size is checked against it (a plain
    file's length, MAX_ARRAY_BYTES, the free memory) before the data is read; a
    gzip stream is decompressed only as far as the header says, plus a piece.
    """
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"{path.name} is not an IDX file: it must start with two zero bytes, "
            f"received {magic!r}"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in IDX_DTYPES.items())
        raise ValueError(
            f"{path.name}: unknown IDX dtype code 0x{code:02X}; known codes: {known}"
        )
    sizes = stream.read(4 * ndim)
    header_size = 4 + 4 * ndim
    if len(sizes) < 4 * ndim:
        raise ValueError(
            f"{path.name} is truncated: its header declares {ndim} dimensions but the "
            f"file has only {4 + len(sizes)} bytes; download it again"
        )
    shape = tuple(int(s) for s in np.frombuffer(sizes, ">u4"))
    dtype = IDX_DTYPES[code]
    if size is not None:  # a plain file: its length says how much data follows
        _check_idx_length(path, shape, dtype, size - header_size)
    if check is not None:
        check(shape, dtype)
    data = _allocate(
        path.name, f"its data, shape {shape} of {dtype.name},", shape, dtype
    )
    _check_idx_length(path, shape, dtype, _read_into(stream, data))
    after = len(stream.read(_CHUNK_SIZE))  # stop a gzip bomb a piece past the data
    if after:
        more = "more than " if stream.read(1) else ""
        _check_idx_length(path, shape, dtype, data.nbytes + after, more)
    return data.astype(dtype.newbyteorder("="), copy=False)


def _check_idx_length(
    path: Path, shape: tuple[int, ...], dtype: np.dtype, found: int, more: str = ""
) -> None:
    """Refuse ``found`` bytes of data (``more`` than that) where the header says
    shape x itemsize."""
    expected = math.prod(shape) * dtype.itemsize
    if found < expected:
        raise ValueError(
            f"{path.name} is truncated: shape {shape} of {dtype.name} needs "
            f"{expected} bytes of data, the file has {found}; download it again"
        )
    if found > expected:
        raise ValueError(
            f"{path.name} has {more}{found - expected} bytes after the data its header "
            f"describes (shape {shape} of {dtype.name}); it is not a valid IDX file"
        )


def write_idx(path: PathLike, array: np.ndarray) -> Path:
    """Write an array as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    Parameters
    ----------
    path : str or Path
    array : ndarray
        uint8, int8, int16, int32, float32 or float64, 1 to 255 dimensions.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    TypeError
        For a dtype IDX cannot store.
    ValueError
        For a 0-d array or one with more than 255 dimensions.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        supported = ", ".join(d.name for d in IDX_DTYPES.values())
        raise TypeError(
            f"IDX files store {supported}; received dtype {array.dtype}. Cast first"
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(
            f"IDX files store 1 to 255 dimensions, received shape {array.shape}"
        )
    content = (
        bytes([0, 0, code, array.ndim])
        + np.array(array.shape, dtype=">u4").tobytes()
        + array.astype(IDX_DTYPES[code]).tobytes()
    )
    if path.name.endswith(".gz"):
        content = gzip.compress(content, mtime=0)
    path.write_bytes(content)
    return path


def load_idx(images_path: PathLike, labels_path: PathLike | None = None) -> Dataset:
    """Read MNIST-style IDX files: images (n, rows, cols, ...) and labels (n,).

    Parameters
    ----------
    images_path : str or Path
        IDX file of samples (``.gz`` compressed or not); each sample is flattened.
        uint8 pixels are scaled to [0, 1].
    labels_path : str or Path, optional
        IDX file of integer labels, one per image; None reads unlabelled images.

    Returns
    -------
    Dataset
        float32 ``X`` of shape (n, rows * cols * ...), labels as class indices in
        sorted order with ``class_names`` their values as text.

    Raises
    ------
    ValueError
        Everything :func:`read_idx` raises; images whose float32 features would
        take more than ``MAX_ARRAY_BYTES`` or the memory available (checked from
        the header); an images file of one dimension; labels that are not 1-D
        integers or not one per image; one class only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> images = write_idx(folder / "images.idx", np.zeros((2, 3, 3), np.uint8))
    >>> labels = write_idx(folder / "labels.idx", np.array([1, 7], np.uint8))
    >>> ds = load_idx(images, labels)
    >>> ds.X.shape, ds.class_names
    ((2, 9), ['1', '7'])
    """
    images_path = Path(images_path)

    def check_features(shape: tuple[int, ...], dtype: np.dtype) -> None:
        _check_size(
            images_path.name, "its images as float32 features", 4 * math.prod(shape)
        )

    images = _read_idx(images_path, check_features)
    if images.ndim < 2:
        raise ValueError(
            f"{images_path.name} holds a 1-D array of shape {images.shape}, which "
            "looks like labels; pass the images file first and labels as labels_path"
        )
    X = _allocate(
        images_path.name,
        "its images as float32 features",
        (len(images), math.prod(images.shape[1:])),
        np.dtype(np.float32),
    )
    X[...] = images.reshape(X.shape)
    if images.dtype == np.uint8:
        X /= 255.0
    y = np.zeros(0, dtype=np.int64)
    class_names: list[str] | None = None
    if labels_path is not None:
        labels_path = Path(labels_path)
        labels = read_idx(labels_path)
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(
                f"{labels_path.name}: expected 1-D integer labels, received "
                f"{labels.dtype} of shape {labels.shape}"
            )
        if len(labels) != len(images):
            raise ValueError(
                f"{labels_path.name} has {len(labels)} labels but "
                f"{images_path.name} has {len(images)} images; they must match"
            )
        y, class_names = _encode_labels(labels, labels_path.name)
    feature_names = [
        "pixel_" + "_".join(map(str, index)) for index in np.ndindex(images.shape[1:])
    ]
    return Dataset(
        name=images_path.name.removesuffix(".gz").split(".")[0],
        X=X,
        y=y,
        feature_names=feature_names,
        class_names=class_names,
        task=_task(class_names) if class_names is not None else "multiclass",
        description=(
            f"{images_path.name}: {len(images)} samples of shape {images.shape[1:]}"
        ),
    )
