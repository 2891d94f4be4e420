"""Classification metrics and regression scores in NumPy.

The classification functions take class indices (``0..C-1``), check them, and always
report every class in ``range(num_classes)``, also those absent from a small batch,
so tables keep their shape from one evaluation to the next. They compute what
``sklearn.metrics`` computes, with the same floating-point operations (tested equal),
without needing scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _labels(values: Any, name: str) -> np.ndarray:
    """Class indices as a 1-D int64 array; (n, 1) columns and Tensors accepted."""
    labels = np.asarray(values)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"Expected {name} of shape (n,) holding class indices, received shape "
            f"{labels.shape}; take argmax over the class dimension first"
        )
    if labels.dtype.kind not in "iub" and not (
        labels.dtype.kind == "f" and np.all(labels == np.round(labels))
    ):
        raise ValueError(
            f"Expected integer class indices in {name}, received {labels.dtype} "
            f"values such as {labels[:3].tolist()}; threshold or argmax them first"
        )
    labels = labels.astype(np.int64)
    if len(labels) and labels.min() < 0:
        raise ValueError(f"Expected class indices >= 0 in {name}, found {labels.min()}")
    return labels


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    true, pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(true) != len(pred):
        raise ValueError(
            f"y_true has {len(true)} labels but y_pred has {len(pred)}; give one "
            "prediction per sample"
        )
    if len(true) == 0:
        raise ValueError("Cannot compute metrics of 0 samples")
    return true, pred


def _num_classes(true: np.ndarray, pred: np.ndarray, num_classes: int | None) -> int:
    largest = int(max(true.max(), pred.max()))
    if num_classes is None:
        return largest + 1
    if largest >= num_classes:
        raise ValueError(
            f"Found class index {largest} but num_classes={num_classes}; labels must "
            f"lie in [0, {num_classes})"
        )
    return num_classes


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of predictions equal to the true class.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n,) or (n, 1)
        Class indices.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For lengths that differ, no samples, or labels that are not class indices.

    Examples
    --------
    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    true, pred = _pair(y_true, y_pred)
    return float(np.mean(true == pred))


def confusion_matrix(
    y_true: Any, y_pred: Any, num_classes: int | None = None
) -> np.ndarray:
    """Count how often class ``i`` was predicted as class ``j``.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n,) or (n, 1)
        Class indices.
    num_classes : int, optional
        Size of the matrix; ``max(label) + 1`` by default. Classes that never occur
        still get their row and column.

    Returns
    -------
    ndarray of int64, shape (num_classes, num_classes)
        Rows are true classes, columns predicted ones (scikit-learn's layout).

    Raises
    ------
    ValueError
        As :func:`accuracy`, and for a label ``>= num_classes``.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=3).tolist()
    [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    """
    true, pred = _pair(y_true, y_pred)
    num_classes = _num_classes(true, pred, num_classes)
    # pair (i, j) counted in cell i * num_classes + j
    counts = np.bincount(true * num_classes + pred, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def classification_report(
    y_true: Any, y_pred: Any, class_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """Precision, recall, F1 and support per class, with accuracy and averages.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n,) or (n, 1)
        Class indices.
    class_names : sequence of str, optional
        Name of each class index; its length fixes the number of classes. Default:
        ``"0"``, ``"1"``, ... up to the largest label.

    Returns
    -------
    dict
        scikit-learn's ``classification_report(output_dict=True)`` layout: one entry
        per class name, ``{"precision", "recall", "f1-score", "support"}``, then
        ``"accuracy"`` (float), ``"macro avg"`` and ``"weighted avg"`` (same keys).
        Values are Python floats, supports ints; a class never predicted (or never
        present) scores 0 rather than warning.

    Raises
    ------
    ValueError
        As :func:`accuracy`, and for a label with no entry in ``class_names``.

    Examples
    --------
    >>> report = classification_report([0, 1, 1], [0, 1, 0], class_names=["no", "yes"])
    >>> report["yes"]["recall"], report["accuracy"]
    (0.5, 0.6666666666666666)
    """
    true, pred = _pair(y_true, y_pred)
    if class_names is None:
        num_classes = _num_classes(true, pred, None)
        names = [str(i) for i in range(num_classes)]
    else:
        names = [str(name) for name in class_names]
        num_classes = _num_classes(true, pred, len(names))
    matrix = confusion_matrix(true, pred, num_classes)
    # precision = TP / predicted, recall = TP / support,
    # F1 = 2 TP / (support + predicted) (= 2 P R / (P + R)); 0 where a count is 0
    hits = np.diag(matrix).astype(np.float64)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    scores = {
        "precision": _ratio(hits, predicted),
        "recall": _ratio(hits, support),
        "f1-score": _ratio(2.0 * hits, support + predicted),
    }
    report: dict[str, Any] = {
        name: {
            **{metric: float(values[i]) for metric, values in scores.items()},
            "support": int(support[i]),
        }
        for i, name in enumerate(names)
    }
    report["accuracy"] = float(hits.sum() / len(true))
    for average, weights in (("macro avg", None), ("weighted avg", support)):
        report[average] = {
            **{
                metric: float(np.average(values, weights=weights))
                for metric, values in scores.items()
            },
            "support": len(true),
        }
    return report


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (zero_division=0)."""
    return numerator / np.where(denominator == 0, 1, denominator)


def regression_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """MSE, RMSE, MAE and R² of predictions, in the targets' own units::

        mse  = mean((y - y_hat)^2)          rmse = sqrt(mse)
        mae  = mean(|y - y_hat|)            r2   = 1 - sum((y - y_hat)^2)
                                                       / sum((y - mean(y))^2)

    R² is scikit-learn's ``r2_score``: 1 for perfect predictions, 0 for always
    predicting the mean; for constant targets, 1 when they are met exactly, else 0.

    Example
    -------
    >>> scores = regression_scores([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    >>> round(scores["mse"], 4), round(scores["mae"], 4), scores["r2"]
    (0.3333, 0.3333, 0.5)
    """
    true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(true.shape)
    if len(true) == 0:
        raise ValueError("regression_scores: expected at least one sample, received 0")
    residual = float(np.sum((true - pred) ** 2))
    spread = float(np.sum((true - true.mean(axis=0)) ** 2))
    mse = residual / true.size
    if spread > 0:
        r2 = 1.0 - residual / spread
    else:
        r2 = 1.0 if residual == 0 else 0.0
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": float(np.mean(np.abs(true - pred))),
        "r2": r2,
    }
