"""The ``deepgrad`` command line: train, evaluate, predict, datasets, gradcheck.

A thin typer app: each command parses its options, calls the library
(``deepgrad.data``, ``deepgrad.train``, ``deepgrad.io``, ``deepgrad.metrics``) and
formats the result with rich. Exit codes: 0 on success, 1 when ``gradcheck`` finds
a gradient off or when training diverges (NaN loss), 2 for bad usage or bad input (one ``Error: ...`` line on stderr,
no traceback), 130 when training is interrupted with Ctrl-C.

This module imports typer and rich at the top; ``import deepgrad`` never imports it.
"""

from __future__ import annotations

import csv
import io as text_io
import sys
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

import deepgrad as dg
from deepgrad import nn
from deepgrad.recipes import (
    DEFAULT_LOSS,
    LOSSES,
    OPTIMIZERS,
    build_network,
    default_log_every,
    initialise,
    load_data,
    make_optimizer,
    needs_standardizing,
    parse_batch_size,
    parse_hidden,
    resolve_init,
)

# Errors a user causes; each is reported as one line and exit code 2.
_USER_ERRORS = (ValueError, TypeError, FileNotFoundError, IsADirectoryError)
EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 1  # training stopped on a NaN/inf loss (the last good weights are kept)
EXIT_INTERRUPTED = 130


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or error}: {error.filename}"
    return " ".join(str(error).split()) or type(error).__name__


def _report(error: Exception) -> int:
    """Print one ``Error:`` line for a usage or input error; return the exit code."""
    # click's exceptions (vendored inside typer since 0.2x, so matched by what they
    # have rather than by class) carry an exit code and a formatted message.
    if hasattr(error, "exit_code") and hasattr(error, "format_message"):
        if type(error).__name__ == "NoArgsIsHelpError":
            error.show()  # type: ignore[attr-defined]  # `deepgrad` alone: the help
            return int(error.exit_code)
        context = getattr(error, "ctx", None)
        hint = f" (see: {context.command_path} --help)" if context is not None else ""
        message = " ".join(str(error.format_message()).split())
        typer.echo(f"Error: {message}{hint}", err=True)
        return int(error.exit_code)
    if isinstance(error, _USER_ERRORS):
        typer.echo(f"Error: {_one_line(error)}", err=True)
        return EXIT_BAD_INPUT
    raise error


class _OneLineErrors(TyperGroup):
    """Report usage errors and the library's ValueError/TypeError as one line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) else 0
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            code = 1
        except Exception as error:
            code = _report(error)
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_OneLineErrors,
    name="deepgrad",
    help="Train, evaluate and inspect small neural networks with deepgrad.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"deepgrad {dg.__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print deepgrad's version and exit.",
        ),
    ] = False,
) -> None:
    """Train, evaluate and inspect small neural networks with deepgrad."""


# tables only: messages go through typer.echo, which never wraps a line
console = Console(highlight=False)


class Activation(str, Enum):
    sigmoid = "sigmoid"
    relu = "relu"
    tanh = "tanh"
    leaky_relu = "leaky_relu"
    gelu = "gelu"


class Loss(str, Enum):
    bce = "bce"
    bce_logits = "bce_logits"
    ce = "ce"
    mse = "mse"


class OptimizerName(str, Enum):
    sgd = "sgd"
    adam = "adam"
    adamw = "adamw"
    rmsprop = "rmsprop"
    adagrad = "adagrad"


class Init(str, Enum):
    auto = "auto"
    normal = "normal"
    he = "he"
    xavier = "xavier"
    default = "default"


# options several commands share, declared once
DataArgument = Annotated[
    str,
    typer.Argument(help="A built-in dataset (see `deepgrad datasets`) or a CSV file."),
]
TargetOption = Annotated[
    str | None, typer.Option(help="The label column of a CSV file.")
]
HiddenOption = Annotated[
    str, typer.Option(help="Hidden layer sizes, comma-separated (e.g. 4,4).")
]
ActivationOption = Annotated[
    Activation, typer.Option(help="Activation of the hidden layers.")
]
LossOption = Annotated[
    Loss | None,
    typer.Option(
        help="Loss; default bce for two classes, ce for more, mse for numbers."
    ),
]
LrOption = Annotated[
    float | None,
    typer.Option(help="Learning rate (default 0.1 for sgd/adagrad, 0.01 otherwise)."),
]
MomentumOption = Annotated[float, typer.Option(help="Momentum (sgd, rmsprop).")]
BatchSizeOption = Annotated[
    str, typer.Option(help="'full' (whole set per step) or samples per step.")
]
SeedOption = Annotated[int, typer.Option(help="Seed of the weights and the shuffling.")]


def check_output_folder(option: str, path: Path | None) -> None:
    """Refuse an output file in a missing folder before training, not after it."""
    if path is not None and not path.resolve().parent.is_dir():
        raise ValueError(
            f"{option} {path}: the folder {path.resolve().parent} does not exist; "
            "create it first"
        )


def check_figure_paths(
    plot: Path | None, animate: Path | None, dataset: Any = None
) -> None:
    """Refuse ``--plot``/``--animate`` before training rather than after it."""
    if plot is not None and plot.suffix.lower() != ".png":
        raise ValueError(f"--plot saves a PNG: give a .png file, received: {plot}")
    if plot is not None or animate is not None:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            option = "--plot" if plot is not None else "--animate"
            raise ValueError(
                f"{option} needs matplotlib, which is not installed: "
                "pip install 'deepgrad[plot]'"
            )
    check_output_folder("--plot", plot)
    check_output_folder("--animate", animate)
    if animate is None:
        return
    if animate.suffix.lower() != ".gif":
        raise ValueError(
            f"--animate saves a GIF: give a .gif file, received: {animate}"
        )
    if dataset.n_features != 2 or dataset.task == "regression":
        raise ValueError(
            f"--animate draws a classifier's decision boundary in the plane, so it "
            f"needs 2 features and classes; {dataset.name!r} has "
            f"{dataset.n_features} features (task {dataset.task}): try moons, "
            "circles, spirals or xor"
        )


def _load_classifier(path: Path):
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


# -- commands ------------------------------------------------------------------------
@app.command()
def train(
    data: DataArgument,
    target: TargetOption = None,
    hidden: HiddenOption = "8,8",
    activation: ActivationOption = Activation.relu,
    loss: LossOption = None,
    optimizer: Annotated[
        OptimizerName, typer.Option(help="Optimizer.")
    ] = OptimizerName.adam,
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    weight_decay: Annotated[float, typer.Option(help="L2 weight decay.")] = 0.0,
    epochs: Annotated[
        int, typer.Option(min=1, help="Passes over the training set.")
    ] = 100,
    batch_size: BatchSizeOption = "32",
    seed: SeedOption = 42,
    val: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Fraction held out to validate.")
    ] = 0.0,
    early_stopping: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after N epochs without improvement."),
    ] = None,
    init: Annotated[
        Init,
        typer.Option(
            help="Weights: normal = the lab's N(0, 1) (learns XOR with seed 42), "
            "he (ReLU), xavier, default (PyTorch's); auto = normal for xor/and/or, "
            "default otherwise."
        ),
    ] = Init.auto,
    dropout: Annotated[
        float, typer.Option(help="Dropout after each hidden layer.")
    ] = 0.0,
    batchnorm: Annotated[
        bool, typer.Option(help="BatchNorm1d after each hidden Linear.")
    ] = False,
    standardize: Annotated[
        bool | None,
        typer.Option(
            help="Scale features to mean 0, std 1 (fitted on the training split). "
            "Default: on unless every feature is already within [-1, 1]."
        ),
    ] = None,
    log_every: Annotated[
        int | None,
        typer.Option(
            min=1, help="Log every N epochs (default: ten lines for long runs)."
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option(min=0, max=2, help="0 silent, 1 progress bar, 2 one line.")
    ] = 2,
    out: Annotated[
        Path | None, typer.Option(help="Save the trained model here.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Save the loss (and accuracy) curves to this PNG file."),
    ] = None,
    animate: Annotated[
        Path | None,
        typer.Option(
            help="Save the decision boundary evolving through training to this GIF "
            "file (2-D datasets only)."
        ),
    ] = None,
) -> None:
    """Train a network on DATA and print its log (Keras' format)."""
    from deepgrad import data as dgdata
    from deepgrad import io
    from deepgrad import train as dgtrain

    dataset = load_data(data, target)
    hidden_sizes = parse_hidden(hidden)
    batch = parse_batch_size(batch_size)
    loss_name = loss.value if loss is not None else DEFAULT_LOSS[dataset.task]
    check_figure_paths(plot, animate, dataset)
    check_output_folder("--out", out)

    dg.manual_seed(seed)
    model = build_network(
        dataset.n_features,
        hidden_sizes,
        activation.value,
        loss_name,
        dataset.task,
        dataset.n_classes,
        dropout,
        batchnorm,
    )
    init_name = resolve_init(init.value, dataset.name)
    initialise(model, init_name, seed)
    loss_fn = LOSSES[loss_name]()
    optimizer_ = make_optimizer(
        optimizer.value, model.parameters(), lr, momentum, weight_decay
    )

    standardizer = None
    if standardize if standardize is not None else needs_standardizing(dataset.X):
        standardizer = dgdata.Standardizer()  # fitted on the training split only
    classifier = dgtrain.Classifier(
        model,
        loss_fn=loss_fn,
        optimizer=optimizer_,
        standardizer=standardizer,
        class_names=dataset.class_names,
        task=dataset.task,
        feature_names=dataset.feature_names,
        target_name=target,
    )
    callbacks: list[dgtrain.Callback] = []
    if early_stopping is not None:
        monitor = "val_loss" if val > 0 else "loss"
        callbacks.append(
            dgtrain.EarlyStopping(
                monitor=monitor, patience=early_stopping, restore_best_weights=True
            )
        )
    recorder = None
    if animate is not None:
        from deepgrad.plots import BoundaryRecorder

        # about 40 frames, whatever the number of epochs
        recorder = BoundaryRecorder(
            dataset.X,
            dataset.y,
            every=max(1, epochs // 40),
            class_names=dataset.class_names,
        )
        callbacks.append(recorder)
    if verbose:
        typer.echo(
            f"Training on {dataset.name}: {dataset.n_samples} samples, "
            f"{dataset.n_features} features, task {dataset.task}, loss {loss_name}, "
            f"optimizer {optimizer.value}, init {init_name}, "
            f"standardize {'on' if standardizer else 'off'}"
        )
    history = classifier.fit(
        dataset.X,
        dataset.y,
        epochs=epochs,
        batch_size=batch,
        validation=val if val > 0 else None,
        callbacks=callbacks,
        verbose=verbose,
        log_every=log_every or default_log_every(epochs),
        seed=seed,
    )
    if history.interrupted:
        if out is not None:
            io.save(
                classifier,
                out,
                optimizer=optimizer_,
                training_state=history.training_state,
            )
            typer.echo(f"Interrupted: saved a checkpoint to {out}")
        else:
            typer.echo("Interrupted (no --out given, nothing saved)")
        raise typer.Exit(EXIT_INTERRUPTED)
    if out is not None:
        io.save(classifier, out)
        typer.echo(f"Saved model to {out}")
    if plot is not None:
        from deepgrad.plots import plot_history

        plot_history(history, path=plot)
        typer.echo(f"Saved the loss plot to {plot}")
    if recorder is not None and animate is not None:
        recorder.save(animate)
        typer.echo(
            f"Saved the decision boundary animation ({len(recorder.snapshots)} "
            f"frames) to {animate}"
        )
    if history.diverged:
        raise typer.Exit(EXIT_DIVERGED)


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


@app.command()
def evaluate(
    model: Annotated[
        Path, typer.Argument(help="A model file from `deepgrad train --out`.")
    ],
    data: Annotated[str, typer.Argument(help="A built-in dataset or a CSV file.")],
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
def predict(
    model: Annotated[
        Path, typer.Argument(help="A model file from `deepgrad train --out`.")
    ],
    data: Annotated[str, typer.Argument(help="A built-in dataset or a CSV file.")],
    target: Annotated[
        str | None,
        typer.Option(
            help="A label column to leave out of the features, if the CSV has one."
        ),
    ] = None,
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


@app.command()
def datasets() -> None:
    """List the built-in datasets."""
    from deepgrad import data

    table = Table()
    for column in ("name", "task", "samples", "features", "classes", "description"):
        table.add_column(
            column,
            justify="right" if column in ("samples", "features", "classes") else "left",
        )
    for entry in data.available_datasets():
        table.add_row(
            entry["name"],
            entry["task"],
            str(entry["n_samples"]),
            str(entry["n_features"]),
            str(entry["n_classes"] if entry["n_classes"] is not None else "-"),
            entry["description"],
        )
    console.print(table)


@app.command()
def gradcheck(
    hidden: Annotated[
        str, typer.Option(help="Hidden layer sizes, comma-separated.")
    ] = "4,4",
    activation: Annotated[
        Activation, typer.Option(help="Hidden activation.")
    ] = Activation.sigmoid,
    dataset: Annotated[
        str, typer.Option(help="The built-in dataset to check on.")
    ] = "xor",
    loss: Annotated[
        Loss | None, typer.Option(help="Loss (default: the dataset's usual one).")
    ] = None,
    samples: Annotated[
        int, typer.Option(min=1, help="Use at most this many samples.")
    ] = 64,
    seed: Annotated[int, typer.Option(help="Seed of the weights.")] = 42,
    tolerance: Annotated[
        float, typer.Option(help="Largest relative error accepted.")
    ] = 1e-5,
) -> None:
    """Compare backprop's gradient with a numerical one, parameter by parameter."""
    from deepgrad import data as dgdata

    loaded = dgdata.load_dataset(dataset)
    loss_name = loss.value if loss is not None else DEFAULT_LOSS[loaded.task]
    dg.manual_seed(seed)
    model = build_network(
        loaded.n_features,
        parse_hidden(hidden),
        activation.value,
        loss_name,
        loaded.task,
        loaded.n_classes,
    )
    initialise(model, "normal", seed)
    X, y = loaded.X[:samples], loaded.y[:samples]
    if loss_name == "ce":
        targets: np.ndarray = y.astype(np.int64)
    else:
        targets = y.astype(np.float64).reshape(-1, 1)
    errors = dg.model_gradcheck(model, LOSSES[loss_name](), X, targets)

    typer.echo(f"Gradient check on {dataset} ({len(X)} samples, loss {loss_name})")
    table = Table()
    table.add_column("parameter")
    table.add_column("shape", justify="right")
    table.add_column("relative error", justify="right")
    table.add_column("")
    parameters = dict(model.named_parameters())
    failed = []
    for name, error in errors.items():
        ok = error <= tolerance
        if not ok:
            failed.append(name)
        shape = "x".join(str(size) for size in parameters[name].shape)
        table.add_row(name, shape, f"{error:.2e}", "ok" if ok else "[red]FAIL[/red]")
    console.print(table)
    if failed:
        typer.echo(
            f"Error: backprop and numerical gradients differ by more than {tolerance:g} "
            f"for {', '.join(failed)}",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"All {len(errors)} gradients agree within {tolerance:g}.")


@app.command()
def explain(
    data: DataArgument,
    target: TargetOption = None,
    hidden: HiddenOption = "4,4",
    activation: ActivationOption = Activation.sigmoid,
    loss: LossOption = None,
    optimizer: Annotated[
        OptimizerName, typer.Option(help="Optimizer of the epochs trained first.")
    ] = OptimizerName.sgd,
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    epochs: Annotated[
        int,
        typer.Option(
            "--epoch",
            "--epochs",
            min=0,
            help="Train this many epochs first (0: trace the untrained network).",
        ),
    ] = 0,
    batch_size: BatchSizeOption = "full",
    seed: SeedOption = 42,
    init: Annotated[
        Init,
        typer.Option(
            help="Weights: normal (the lab's N(0, 1)), he, xavier, default; "
            "auto = normal for xor/and/or, default otherwise."
        ),
    ] = Init.auto,
    sample: Annotated[
        int | None,
        typer.Option(
            help="Trace this one row of the data (0-based); default: all rows."
        ),
    ] = None,
    standardize: Annotated[
        bool | None,
        typer.Option(
            help="Scale features to mean 0, std 1. Default: on unless every "
            "feature is already within [-1, 1]."
        ),
    ] = None,
    decimals: Annotated[
        int, typer.Option(min=0, max=12, help="Digits after the point.")
    ] = 4,
    gradcheck: Annotated[
        bool,
        typer.Option(
            help="Also check every gradient numerically (slow for large models)."
        ),
    ] = True,
    tolerance: Annotated[
        float, typer.Option(help="Largest gradient-check relative error accepted.")
    ] = 1e-5,
) -> None:
    """Print one forward and backward pass, layer by layer, and its gradient check."""
    from deepgrad import data as dgdata
    from deepgrad import explain as dgexplain
    from deepgrad import train as dgtrain

    dataset = load_data(data, target)
    if sample is not None and not 0 <= sample < dataset.n_samples:
        raise ValueError(
            f"--sample expects a row index from 0 to {dataset.n_samples - 1} "
            f"({dataset.name} has {dataset.n_samples} samples), received: {sample}"
        )
    hidden_sizes = parse_hidden(hidden)
    batch = parse_batch_size(batch_size)
    loss_name = loss.value if loss is not None else DEFAULT_LOSS[dataset.task]

    # the network `deepgrad train` builds with the same options
    dg.manual_seed(seed)
    model = build_network(
        dataset.n_features,
        hidden_sizes,
        activation.value,
        loss_name,
        dataset.task,
        dataset.n_classes,
    )
    init_name = resolve_init(init.value, dataset.name)
    initialise(model, init_name, seed)
    loss_fn = LOSSES[loss_name]()
    X = dataset.X
    if standardize if standardize is not None else needs_standardizing(X):
        X = dgdata.Standardizer().fit_transform(X)
    state = "untrained"
    if epochs:
        classifier = dgtrain.Classifier(
            model,
            loss_fn=loss_fn,
            optimizer=make_optimizer(
                optimizer.value, model.parameters(), lr, momentum, 0.0
            ),
            class_names=dataset.class_names,
            task=dataset.task,
        )
        history = classifier.fit(
            X, dataset.y, epochs=epochs, batch_size=batch, verbose=0, seed=seed
        )
        state = (
            f"after {len(history.epoch)} epochs of {optimizer.value} "
            f"(loss {history.history['loss'][-1]:.{decimals}f})"
        )
    rows = slice(None) if sample is None else slice(sample, sample + 1)
    result = dgexplain.trace(
        model, X[rows], dataset.y[rows], loss_fn, gradcheck, tolerance
    )
    rows_text = "all rows" if sample is None else f"row {sample}"
    typer.echo(
        f"Backprop through {dataset.name} ({rows_text}), hidden {hidden}, "
        f"{activation.value}, loss {loss_name}, {state}"
    )
    console.print(dgexplain.format_trace(result, decimals))
    failed = [row.symbol for row in result.gradcheck_failures]
    if failed:
        typer.echo(
            f"Error: backprop and numerical gradients differ by more than {tolerance:g} "
            f"for {', '.join(failed)}",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def sweep(
    data: Annotated[
        str,
        typer.Argument(help="A built-in dataset (see `deepgrad datasets`) or a CSV."),
    ],
    target: TargetOption = None,
    hidden: Annotated[
        str,
        typer.Option(help="Hidden sizes; several separated by ';' (e.g. '2;4,4;8,8')."),
    ] = "4,4",
    activation: Annotated[
        str, typer.Option(help="Hidden activation(s), e.g. sigmoid,relu.")
    ] = "sigmoid",
    loss: Annotated[
        str | None, typer.Option(help="Loss(es); default: the dataset's usual one.")
    ] = None,
    optimizer: Annotated[
        str, typer.Option(help="Optimizer(s), e.g. sgd,adam.")
    ] = "sgd",
    lr: Annotated[
        str | None,
        typer.Option(
            help="Learning rate(s), e.g. 0.01,0.1,0.5,1,2 (default: sgd's 0.1)."
        ),
    ] = None,
    momentum: Annotated[str, typer.Option(help="Momentum value(s), e.g. 0,0.9.")] = "0",
    weight_decay: Annotated[str, typer.Option(help="L2 weight decay value(s).")] = "0",
    batch_size: Annotated[
        str,
        typer.Option(help="Batch size(s): 1 (stochastic), N (mini-batch), full."),
    ] = "full",
    init: Annotated[
        str,
        typer.Option(
            help="Weight init(s): auto (the lab's normal for xor/and/or, else "
            "PyTorch's default), normal, he, xavier, default."
        ),
    ] = "auto",
    dropout: Annotated[str, typer.Option(help="Dropout value(s).")] = "0",
    epochs: Annotated[int, typer.Option(min=1, help="Epochs of every run.")] = 1000,
    seed: Annotated[
        int, typer.Option(help="Seed of the shared initial weights and shuffling.")
    ] = 42,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (default: one per CPU core)."),
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="Count the epochs until the loss falls below this.")
    ] = 0.1,
    plot: Annotated[
        Path | None,
        typer.Option(help="Save every run's loss curve in this PNG file."),
    ] = None,
) -> None:
    """Train one network from the same weights under every combination of the
    options given several comma-separated values, in parallel; compare the runs."""
    import os

    check_figure_paths(plot, None, None)

    from deepgrad import sweep as dgsweep

    given = {
        "hidden": hidden,
        "activation": activation,
        "loss": loss,
        "optimizer": optimizer,
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "batch_size": batch_size,
        "init": init,
        "dropout": dropout,
    }
    base: dict[str, Any] = {"data": data, "target": target, "epochs": epochs}
    grid: dict[str, list[Any]] = {}
    for option, text in given.items():
        if text is not None:
            values = dgsweep.parse_option_values(option, text)
            if len(values) > 1:
                grid[option] = values
            else:
                base[option] = values[0]
    if not grid:  # a single run, labelled by its learning rate
        grid["lr"] = [base.pop("lr", None) or OPTIMIZERS.get(optimizer, ("", None))[1]]
    runs = dgsweep.plan_sweep(base, grid, seed)  # checks every value before training
    workers = min(jobs or os.cpu_count() or 1, len(runs))
    typer.echo(
        f"Sweeping {' x '.join(grid)} on {data}: {len(runs)} run"
        f"{'s' if len(runs) > 1 else ''} of {epochs} epochs "
        f"from the same initial weights (seed {seed}), "
        f"{workers} process{'es' if workers > 1 else ''}"
    )
    results = dgsweep.run_sweep(
        base, grid, n_jobs=workers, threshold=threshold, seed=seed
    )

    table = Table()
    for option in grid:
        table.add_column(option.replace("_", " "), justify="right")
    for column in ("final loss", "accuracy", f"epochs to loss < {threshold:g}"):
        table.add_column(column, justify="right")
    table.add_column("diverged")
    table.add_column("time", justify="right")
    for result in results:
        accuracy = result["final_accuracy"]
        reached = result["epochs_to_threshold"]
        table.add_row(
            *(dgsweep.format_value(value) for value in result["options"].values()),
            f"{result['final_loss']:.4g}",
            "-" if accuracy is None else f"{accuracy:.2f}",
            "never" if reached is None else str(reached),
            "[red]yes[/red]" if result["diverged"] else "no",
            f"{result['time']:.1f}s",
        )
    console.print(table)
    converged = [result for result in results if result["epochs_to_threshold"]]
    if converged:
        fastest = min(converged, key=lambda result: result["epochs_to_threshold"])
        typer.echo(
            f"Fastest below {threshold:g}: {fastest['label']} "
            f"(epoch {fastest['epochs_to_threshold']})"
        )
    diverged = [result["label"] for result in results if result["diverged"]]
    if diverged:
        typer.echo(f"Diverged: {'; '.join(diverged)}")
    if len(results) == 1:
        typer.echo("One run: give an option several values, e.g. --lr 0.01,0.1,0.5,1,2")
    if plot is not None:
        from deepgrad import plots

        plots.plot_lr_sweep(results, plot)
        typer.echo(f"Saved the loss curves to {plot}")


def main() -> None:
    """Entry point of the ``deepgrad`` console script."""
    app()
