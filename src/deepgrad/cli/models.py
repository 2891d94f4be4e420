"""``deepgrad evaluate`` and ``deepgrad predict``: use a model saved by ``train --out``.

Both load the model, match the data to it (its columns by name, its class names,
the label column it was trained with) and print metrics or one prediction a row.
Data without column names (an NPZ file, a CSV without a header row) is matched by
position, and only when it has exactly the model's number of columns.
"""

from __future__ import annotations

import csv
import dataclasses
import io as text_io
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from deepgrad import nn
from deepgrad.atomic import atomic_write
from deepgrad.cli.app import (
    RunFailed,
    app,
    check_output_path,
    console,
    format_column,
    format_number,
    is_training_data,
    one_line,
)
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


def _match_columns(classifier: Any, dataset: Any, named: bool, model_path: Path) -> Any:
    """``dataset`` with the model's feature columns, in the model's order.

    Columns are matched by name: reordered, extra ones left out (said in one line
    on stderr), missing ones an error. When either side has no names, by position,
    and only at exactly the model's width (said in one line).
    """
    names = classifier.feature_names
    if names is None or not named:
        _check_width(classifier, dataset, model_path)
        unnamed = (
            f"{dataset.name!r} has no column names"
            if not named
            else f"{model_path.name} does not name its columns"
        )
        as_named = f" ({', '.join(names)})" if names is not None else ""
        typer.echo(
            f"{unnamed}: the {dataset.n_features} columns are taken by position "
            f"as {model_path.name}'s{as_named}",
            err=True,
        )
        return dataset
    have = list(dataset.feature_names)
    missing = [name for name in names if name not in have]
    if missing:
        raise ValueError(
            f"{model_path.name} takes {len(names)} features per sample but "
            f"{dataset.name!r} lacks {len(missing)} of them: {', '.join(missing)} "
            f"(its columns: {', '.join(have)}); rename them, or give data without "
            "a header row to take the columns by position"
        )
    extra = [name for name in have if name not in names]
    if extra:
        typer.echo(
            f"Ignoring column{'s' if len(extra) > 1 else ''} {', '.join(extra)} of "
            f"{dataset.name!r}: not among {model_path.name}'s features",
            err=True,
        )
    order = [have.index(name) for name in names]
    return dataclasses.replace(dataset, X=dataset.X[:, order], feature_names=names)


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


def _csv_header(path: Path) -> list[str] | None:
    """The CSV's column names; None when its first row is data (only numbers)."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        header = [cell.strip() for cell in next(csv.reader(file), [])]
    try:
        for cell in header:
            float(cell)
    except ValueError:
        return header
    return None if header else header  # an empty file: load_csv says so


def _headerless_csv(path: Path) -> Any:
    """A CSV without a header row, read as unlabelled features."""
    from deepgrad.data import Dataset

    try:
        X = np.loadtxt(
            path, delimiter=",", dtype=np.float32, ndmin=2, encoding="utf-8-sig"
        )
    except ValueError as error:
        raise ValueError(f"{path.name}: {error}") from None
    if not np.all(np.isfinite(X)):
        raise ValueError(
            f"{path.name}: holds NaN or infinite values; feature values must be "
            "finite numbers"
        )
    columns = [f"column {index + 1}" for index in range(X.shape[1])]
    return Dataset(
        path.stem, X, np.zeros(0, dtype=np.int64), columns, None, "multiclass"
    )


def _model_data(
    classifier: Any, data: str, target: str | None, model_path: Path, labelled: bool
) -> Any:
    """DATA with the model's feature columns, in its order (see _match_columns).

    A CSV's label column is ``target``, else the model's own label column when the
    file has one; ``labelled`` (evaluate) requires one.
    """
    source = Path(data)
    class_names = classifier.class_names if labelled else None
    if source.suffix.lower() != ".csv":
        dataset = load_data(data, target, class_names=class_names)
        named = source.suffix.lower() != ".npz"  # an NPZ's columns have no names
        return _match_columns(classifier, dataset, named, model_path)
    if not source.is_file():
        raise FileNotFoundError(2, "No such data file", str(source))
    header = _csv_header(source)
    if header is None:
        if labelled:
            raise ValueError(
                f"{source.name} has no header row; evaluate needs one naming the "
                "columns, the label column among them"
            )
        return _match_columns(classifier, _headerless_csv(source), False, model_path)
    if target is None and classifier.target_name in header:
        target = classifier.target_name
    if labelled and target is None:
        raise ValueError(
            f"{source.name} is a CSV file: name its label column with --target"
        )
    from deepgrad.data import load_csv

    task = "regression" if classifier.task == "regression" else "auto"
    dataset = load_csv(source, target, class_names=class_names, task=task)
    return _match_columns(classifier, dataset, True, model_path)


def _held_out_rows(classifier: Any, dataset: Any, record: dict[str, Any]) -> Any:
    """The validation rows train's --val split off this data (the same seeded,
    stratified split fit made), with labels as the model's class indices."""
    from deepgrad.train.batches import split_off_validation

    classes = classifier.class_names
    is_classifier = classifier.task != "regression"
    y = _true_indices(dataset, classes) if is_classifier else dataset.y
    _, (X_val, y_val) = split_off_validation(
        dataset.X, y, float(record["val"]), is_classifier, int(record["seed"])
    )
    return dataclasses.replace(
        dataset,
        name=f"{dataset.name}'s held-out rows",
        X=X_val,
        y=y_val,
        class_names=classes if is_classifier else dataset.class_names,
    )


@app.command()
def evaluate(
    model: ModelArgument,
    data: DataArgument,
    target: TargetOption = None,
    held_out: Annotated[
        bool,
        typer.Option(
            help="Score only the rows the model held out for validation (train's "
            "--val) of the data it was trained on."
        ),
    ] = False,
) -> None:
    """Score a model on DATA: precision/recall/F1 per class, or MSE, RMSE, MAE, R².

    A classifier also gets its accuracy and confusion matrix.
    """
    from deepgrad import metrics

    classifier = _load_classifier(model)
    dataset = _model_data(classifier, data, target, model, labelled=True)
    record = classifier.training_data or {}
    trained_on = is_training_data(record, data)
    if held_out:
        if not trained_on or not record.get("val"):
            raise ValueError(
                f"--held-out scores the rows {model.name} held out for validation: "
                "give the data it was trained on, with a model trained with --val"
            )
        dataset = _held_out_rows(classifier, dataset, record)
    typer.echo(f"{model.name} on {dataset.name} ({dataset.n_samples} samples)")
    if trained_on and not held_out:
        typer.echo(
            "these samples were used for training; the scores are not a test score"
        )
        if record.get("val"):
            typer.echo(
                f"{model.name} held out {record['val']:.0%} of them for validation: "
                "--held-out scores those alone"
            )
    if classifier.task == "regression":
        scores = classifier.evaluate(dataset.X, dataset.y)
        table = Table()
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name in ("mse", "rmse", "mae", "r2"):
            table.add_row(name, format_number(scores[name]))
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
        Path | None,
        typer.Option(metavar="FILE", help="Write the CSV here instead of to stdout."),
    ] = None,
) -> None:
    """Predict each row of DATA: a class in the training data's labels, or a number."""
    check_output_path("--output", output)
    classifier = _load_classifier(model)
    dataset = _model_data(classifier, data, target, model, labelled=False)

    header = ["prediction"]
    rows: list[list[str]]
    if classifier.task == "regression":
        values = np.asarray(classifier.predict(dataset.X)).reshape(-1)
        rows = [[text] for text in format_column(values)]
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
    existed = output.exists()
    try:
        with atomic_write(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
    except OSError as error:
        kept = "the old file is unchanged" if existed else "nothing was written"
        raise RunFailed(
            f"could not write the predictions to {output} ({one_line(error)}); {kept}"
        ) from None
    typer.echo(f"Wrote {len(rows)} predictions to {output}", err=True)
