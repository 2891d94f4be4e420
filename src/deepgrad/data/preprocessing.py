"""Splits, standardisation and one-hot encoding.

Splits are scikit-learn's ``train_test_split`` (stratified, seeded) written in
NumPy draw for draw, so they give scikit-learn's parts without needing it. The
:class:`Standardizer` is plain NumPy so that a saved model can rebuild it from JSON
without scikit-learn.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np

ArrayPair = tuple[np.ndarray, np.ndarray]


class Split(NamedTuple):
    """The parts of a dataset; ``val`` and ``test`` are None when their fraction is 0."""

    train: ArrayPair
    val: ArrayPair | None
    test: ArrayPair | None


def _check_fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(
            f"Expected {name} to be a fraction in [0, 1), received: {value!r}"
        )
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"Expected {name} to be a fraction in [0, 1), received: {value}"
        )
    return float(value)


def train_val_test_split(
    X: Any,
    y: Any,
    val: float = 0.2,
    test: float = 0.0,
    stratify: bool = True,
    seed: int | None = 0,
) -> Split:
    """Split samples into train, validation and test parts.

    The test part is taken first (``test`` of all samples), then the validation part
    (``val`` of all samples) from the rest, each as scikit-learn's
    ``train_test_split`` splits (the same parts for the same seed), so a part's size
    is ``ceil(fraction * n_samples)``.

    Parameters
    ----------
    X : array-like, shape (n_samples, ...)
    y : array-like, shape (n_samples, ...)
    val, test : float
        Fractions of all samples in [0, 1), summing to less than 1; 0 skips a part.
    stratify : bool, default True
        Keep each class's proportion in every part (for integer class labels; float
        targets are split at random). When a class has too few samples to appear in
        every part, the split falls back to a random one with a warning.
    seed : int or None, default 0
        Seed of the shuffle; the same seed gives the same parts.

    Returns
    -------
    Split
        ``Split(train=(X, y), val=(X, y) or None, test=(X, y) or None)``.

    Raises
    ------
    ValueError
        For a fraction outside [0, 1), fractions summing to 1 or more, X and y of
        different lengths, or too few samples to give every part one.

    Examples
    --------
    >>> X, y = np.arange(20.0).reshape(10, 2), np.array([0] * 5 + [1] * 5)
    >>> parts = train_val_test_split(X, y, val=0.2, test=0.2, seed=0)
    >>> len(parts.train[0]), len(parts.val[0]), len(parts.test[0])
    (6, 2, 2)
    """
    val = _check_fraction(val, "val")
    test = _check_fraction(test, "test")
    if val + test >= 1.0:
        raise ValueError(
            f"Expected val + test < 1 to leave samples for training, received: "
            f"val={val}, test={test}"
        )
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(
            f"X has {len(X)} samples but y has {len(y)}; give one target per sample"
        )
    stratify = stratify and y.dtype.kind in "iub"
    test_part = None
    if test > 0:
        X, X_test, y, y_test = _split(X, y, test, stratify, seed, "test")
        test_part = (X_test, y_test)
    val_part = None
    if val > 0:
        # `val` is a fraction of all samples; the test part has already been removed.
        X, X_val, y, y_val = _split(X, y, val / (1.0 - test), stratify, seed, "val")
        val_part = (X_val, y_val)
    return Split(train=(X, y), val=val_part, test=test_part)


def _split(
    X: np.ndarray, y: np.ndarray, fraction: float, stratify: bool, seed, part: str
) -> list[np.ndarray]:
    """``[X_rest, X_part, y_rest, y_part]``, as ``train_test_split(X, y,
    test_size=fraction, random_state=seed, stratify=y if stratify else None)``."""
    n_part = math.ceil(fraction * len(X))
    if n_part >= len(X):
        raise ValueError(
            f"Cannot split {len(X)} samples into a {part} part of {fraction:.3g} and "
            f"the rest: the {part} part would take all {n_part} samples and leave "
            "none for training. Use more samples or a smaller fraction"
        )
    if stratify:
        try:
            rest, taken = _stratified_indices(y, len(X) - n_part, n_part, seed)
        except ValueError as err:
            warnings.warn(
                f"Cannot stratify the {part} split ({err}); splitting at random "
                "instead, so class proportions may differ between the parts",
                UserWarning,
                stacklevel=3,
            )
        else:
            return [X[rest], X[taken], y[rest], y[taken]]
    # ShuffleSplit: one permutation; its first n_part indices are the part
    order = _random_state(seed).permutation(len(X))
    taken, rest = order[:n_part], order[n_part:]
    return [X[rest], X[taken], y[rest], y[taken]]


def _random_state(seed: int | None) -> np.random.RandomState:
    # scikit-learn's check_random_state: an int seeds a new legacy RandomState
    # (None: a fresh one seeded by the OS, where scikit-learn takes NumPy's global one)
    return np.random.RandomState(seed)


def _stratified_indices(
    y: np.ndarray, n_rest: int, n_part: int, seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (rest, part) of StratifiedShuffleSplit's first split: each class
    gives the two parts its share of their sizes, then each part is shuffled."""
    if y.ndim == 2:  # scikit-learn's key for a row of labels: its values as text
        y = np.array([" ".join(row.astype("str")) for row in y])
    classes, class_of, class_counts = np.unique(
        y, return_inverse=True, return_counts=True
    )
    if class_counts.min() < 2:
        lonely = classes[class_counts < 2].tolist()
        raise ValueError(
            f"classes {lonely} have 1 sample each; each part needs one of every class"
        )
    for size, which in ((n_rest, "the rest"), (n_part, "the part")):
        if size < len(classes):
            raise ValueError(
                f"{which} would hold {size} samples, fewer than the "
                f"{len(classes)} classes"
            )
    # each class's row indices, in order
    rows_of_class = np.split(
        np.argsort(class_of, kind="stable"), np.cumsum(class_counts)[:-1]
    )
    generator = _random_state(seed)
    rest_counts = _approximate_mode(class_counts, n_rest, generator)
    part_counts = _approximate_mode(class_counts - rest_counts, n_part, generator)
    rest: list[int] = []
    part: list[int] = []
    for rows, n_r, n_p in zip(rows_of_class, rest_counts, part_counts, strict=True):
        shuffled = rows[generator.permutation(len(rows))]
        rest.extend(shuffled[:n_r])
        part.extend(shuffled[n_r : n_r + n_p])
    return generator.permutation(rest), generator.permutation(part)


def _approximate_mode(
    class_counts: np.ndarray, n_draws: int, generator: np.random.RandomState
) -> np.ndarray:
    """How many of ``n_draws`` each class gives: ``floor(count / total * n_draws)``,
    then one more to the classes with the largest remainders until the sum is
    ``n_draws`` (a tie broken at random); scikit-learn's ``_approximate_mode``."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    remainder = continuous - floored
    for value in np.sort(np.unique(remainder))[::-1]:
        if need_to_add <= 0:
            break
        (tied,) = np.where(remainder == value)
        add_now = min(len(tied), need_to_add)
        floored[generator.choice(tied, size=add_now, replace=False)] += 1
        need_to_add -= add_now
    return floored.astype(int)


class Standardizer:
    """Scale features to zero mean and unit variance: ``(X - mean_) / scale_``.

    Fit it on the training split only, so that validation and test data stay unseen.
    ``scale_`` is the population standard deviation (``ddof=0``, as scikit-learn's
    ``StandardScaler``); constant features get ``scale_ = 1`` and are only centred.

    Attributes
    ----------
    mean_ : ndarray of float64, shape (n_features,)
    scale_ : ndarray of float64, shape (n_features,)

    Examples
    --------
    >>> scaler = Standardizer().fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> scaler.mean_.tolist(), scaler.scale_.tolist()
    ([1.0, 5.0], [1.0, 1.0])
    >>> scaler.transform(np.array([[4.0, 6.0]])).tolist()
    [[3.0, 1.0]]
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: Any) -> Standardizer:
        """Compute each feature's mean and standard deviation; return self."""
        X = self._as_2d(X)
        if len(X) == 0:
            raise ValueError("Cannot fit a Standardizer on 0 samples")
        mean = X.mean(axis=0, dtype=np.float64)
        variance = X.var(axis=0, dtype=np.float64)
        # A constant column's variance comes out as rounding noise rather than 0;
        # scikit-learn's bound on that noise: n eps var + (n mean eps)^2.
        n, eps = len(X), np.finfo(np.float64).eps
        constant = variance <= n * eps * variance + (n * mean * eps) ** 2
        scale = np.where(constant, 1.0, np.sqrt(variance))
        self.mean_, self.scale_ = mean, scale
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return ``(X - mean_) / scale_`` in X's float dtype (float32 otherwise)."""
        mean, scale = self._fitted()
        X = self._as_2d(X, expected_features=len(mean))
        return ((X - mean) / scale).astype(_float_dtype(X))

    def fit_transform(self, X: Any) -> np.ndarray:
        """Fit on X, then transform it."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map standardised features back: ``X * scale_ + mean_``."""
        mean, scale = self._fitted()
        X = self._as_2d(X, expected_features=len(mean))
        return (X * scale + mean).astype(_float_dtype(X))

    def to_dict(self) -> dict[str, list[float]]:
        """Return ``{"mean": [...], "scale": [...]}``, plain floats for JSON."""
        mean, scale = self._fitted()
        return {"mean": mean.tolist(), "scale": scale.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Standardizer:
        """Rebuild a fitted Standardizer from :meth:`to_dict`'s output."""
        if not isinstance(state, dict) or not {"mean", "scale"} <= state.keys():
            raise ValueError(
                "Expected a dict with keys 'mean' and 'scale' (from "
                f"Standardizer.to_dict()), received: {state!r}"
            )
        mean = np.asarray(state["mean"], dtype=np.float64)
        scale = np.asarray(state["scale"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != scale.shape or np.any(scale <= 0):
            raise ValueError(
                "Expected 'mean' and 'scale' to be equal-length lists with positive "
                f"scales, received mean of shape {mean.shape} and scale {scale.tolist()}"
            )
        scaler = cls()
        scaler.mean_, scaler.scale_ = mean, scale
        return scaler

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mean_ is None or self.scale_ is None:
            raise ValueError("This Standardizer is not fitted yet; call fit(X_train)")
        return self.mean_, self.scale_

    @staticmethod
    def _as_2d(X: Any, expected_features: int | None = None) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.dtype.kind not in "biuf":
            raise ValueError(
                "Expected numeric X of shape (n_samples, n_features), received "
                f"{X.dtype} of shape {X.shape}"
            )
        if expected_features is not None and X.shape[1] != expected_features:
            raise ValueError(
                f"Expected {expected_features} features, as when fitted, received X "
                f"of shape {X.shape}"
            )
        return X

    def __repr__(self) -> str:
        if self.mean_ is None:
            return "Standardizer()"
        return f"Standardizer(n_features={len(self.mean_)})"


def _float_dtype(X: np.ndarray) -> np.dtype:
    return X.dtype if X.dtype.kind == "f" else np.dtype(np.float32)


def one_hot(y: Any, num_classes: int | None = None) -> np.ndarray:
    """Encode class indices as rows of a float32 identity matrix.

    Parameters
    ----------
    y : array-like of int, shape (n,) or (n, 1)
        Class indices ``0..num_classes-1`` (integral floats are accepted).
    num_classes : int, optional
        Number of columns; ``max(y) + 1`` by default.

    Returns
    -------
    ndarray of float32, shape (n, num_classes)

    Raises
    ------
    ValueError
        For labels that are negative, not integers, or not below ``num_classes``.

    Examples
    --------
    >>> one_hot([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"Expected y of shape (n,) or (n, 1), received {labels.shape}")
    if labels.dtype.kind not in "iub" and not (
        labels.dtype.kind == "f" and np.all(labels == np.round(labels))
    ):
        raise ValueError(
            f"Expected integer class indices, received {labels.dtype} values such as "
            f"{labels[:3].tolist()}"
        )
    labels = labels.astype(np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if len(labels) else 0
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"Expected class indices in [0, {num_classes}), received labels from "
            f"{labels.min()} to {labels.max()}"
        )
    encoded = np.zeros((len(labels), num_classes), dtype=np.float32)
    encoded[np.arange(len(labels)), labels] = 1.0
    return encoded
