"""Built-in datasets: the lab's logic gates, 2-D playground sets, scikit-learn's small sets.

Every dataset is one call returning a :class:`Dataset`: float32 features, int64 class
indices and the names that map those indices back to what they mean. The generated
sets take ``n_samples``, ``noise`` and ``seed``. ``moons``, ``circles``, ``blobs`` and
``gauss`` are scikit-learn's ``make_moons``, ``make_circles`` and ``make_blobs``,
written here in NumPy draw for draw (the same ``RandomState`` calls in the same
order), so they give scikit-learn's points without needing it. Only the four real
sets (iris, wine, breast_cancer, digits) load from scikit-learn, the ``sklearn``
extra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Task = Literal["binary", "multiclass", "regression"]


@dataclass
class Dataset:
    """Features, targets and the metadata needed to read them back.

    Attributes
    ----------
    name : str
        Short name (``"xor"``, ``"iris"``, a file's stem).
    X : ndarray of float32, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
        int64 class indices ``0..C-1`` for classification, float32 for regression.
        Empty (shape ``(0,)``) for unlabelled data, e.g. a CSV read at predict time.
    feature_names : list of str
    class_names : list of str or None
        ``class_names[i]`` is the original label of class index ``i``.
    task : {"binary", "multiclass", "regression"}
    description : str
    task_reason : str
        Why a file's target was read as that task, when ``task="auto"`` chose it
        from whole numbers (``"'age' holds 46 distinct whole numbers, ..."``);
        empty otherwise.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D or ``y`` has neither ``n_samples`` nor zero entries.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    class_names: list[str] | None
    task: Task
    description: str = ""
    task_reason: str = ""

    def __post_init__(self) -> None:
        if self.X.ndim != 2:
            raise ValueError(
                f"Dataset {self.name!r}: expected X of shape (n_samples, n_features), "
                f"received shape {self.X.shape}"
            )
        if len(self.y) not in (0, len(self.X)):
            raise ValueError(
                f"Dataset {self.name!r}: X has {len(self.X)} samples but y has "
                f"{len(self.y)}; give one target per sample (or none)"
            )

    @property
    def n_samples(self) -> int:
        """Number of rows of ``X``."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of columns of ``X``."""
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int | None:
        """Number of classes (``len(class_names)``); None for regression."""
        if self.task == "regression":
            return None
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.y.max()) + 1 if len(self.y) else 0


# The lab's truth tables: inputs in this order, targets as class indices.
GATE_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]
GATE_OUTPUTS = {"xor": [0, 1, 1, 0], "and": [0, 0, 0, 1], "or": [0, 1, 1, 1]}


def _gate(name: str) -> Callable[..., Dataset]:
    def build() -> Dataset:
        return Dataset(
            name=name,
            X=np.array(GATE_INPUTS, dtype=np.float32),
            y=np.array(GATE_OUTPUTS[name], dtype=np.int64),
            feature_names=["x1", "x2"],
            class_names=["0", "1"],
            task="binary",
            description=f"{name.upper()} truth table (the lab's 4 points)",
        )

    return build


def _two_class_2d(name: str, X: np.ndarray, y: np.ndarray, description: str):
    return Dataset(
        name=name,
        X=X.astype(np.float32),
        y=y.astype(np.int64),
        feature_names=["x1", "x2"],
        class_names=["0", "1"],
        task="binary",
        description=description,
    )


# scikit-learn's generators, draw for draw: sklearn.datasets.make_moons,
# make_circles and make_blobs with shuffle=True and a float noise, seeded through
# check_random_state (an int seed is np.random.RandomState(seed)).
def _shuffled(X: np.ndarray, y: np.ndarray, generator: np.random.RandomState):
    """sklearn.utils.shuffle: one in-place shuffle of the row indices."""
    order = np.arange(len(X))
    generator.shuffle(order)
    return X[order], y[order]


def _two_arcs(
    x_out: np.ndarray,
    y_out: np.ndarray,
    x_in: np.ndarray,
    y_in: np.ndarray,
    noise: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Stack the outer (class 0) and inner (class 1) points, shuffle them, then add
    Gaussian noise of std ``noise`` to both coordinates (make_moons' last steps)."""
    generator = np.random.RandomState(seed)
    X = np.vstack([np.append(x_out, x_in), np.append(y_out, y_in)]).T
    y = np.hstack([np.zeros(len(x_out), np.intp), np.ones(len(x_in), np.intp)])
    X, y = _shuffled(X, y, generator)
    X += generator.normal(scale=noise, size=X.shape)
    return X, y


def _moons(n_samples: int, noise: float, seed: int) -> Dataset:
    # upper half circle (cos t, sin t) and lower one (1 - cos t, 1/2 - sin t),
    # t in [0, pi]; the second moon gets the odd point
    n_out = n_samples // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_samples - n_out)
    X, y = _two_arcs(
        np.cos(t_out),
        np.sin(t_out),
        1 - np.cos(t_in),
        1 - np.sin(t_in) - 0.5,
        noise,
        seed,
    )
    return _two_class_2d("moons", X, y, "two interleaving half circles")


def _circles(n_samples: int, noise: float, seed: int, factor: float = 0.5) -> Dataset:
    # unit circle (class 0) around one of radius `factor` (class 1), angles in
    # [0, 2 pi) without the endpoint, so no point repeats
    n_out = n_samples // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_samples - n_out, endpoint=False)
    X, y = _two_arcs(
        np.cos(t_out),
        np.sin(t_out),
        np.cos(t_in) * factor,
        np.sin(t_in) * factor,
        noise,
        seed,
    )
    return _two_class_2d("circles", X, y, "a small circle inside a large one")


def _make_blobs(
    n_samples: int,
    centers: np.ndarray | int,
    std: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """make_blobs in 2-D: ``centers`` given, or that many drawn uniformly from the
    box [-10, 10]^2; ``n_samples // n_centers`` Gaussian points of std ``std``
    around each (the first ``n_samples % n_centers`` centers get one more)."""
    generator = np.random.RandomState(seed)
    if isinstance(centers, int):
        centers = generator.uniform(-10.0, 10.0, size=(centers, 2))
    counts = [n_samples // len(centers)] * len(centers)
    for i in range(n_samples % len(centers)):
        counts[i] += 1
    X = np.vstack(
        [
            generator.normal(loc=center, scale=std, size=(count, 2))
            for center, count in zip(centers, counts, strict=True)
        ]
    )
    y = np.repeat(np.arange(len(centers)), counts)
    return _shuffled(X, y, generator)


def _spirals(n_samples: int, noise: float, seed: int) -> Dataset:
    # Two arms of an Archimedean spiral r = t, angle = 1.75 turns * t (+ pi for the
    # second arm), t in [0, 1]; Gaussian noise of std `noise` on both coordinates.
    rng = np.random.default_rng(seed)
    arm_sizes = (n_samples - n_samples // 2, n_samples // 2)
    points, labels = [], []
    for arm, size in enumerate(arm_sizes):
        t = np.linspace(0.0, 1.0, size)
        angle = 1.75 * 2 * np.pi * t + arm * np.pi
        arm_points = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
        points.append(arm_points + noise * rng.standard_normal(arm_points.shape))
        labels.append(np.full(size, arm))
    order = rng.permutation(n_samples)
    X, y = np.concatenate(points)[order], np.concatenate(labels)[order]
    return _two_class_2d("spirals", X, y, "two interleaved spiral arms")


def _blobs(n_samples: int, noise: float, seed: int) -> Dataset:
    X, y = _make_blobs(n_samples, 3, noise, seed)
    return Dataset(
        name="blobs",
        X=X.astype(np.float32),
        y=y.astype(np.int64),
        feature_names=["x1", "x2"],
        class_names=["0", "1", "2"],
        task="multiclass",
        description="three Gaussian blobs (noise = their standard deviation)",
    )


def _gauss(n_samples: int, noise: float, seed: int) -> Dataset:
    # TensorFlow Playground's "Gaussian" set: clusters at (2, 2) and (-2, -2).
    X, y = _make_blobs(n_samples, np.array([[2.0, 2.0], [-2.0, -2.0]]), noise, seed)
    return _two_class_2d("gauss", X, y, "two Gaussian clusters at (2, 2) and (-2, -2)")


def _sklearn_real(name: str, task: Task) -> Callable[..., Dataset]:
    def build() -> Dataset:
        try:
            from sklearn import datasets
        except ImportError:
            raise ImportError(
                f"the {name} dataset comes with scikit-learn, which is not "
                "installed: pip install 'deepgrad[sklearn]'",
                name="sklearn",
            ) from None
        bunch = getattr(datasets, f"load_{name}")()
        return Dataset(
            name=name,
            X=bunch.data.astype(np.float32),
            y=bunch.target.astype(np.int64),
            feature_names=[str(f) for f in bunch.feature_names],
            class_names=[str(c) for c in bunch.target_names],
            task=task,
            description=_REAL_DESCRIPTIONS[name],
        )

    return build


_REAL_DESCRIPTIONS = {
    "iris": "iris flowers: 4 measurements, 3 species (scikit-learn)",
    "wine": "wines: 13 chemical measurements, 3 cultivars (scikit-learn)",
    "breast_cancer": "breast tumours: 30 features, malignant or benign (scikit-learn)",
    "digits": "8x8 images of handwritten digits 0-9 (scikit-learn)",
}


@dataclass(frozen=True)
class _Spec:
    build: Callable[..., Dataset]
    task: Task
    n_samples: int  # the default for generated sets, the fixed size otherwise
    n_features: int
    n_classes: int
    description: str
    default_noise: float | None = None  # None: a fixed dataset
    extra: str | None = None  # the extra that installs what it loads from


_DATASETS: dict[str, _Spec] = {
    **{
        gate: _Spec(_gate(gate), "binary", 4, 2, 2, f"{gate.upper()} truth table")
        for gate in GATE_OUTPUTS
    },
    "moons": _Spec(_moons, "binary", 200, 2, 2, "two interleaving half circles", 0.1),
    "circles": _Spec(_circles, "binary", 200, 2, 2, "circle inside a circle", 0.05),
    "spirals": _Spec(_spirals, "binary", 200, 2, 2, "two interleaved spirals", 0.05),
    "blobs": _Spec(_blobs, "multiclass", 200, 2, 3, "three Gaussian blobs", 1.0),
    "gauss": _Spec(_gauss, "binary", 200, 2, 2, "two Gaussian clusters", 1.0),
    "iris": _Spec(
        _sklearn_real("iris", "multiclass"),
        "multiclass",
        150,
        4,
        3,
        _REAL_DESCRIPTIONS["iris"],
        extra="sklearn",
    ),
    "wine": _Spec(
        _sklearn_real("wine", "multiclass"),
        "multiclass",
        178,
        13,
        3,
        _REAL_DESCRIPTIONS["wine"],
        extra="sklearn",
    ),
    "breast_cancer": _Spec(
        _sklearn_real("breast_cancer", "binary"),
        "binary",
        569,
        30,
        2,
        _REAL_DESCRIPTIONS["breast_cancer"],
        extra="sklearn",
    ),
    "digits": _Spec(
        _sklearn_real("digits", "multiclass"),
        "multiclass",
        1797,
        64,
        10,
        _REAL_DESCRIPTIONS["digits"],
        extra="sklearn",
    ),
}


def available_datasets() -> list[dict[str, Any]]:
    """Describe the built-in datasets without loading them.

    Returns
    -------
    list of dict
        One dict per dataset with keys ``name``, ``task``, ``n_samples`` (the default
        for generated sets), ``n_features``, ``n_classes``, ``description`` and
        ``extra``: None, or the extra a dataset needs (``"sklearn"`` for the four
        sets loaded from scikit-learn).

    Examples
    --------
    >>> [d["name"] for d in available_datasets()][:3]
    ['xor', 'and', 'or']
    """
    return [
        {
            "name": name,
            "task": spec.task,
            "n_samples": spec.n_samples,
            "n_features": spec.n_features,
            "n_classes": spec.n_classes,
            "description": spec.description,
            "extra": spec.extra,
        }
        for name, spec in _DATASETS.items()
    ]


def load_dataset(
    name: str,
    n_samples: int | None = None,
    noise: float | None = None,
    seed: int = 0,
) -> Dataset:
    """Load a built-in dataset by name.

    Parameters
    ----------
    name : str
        One of ``xor``, ``and``, ``or`` (the lab's 4-point truth tables), ``moons``,
        ``circles``, ``spirals``, ``blobs``, ``gauss`` (generated 2-D sets), ``iris``,
        ``wine``, ``breast_cancer``, ``digits`` (bundled with scikit-learn: these
        four need the ``sklearn`` extra).
    n_samples : int, optional
        Number of points of a generated set (default 200).
    noise : float, optional
        Noise of a generated set: the standard deviation of the Gaussian noise added
        to ``moons``, ``circles`` and ``spirals``, of each cluster of ``blobs`` and
        ``gauss``. Defaults: moons 0.1, circles 0.05, spirals 0.05, blobs 1.0,
        gauss 1.0.
    seed : int, default 0
        Seed of a generated set; the same seed gives the same points.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown name (the message lists the available ones), for
        ``n_samples``/``noise`` given to a fixed dataset, for ``n_samples`` smaller
        than the number of classes, or a negative ``noise``.
    ImportError
        For one of scikit-learn's four sets when scikit-learn is not installed
        (one line naming the extra: ``pip install 'deepgrad[sklearn]'``).

    Examples
    --------
    >>> ds = load_dataset("xor")
    >>> ds.X.tolist(), ds.y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    >>> load_dataset("moons", n_samples=50, noise=0.2, seed=1).X.shape
    (50, 2)
    """
    spec = _DATASETS.get(name)
    if spec is None:
        raise ValueError(f"Unknown dataset {name!r}; available: {', '.join(_DATASETS)}")
    if spec.default_noise is None:
        if n_samples is not None or noise is not None:
            generated = ", ".join(
                n for n, s in _DATASETS.items() if s.default_noise is not None
            )
            raise ValueError(
                f"Dataset {name!r} is fixed ({spec.n_samples} samples); n_samples and "
                f"noise apply only to the generated sets: {generated}"
            )
        return spec.build()
    if n_samples is None:
        n_samples = spec.n_samples
    if noise is None:
        noise = spec.default_noise
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"Expected n_samples to be an int, received: {n_samples!r}")
    if n_samples < spec.n_classes:
        raise ValueError(
            f"Expected n_samples >= {spec.n_classes} (one per class of {name!r}), "
            f"received: {n_samples}"
        )
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"Expected noise >= 0, received: {noise}")
    return spec.build(int(n_samples), float(noise), seed)
