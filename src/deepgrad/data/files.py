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
import math
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deepgrad.data.datasets import Dataset, Task

PathLike = str | Path

# Cells a spreadsheet or pandas writes for "no value" in a numeric column.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


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


def _is_regression_target(labels: np.ndarray) -> bool:
    """True for finite numbers that are not all integers (prices, not classes)."""
    if labels.dtype.kind in "US":
        try:
            labels = labels.astype(np.float64)
        except ValueError:
            return False
    return (
        labels.dtype.kind == "f"
        and bool(np.all(np.isfinite(labels)))
        and bool(np.any(labels != np.round(labels)))
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

    Returns
    -------
    Dataset
        ``task`` is ``"binary"`` or ``"multiclass"`` for class labels and
        ``"regression"`` (float32 ``y``) when the target holds non-integer numbers.
        Unlabelled data without ``class_names`` gets ``task="multiclass"`` as a
        placeholder: the model decides.

    Raises
    ------
    ValueError
        No header row; no column named ``target`` (the message lists the columns);
        a row with the wrong number of cells; a missing or non-numeric feature value
        (naming the column and the 1-based line); a missing label; one class only;
        a label not among ``class_names``.

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
    header, rows, line_numbers = _read_csv_rows(path)
    if target is not None and target not in header:
        hint = ""
        if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
            hint = (
                " (the file does not look comma-separated: save it as CSV with commas)"
            )
        raise ValueError(
            f"{path.name}: no column named {target!r}; columns are: "
            f"{', '.join(header)}{hint}. Pass the name of the label column as target"
        )
    target_index = header.index(target) if target is not None else None
    feature_indices = [j for j in range(len(header)) if j != target_index]
    if not feature_indices:
        raise ValueError(
            f"{path.name}: only the target column {target!r}; add feature columns"
        )
    feature_names = [header[j] for j in feature_indices]
    X = _parse_features(path, rows, line_numbers, feature_indices, header)

    if target is None:
        y = np.zeros(0, dtype=np.int64)
        known = [str(n) for n in class_names] if class_names is not None else None
        task: Task = _task(known) if known is not None else "multiclass"
    else:
        labels = [row[header.index(target)].strip() for row in rows]
        for label, line in zip(labels, line_numbers, strict=True):
            # Only an empty cell: "none" or "NA" can be a class's real name.
            if not label:
                raise ValueError(
                    f"{path.name}: target column {target!r} has a missing label on "
                    f"line {line}; fill it in or drop the row"
                )
        if class_names is not None:
            known = [str(name) for name in class_names]
            y = _map_to_known_classes(path, target, labels, line_numbers, known)
            task = _task(known)
        elif _is_regression_target(np.array(labels)):
            known, task = None, "regression"
            y = np.array(labels).astype(np.float32)
        else:
            y, known = _encode_labels(
                np.array(labels), f"{path.name}: column {target!r}"
            )
            task = _task(known)
    description = f"{path.name}: {len(rows)} rows, {len(feature_names)} features"
    if target is not None:
        description += f", target {target!r}"
    return Dataset(
        name=path.stem,
        X=X,
        y=y,
        feature_names=feature_names,
        class_names=known,
        task=task,
        description=description,
    )


def _read_csv_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Return the header, the non-blank rows and each row's 1-based line number."""
    rows, line_numbers = [], []
    # utf-8-sig drops the byte-order mark Excel writes in front of the header.
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, skipinitialspace=True)
        try:
            header = next(reader, None)
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append(row)
                    line_numbers.append(reader.line_num)
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{path.name} is not UTF-8 text ({err.reason}); save it as CSV UTF-8"
            ) from None
        except csv.Error as err:
            raise ValueError(
                f"{path.name}: malformed CSV on line {reader.line_num}: {err}"
            ) from None
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
    if not rows:
        raise ValueError(f"{path.name} has a header row but no data rows")
    for row, line in zip(rows, line_numbers, strict=True):
        if len(row) != len(header):
            raise ValueError(
                f"{path.name}: line {line} has {len(row)} values but the header has "
                f"{len(header)} columns; every row needs one value per column"
            )
    return header, rows, line_numbers


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_features(
    path: Path,
    rows: list[list[str]],
    line_numbers: list[int],
    feature_indices: list[int],
    header: list[str],
) -> np.ndarray:
    cells = np.array([[row[j] for j in feature_indices] for row in rows], dtype=str)
    try:
        # Fast path: NumPy converts the whole table at once; the cell-by-cell loop
        # below runs only when that fails, to name the first bad cell.
        values = cells.astype(np.float64)
        if np.all(np.isfinite(values)):
            return values.astype(np.float32)
    except ValueError:
        pass
    values = np.empty(cells.shape, dtype=np.float64)
    for i, (row, line) in enumerate(zip(rows, line_numbers, strict=True)):
        for k, j in enumerate(feature_indices):
            values[i, k] = _parse_cell(path, row[j].strip(), header[j], line)
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
    return value


def _map_to_known_classes(
    path: Path,
    target: str,
    labels: list[str],
    line_numbers: list[int],
    class_names: list[str],
) -> np.ndarray:
    index = {name: i for i, name in enumerate(class_names)}
    y = np.empty(len(labels), dtype=np.int64)
    for row, (label, line) in enumerate(zip(labels, line_numbers, strict=True)):
        key = label
        if key not in index and _is_number(key) and float(key).is_integer():
            key = str(int(float(key)))  # "1.0" in the file, "1" in class_names
        if key not in index:
            raise ValueError(
                f"{path.name}: label {label!r} in column {target!r} on line {line} is "
                f"not one of the model's classes: {', '.join(class_names)}"
            )
        y[row] = index[key]
    return y


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
        object arrays; non-numeric or non-finite features; mismatched lengths; one
        class only.

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
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{path.name} is not a readable .npz archive ({err}); write it with "
            f"np.savez(path, {x_key}=features, {y_key or 'y'}=labels)"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{path.name} holds a single array, not an .npz archive; write it with "
            f"np.savez(path, {x_key}=features, {y_key or 'y'}=labels)"
        )
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


def _read_npz_array(path: Path, archive, key: str, parameter: str) -> np.ndarray:
    if key not in archive.files:
        raise ValueError(
            f"{path.name} has no array {key!r}; it holds: {', '.join(archive.files)}. "
            f"Pass the right name as {parameter}"
        )
    try:
        return archive[key]
    except ValueError:
        raise ValueError(
            f"{path.name}: {key!r} is an object array, which cannot be read without "
            "unpickling (unsafe); save numbers or fixed-width strings instead"
        ) from None
    except (EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(
            f"{path.name} is damaged ({err}); write it again with np.savez"
        ) from None


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
        A bad magic number, an unknown dtype code, a damaged gzip stream, or a file
        whose length does not match its header (truncated or with extra bytes).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
    >>> _ = write_idx(path, np.array([5, 0, 4], dtype=np.uint8))
    >>> read_idx(path).tolist()
    [5, 0, 4]
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic number
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise ValueError(
                f"{path.name} is a damaged gzip file ({err}); download it again"
            ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{path.name} is not an IDX file: it must start with two zero bytes, "
            f"received {raw[:4]!r}"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in IDX_DTYPES.items())
        raise ValueError(
            f"{path.name}: unknown IDX dtype code 0x{code:02X}; known codes: {known}"
        )
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"{path.name} is truncated: its header declares {ndim} dimensions but the "
            f"file has only {len(raw)} bytes; download it again"
        )
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - header_size
    if found < expected:
        raise ValueError(
            f"{path.name} is truncated: shape {shape} of {dtype.name} needs "
            f"{expected} bytes of data, the file has {found}; download it again"
        )
    if found > expected:
        raise ValueError(
            f"{path.name} has {found - expected} bytes after the data its header "
            f"describes (shape {shape} of {dtype.name}); it is not a valid IDX file"
        )
    data = np.frombuffer(raw, dtype, count=math.prod(shape), offset=header_size)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


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
        Everything :func:`read_idx` raises; an images file of one dimension; labels
        that are not 1-D integers or not one per image; one class only.

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
    images = read_idx(images_path)
    if images.ndim < 2:
        raise ValueError(
            f"{images_path.name} holds a 1-D array of shape {images.shape}, which "
            "looks like labels; pass the images file first and labels as labels_path"
        )
    X = images.reshape(len(images), -1).astype(np.float32)
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
