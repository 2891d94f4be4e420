"""``deepgrad evaluate`` and ``deepgrad predict``: use a model saved by ``train --out``.

Both load the model, match the data to it (its width, its class names, the label
column it was trained with) and print metrics or one prediction a row.
"""

from __future__ import annotations

import csv
import io as text_io
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from deepgrad import nn
from deepgrad.cli.app import app, console
from deepgrad.cli.options import DataArgument, ModelArgument, TargetOption
from deepgrad.recipes import load_data


def _load_classifier(path: Path) -> Any:
    from deepgrad import io

    obj = io.load(path)
    if not hasattr(obj, "predict"):
        raise ValueError(
            f"{path}: holds a bare model without class names; evaluate and predict "
            "need a model saved by `deepgrad train --out`"
        )
    return obj


def _check_width(classifier: Any, dataset: Any, model_path: Path) -> None:
    """Name both sides when the data has more or fewer features than the model."""
    first = next(
        (layer for layer in classifier.model.modules() if isinstance(layer, nn.Linear)),
        None,
    )
    if first is not None and first.in_features != dataset.n_features:
        raise ValueError(
            f"{model_path.name} takes {first.in_features} features per sample but "
            f"{dataset.name!r} has {dataset.n_features} "
            f"({', '.join(dataset.feature_names)})"
        )


def _true_indices(dataset: Any, class_names: Sequence[str] | None) -> np.ndarray:
    """The dataset's labels as indices into the model's classes."""
    if class_names is None or dataset.class_names is None:
        return dataset.y
    if list(dataset.class_names) == list(class_names):
        return dataset.y
    index = {str(name): i for i, name in enumerate(class_names)}
    unknown = sorted(set(dataset.class_names) - set(index))
    if unknown:
        raise ValueError(
            f"labels {', '.join(unknown)} of {dataset.name!r} are not among the "
            f"model's classes: {', '.join(class_names)}"
        )
    mapping = np.array([index[name] for name in dataset.class_names])
    return mapping[dataset.y]


def _as_indices(classifier: Any, X: np.ndarray) -> np.ndarray:
    """Predicted class indices (Classifier.predict gives the user's class names)."""
    predicted = np.asarray(classifier.predict(X))
    if predicted.dtype.kind in "iu":
        return predicted.astype(np.int64)
    index = {str(name): i for i, name in enumerate(classifier.class_names)}
    return np.array([index[str(label)] for label in predicted], dtype=np.int64)


def _as_labels(classifier: Any, X: np.ndarray) -> list[str]:
    predicted = np.asarray(classifier.predict(X))
    names = classifier.class_names
    if predicted.dtype.kind in "iu" and names is not None:
        return [str(names[i]) for i in predicted]
    return [str(label) for label in predicted.tolist()]


def _probabilities(classifier: Any, X: np.ndarray) -> np.ndarray:
    """(n_samples, n_classes) probabilities, also from one sigmoid unit."""
    probabilities = np.asarray(classifier.predict_proba(X), dtype=np.float64)
    if probabilities.ndim == 1 or probabilities.shape[1] == 1:
        positive = probabilities.reshape(-1)
        probabilities = np.stack([1 - positive, positive], axis=1)
    return probabilities


def _known_label_column(classifier: Any, data: str) -> str | None:
    """The training CSV's label column, when this CSV has a column of that name."""
    name = getattr(classifier, "target_name", None)
    path = Path(data)
    if name is None or path.suffix.lower() != ".csv" or not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8-sig") as file:
        header = next(csv.reader(file), [])
    return name if name in [column.strip() for column in header] else None


@app.command()
def evaluate(
    model: ModelArgument,
    data: DataArgument,
    target: TargetOption = None,
) -> None:
    """Print accuracy, precision/recall/F1 per class and the confusion matrix."""
    from deepgrad import metrics

    classifier = _load_classifier(model)
    target = target or _known_label_column(classifier, data)
    if Path(data).suffix.lower() == ".csv" and target is None:
        raise ValueError(
            f"{Path(data).name} is a CSV file: name its label column with --target"
        )
    dataset = load_data(data, target, class_names=classifier.class_names)
    _check_width(classifier, dataset, model)
    typer.echo(f"{model.name} on {dataset.name} ({dataset.n_samples} samples)")
    if classifier.task == "regression":
        predicted = np.asarray(classifier.predict(dataset.X), dtype=np.float64)
        errors = predicted.reshape(-1) - dataset.y.astype(np.float64)
        table = Table()
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_row("mse", f"{np.mean(errors**2):.4f}")
        table.add_row("mae", f"{np.mean(np.abs(errors)):.4f}")
        console.print(table)
        return
    names = [str(name) for name in classifier.class_names]
    y_true = _true_indices(dataset, names)
    y_pred = _as_indices(classifier, dataset.X)
    report = metrics.classification_report(y_true, y_pred, class_names=names)

    table = Table()
    for column in ("class", "precision", "recall", "f1-score", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name in [*names, "macro avg", "weighted avg"]:
        row = report[name]
        table.add_row(
            name,
            f"{row['precision']:.4f}",
            f"{row['recall']:.4f}",
            f"{row['f1-score']:.4f}",
            str(int(row["support"])),
        )
    console.print(table)
    typer.echo(f"accuracy: {report['accuracy']:.4f}")

    matrix = metrics.confusion_matrix(y_true, y_pred, num_classes=len(names))
    typer.echo("Confusion matrix (rows: true class, columns: predicted class)")
    confusion = Table()
    confusion.add_column("true \\ predicted")
    for name in names:
        confusion.add_column(name, justify="right")
    for name, row in zip(names, matrix, strict=True):
        confusion.add_row(name, *(str(count) for count in row))
    console.print(confusion)


@app.command()
def predict(
    model: ModelArgument,
    data: DataArgument,
    target: TargetOption = None,
    output: Annotated[
        Path | None, typer.Option(help="Write the CSV here instead of to stdout.")
    ] = None,
) -> None:
    """Predict a class (in the training data's own labels) for every row of DATA."""
    from deepgrad import data as dgdata

    classifier = _load_classifier(model)
    source = Path(data)
    if source.suffix.lower() == ".csv":
        if not source.is_file():
            raise FileNotFoundError(2, "No such data file", str(source))
        target = target or _known_label_column(classifier, data)
        dataset = dgdata.load_csv(source, target)
    else:
        dataset = load_data(data, target)
    _check_width(classifier, dataset, model)

    header = ["prediction"]
    rows: list[list[str]]
    if classifier.task == "regression":
        values = np.asarray(classifier.predict(dataset.X)).reshape(-1)
        rows = [[f"{value:.6g}"] for value in values]
    else:
        labels = _as_labels(classifier, dataset.X)
        probabilities = _probabilities(classifier, dataset.X)
        header += [f"probability_{name}" for name in classifier.class_names]
        rows = [
            [label, *(f"{p:.6f}" for p in row)]
            for label, row in zip(labels, probabilities, strict=True)
        ]
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if output is None:
        typer.echo(buffer.getvalue(), nl=False)
        return
    output.write_text(buffer.getvalue(), encoding="utf-8")
    typer.echo(f"Wrote {len(rows)} predictions to {output}", err=True)
