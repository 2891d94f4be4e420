"""The playground's data: 2-D sets, drawn points, uploaded CSVs, and the plane
the page draws them on.

Built-in sets come from :func:`deepgrad.data.load_dataset` and uploaded files
from :func:`deepgrad.data.load_csv` (so a bad file gets the command line's own
message, naming the column and the line); the function boundaries (points above
or below y = f(x)) and the clicked points are made here. Data with more than two
features (iris, wine, digits, a wide CSV) is shown on the plane of its first two
principal components.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepgrad.data import Dataset, load_csv, load_dataset
from deepgrad.playground.config import Limits, RunConfig

# name -> (what the picker shows, kind, the noise it starts with): gate and fixed
# sets are built-in as they are, generated ones take samples, noise and a seed
# (load_dataset's defaults), functions are made here
DATASETS: dict[str, tuple[str, str, float]] = {
    "xor": ("XOR (the lab's 4 points)", "gate", 0.0),
    "and": ("AND", "gate", 0.0),
    "or": ("OR", "gate", 0.0),
    "circles": ("Circles", "generated", 0.05),
    "moons": ("Moons", "generated", 0.1),
    "spirals": ("Spirals", "generated", 0.05),
    "gauss": ("Two Gaussians", "generated", 1.0),
    "blobs": ("Three blobs (3 classes)", "generated", 1.0),
    "sine": ("Above/below y = sin(2x)", "function", 0.1),
    "cubic": ("Above/below y = x³/2 - 3x/2", "function", 0.1),
    "abs": ("Above/below y = |x| - 1", "function", 0.1),
    "iris": ("Iris (4 features, projected)", "fixed", 0.0),
    "wine": ("Wine (13 features, projected)", "fixed", 0.0),
    "digits": ("Digits (64 features, projected)", "fixed", 0.0),
    "custom": ("Your points (click the plane)", "custom", 0.0),
    "csv": ("Your CSV file", "csv", 0.0),
}

# y = f(x) on x in [-2, 2]: class 1 above the curve, class 0 below
BOUNDARIES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": lambda x: np.sin(2 * x),
    "cubic": lambda x: 0.5 * x**3 - 1.5 * x,
    "abs": lambda x: np.abs(x) - 1,
}


def function_boundary(name: str, n_samples: int, noise: float, seed: int) -> Dataset:
    """Points uniform on [-2, 2]², labelled 1 above y = f(x) and 0 below, then
    moved by Gaussian noise of standard deviation ``noise`` (as moons are).

    Example
    -------
    >>> function_boundary("sine", 100, 0.0, 0).X.shape
    (100, 2)
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n_samples, 2))
    y = (X[:, 1] > BOUNDARIES[name](X[:, 0])).astype(np.int64)
    X = X + noise * rng.standard_normal(X.shape)
    return Dataset(
        name=name,
        X=X.astype(np.float32),
        y=y,
        feature_names=["x1", "x2"],
        class_names=["0", "1"],
        task="binary",
        description=DATASETS[name][0],
    )


def clicked_points(points: Any) -> Dataset:
    """The points drawn on the page, ``[x, y, class]`` each.

    Raises
    ------
    ValueError
        For fewer than 4 points, one class only, or a class number left out.
    """
    if len(points) < 4:
        raise ValueError(
            f"points: click at least 4 points (2 classes), received: {len(points)}"
        )
    X = np.array([[x, y] for x, y, _ in points], dtype=np.float32)
    y = np.array([label for _, _, label in points], dtype=np.int64)
    present = sorted(set(y.tolist()))
    if len(present) < 2:
        raise ValueError("points: all points are of one class; add a second class")
    missing = sorted(set(range(present[-1] + 1)) - set(present))
    if missing:
        raise ValueError(
            f"points: class {missing[0]} has no point, but class {present[-1]} has; "
            "number the classes from 0 without gaps"
        )
    n_classes = present[-1] + 1
    return Dataset(
        name="points",
        X=X,
        y=y,
        feature_names=["x1", "x2"],
        class_names=[str(label) for label in range(n_classes)],
        task="binary" if n_classes == 2 else "multiclass",
        description="points clicked on the page",
    )


@dataclass(frozen=True)
class Upload:
    """A CSV file sent by the page, kept in memory: its name, bytes and columns."""

    filename: str
    content: bytes
    columns: tuple[str, ...]

    def dataset(self, target: str | None, limits: Limits) -> Dataset:
        """The file read by :func:`deepgrad.data.load_csv` with ``target`` as the
        label column (default: the last), from a private temporary folder.

        Raises
        ------
        ValueError
            load_csv's errors (a missing column, a bad cell named by column and
            line, ...), and a file with more rows than ``limits.max_samples``.
        """
        target = target or self.columns[-1]
        with tempfile.TemporaryDirectory(prefix="deepgrad-upload-") as folder:
            path = Path(folder) / self.filename
            path.write_bytes(self.content)
            dataset = load_csv(path, target)
        if dataset.n_samples > limits.max_samples:
            raise ValueError(
                f"{self.filename}: {dataset.n_samples:,} rows; this server takes at "
                f"most {limits.max_samples:,} (--max-samples)"
            )
        return dataset


def read_upload(filename: str, content: bytes, limits: Limits) -> Upload:
    """Check an uploaded CSV's size and header row; nothing is written to disk.

    Raises
    ------
    ValueError
        For a file over ``limits.max_upload_bytes``, not UTF-8 text, or without
        a header row of at least two columns.
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename or "upload.csv").name)
    name = name if name.lower().endswith(".csv") else f"{name or 'upload'}.csv"
    if len(content) > limits.max_upload_bytes:
        raise ValueError(
            f"{name}: {len(content):,} bytes; this server takes files up to "
            f"{limits.max_upload_bytes:,} bytes (--max-upload-bytes)"
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{name}: not UTF-8 text (byte {error.start + 1}); save it as a UTF-8 CSV"
        ) from None
    header = next(csv.reader(io.StringIO(text)), [])
    columns = tuple(column.strip() for column in header)
    if len(columns) < 2 or not all(columns):
        raise ValueError(
            f"{name}: the first row should name the columns (at least a feature and "
            f"a label), received: {','.join(header)!r}"
        )
    return Upload(name, content, columns)


def make_dataset(config: RunConfig, upload: Upload | None, limits: Limits) -> Dataset:
    """The config's data.

    Raises
    ------
    ValueError
        For data that cannot be made or read, naming why.
    """
    kind = DATASETS[config.dataset][1]
    if kind == "csv":
        if upload is None:
            raise ValueError("csv: upload a CSV file first (the file button)")
        return upload.dataset(config.target, limits)
    if kind == "custom":
        return clicked_points(config.points)
    if kind == "function":
        return function_boundary(
            config.dataset, config.samples, config.noise, config.data_seed
        )
    if kind == "generated":
        return load_dataset(
            config.dataset,
            n_samples=config.samples,
            noise=config.noise,
            seed=config.data_seed,
        )
    return load_dataset(config.dataset)


def builtin_name(config: RunConfig, dataset: Dataset) -> str | None:
    """The name ``deepgrad train`` knows this data by, or None: a built-in set at
    the command line's defaults (it takes no samples, noise or seed)."""
    if DATASETS[config.dataset][1] not in ("gate", "generated", "fixed"):
        return None
    default = load_dataset(config.dataset)
    same = default.X.shape == dataset.X.shape and np.array_equal(default.X, dataset.X)
    return config.dataset if same else None


def dataset_csv(dataset: Dataset, target: str = "label") -> str:
    """The data as a CSV that :func:`load_csv` reads back to the same arrays:
    float32 values written in full (``repr``), labels as their class names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*dataset.feature_names, target])
    labels: list[Any]
    if dataset.class_names is None:
        labels = [repr(float(value)) for value in dataset.y]
    else:
        labels = [dataset.class_names[index] for index in dataset.y]
    for row, label in zip(dataset.X.tolist(), labels, strict=True):
        writer.writerow([*(repr(float(np.float32(value))) for value in row), label])
    return buffer.getvalue()


class Plane:
    """The 2-D plane the page draws: the two features themselves, one feature
    across (its maps then vary left to right only), or the first two principal
    components of standardized data with more features.

    ``project`` maps feature rows to plane coordinates and ``lift`` maps plane
    points back to feature rows (the data's mean along the other components), so
    the model's output over the plane is its output on real inputs.
    """

    def __init__(self, X: np.ndarray, feature_names: list[str]) -> None:
        data = np.asarray(X, dtype=np.float64)
        self.n_features = data.shape[1]
        if self.n_features == 2:
            self.mean = np.zeros(2)
            self.scale = np.ones(2)
            self.axes = np.eye(2)
            self.labels = list(feature_names)
        elif self.n_features == 1:  # the feature across; the plane's height is no input
            self.mean = np.zeros(1)
            self.scale = np.ones(1)
            self.axes = np.array([[1.0], [0.0]])
            self.labels = [feature_names[0], "(not an input)"]
        else:
            # principal axes of the standardized data: Z = (X - mean) / scale,
            # plane = Z · V[:2]^T, from the SVD Z = U S V^T
            self.mean = data.mean(axis=0)
            self.scale = np.where(data.std(axis=0) > 0, data.std(axis=0), 1.0)
            standardized = (data - self.mean) / self.scale
            _, singular, vectors = np.linalg.svd(standardized, full_matrices=False)
            self.axes = vectors[:2]
            explained = singular**2 / max(float(np.sum(singular**2)), 1e-300)
            self.labels = [
                f"PC{index + 1} ({100 * explained[index]:.0f}% of the variance)"
                for index in range(2)
            ]
        points = self.project(data)
        low, high = points.min(axis=0), points.max(axis=0)
        pad = np.maximum((high - low) * 0.1, 0.25)
        self.extent = [
            float(low[0] - pad[0]),
            float(high[0] + pad[0]),
            float(low[1] - pad[1]),
            float(high[1] + pad[1]),
        ]

    @property
    def projected(self) -> bool:
        return self.n_features != 2

    def project(self, X: np.ndarray) -> np.ndarray:
        return (
            (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
        ) @ self.axes.T

    def lift(self, points: np.ndarray) -> np.ndarray:
        return (points @ self.axes) * self.scale + self.mean

    def grid(self, size: int) -> np.ndarray:
        """``size`` x ``size`` plane points, row by row from the top (largest y)."""
        xmin, xmax, ymin, ymax = self.extent
        xs = np.linspace(xmin, xmax, size)
        ys = np.linspace(ymax, ymin, size)
        column, row = np.meshgrid(xs, ys)
        return np.stack([column.ravel(), row.ravel()], axis=1)
