"""Networks, optimizers and data built from plain options: what ``deepgrad train``,
``explain`` and ``sweep`` (and ``deepgrad.sweep.run_sweep``) share.

Options are the command line's words (``"sigmoid"``, ``"bce"``, ``"sgd"``, hidden
sizes ``"4,4"``, batch size ``"full"``), so a run described in a sweep's config is
built exactly as ``deepgrad train`` builds it. NumPy and deepgrad only: no typer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import deepgrad as dg
from deepgrad import nn

INITS = ("auto", "normal", "he", "xavier", "default")
# the lab's logic gates, which its N(0, 1) initialisation is made for
LAB_DATASETS = ("xor", "and", "or")

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
}

LOSSES: dict[str, type[nn.Module]] = {
    "bce": nn.BCELoss,
    "bce_logits": nn.BCEWithLogitsLoss,
    "ce": nn.CrossEntropyLoss,
    "mse": nn.MSELoss,
}

# Each optimizer with its default learning rate and the options it accepts.
OPTIMIZERS: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "sgd": ("SGD", 0.1, ("momentum", "weight_decay")),
    "adam": ("Adam", 0.01, ("weight_decay",)),
    "adamw": ("AdamW", 0.01, ("weight_decay",)),
    "rmsprop": ("RMSprop", 0.01, ("momentum", "weight_decay")),
    "adagrad": ("Adagrad", 0.1, ("weight_decay",)),
}

DEFAULT_LOSS = {"binary": "bce", "multiclass": "ce", "regression": "mse"}


def parse_hidden(text: str) -> list[int]:
    """``"4,4"`` -> ``[4, 4]``; ``""`` or ``"none"`` -> ``[]`` (no hidden layer).

    Raises
    ------
    ValueError
        For anything but comma-separated positive integers.
    """
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(size <= 0 for size in sizes):
        raise ValueError(
            "--hidden expects comma-separated positive layer sizes such as 4,4, "
            f"received: {text!r}"
        )
    return sizes


def parse_batch_size(text: str) -> int | str:
    """``"full"`` (the whole set per step) or a positive integer."""
    if text.strip().lower() == "full":
        return "full"
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size <= 0:
        raise ValueError(
            f"--batch-size expects 'full' or a positive integer, received: {text!r}"
        )
    return size


def load_data(
    source: str, target: str | None, class_names: Sequence[str] | None = None
):
    """A built-in dataset by name, or a CSV/NPZ file (CSV needs ``target``).

    Raises
    ------
    ValueError
        For an unknown dataset, a CSV without ``target``, or bad file content.
    FileNotFoundError
        For a path that does not exist.
    """
    from deepgrad import data

    path = Path(source)
    builtin = {entry["name"] for entry in data.available_datasets()}
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        if source not in builtin and path.exists():
            raise ValueError(
                f"{path.name}: give a .csv or .npz file, or a built-in dataset name "
                "(see `deepgrad datasets`)"
            )
        if target is not None:
            raise ValueError(
                f"--target applies to CSV files; {source!r} is a built-in dataset"
            )
        return data.load_dataset(source)
    if not path.is_file():
        raise FileNotFoundError(2, "No such data file", str(path))
    if path.suffix.lower() == ".npz":
        return data.load_npz(path)
    if target is None and class_names is None:
        raise ValueError(
            f"{path.name} is a CSV file: name its label column with --target COLUMN"
        )
    return data.load_csv(path, target, class_names=class_names)


def output_layers(
    loss: str, task: str, in_features: int, n_classes: int | None
) -> list[nn.Module]:
    """The last layer(s) for a loss and task: what the loss expects to receive.

    bce: 1 sigmoid unit (the probability of class 1); bce_logits: 1 logit; ce: one
    logit per class; mse (regression): 1 linear unit.
    """
    if (task == "regression") != (loss == "mse"):
        raise ValueError(
            "--loss mse is for numeric targets (regression), bce and ce for classes; "
            f"this data's task is {task}: use --loss "
            f"{'mse' if task == 'regression' else DEFAULT_LOSS[task]}"
        )
    classes = n_classes or 2
    if loss in ("bce", "bce_logits") and classes != 2:
        raise ValueError(
            f"--loss {loss} is for two classes; this data has {classes}: use --loss ce"
        )
    if loss == "bce":
        return [nn.Linear(in_features, 1), nn.Sigmoid()]
    if loss == "ce":
        return [nn.Linear(in_features, classes)]
    return [nn.Linear(in_features, 1)]


def build_network(
    n_features: int,
    hidden: Sequence[int],
    activation: str,
    loss: str,
    task: str,
    n_classes: int | None,
    dropout: float = 0.0,
    batchnorm: bool = False,
) -> nn.Sequential:
    """An MLP: per hidden size Linear [-> BatchNorm1d] -> activation [-> Dropout]."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(
            f"--dropout expects a probability in [0, 1), received: {dropout}"
        )
    layers: list[nn.Module] = []
    width = n_features
    for size in hidden:
        layers.append(nn.Linear(width, size))
        if batchnorm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    return nn.Sequential(*layers, *output_layers(loss, task, width, n_classes))


def resolve_init(init: str, dataset_name: str | None) -> str:
    """``auto``: the lab's ``normal`` for its logic gates, PyTorch's ``default``
    elsewhere (N(0, 1) weights saturate wider layers: digits trains to 0.75
    accuracy with them and to 0.93 with PyTorch's init)."""
    if init != "auto":
        return init
    return "normal" if dataset_name in LAB_DATASETS else "default"


def initialise(model: nn.Module, init: str, seed: int) -> None:
    """Re-draw every Linear layer's weights, zero biases, from ``seed``.

    normal: W ~ N(0, 1) drawn as the lab does, ``randn(in, out)`` layer after layer
    (so ``--seed 42`` gives the lab notebook's numbers); he: kaiming_normal_
    (ReLU gain); xavier: xavier_uniform_; default: PyTorch's Linear init, unchanged
    (drawn from ``seed`` too).
    """
    dg.manual_seed(seed)
    if init == "default":
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
        return
    for layer in model.modules():
        if not isinstance(layer, nn.Linear):
            continue
        if init == "normal":
            drawn = dg.randn(layer.in_features, layer.out_features).numpy()
            layer.weight.data[...] = drawn.T
        elif init == "he":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        else:
            nn.init.xavier_uniform_(layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def make_optimizer(
    name: str, params: Any, lr: float | None, momentum: float, weight_decay: float
):
    """The optimizer ``name`` with the options it takes (momentum only for some)."""
    class_name, default_lr, accepted = OPTIMIZERS[name]
    options: dict[str, float] = {"lr": default_lr if lr is None else lr}
    if momentum and "momentum" not in accepted:
        raise ValueError(
            f"--momentum does not apply to --optimizer {name}; use sgd or rmsprop"
        )
    if "momentum" in accepted:
        options["momentum"] = momentum
    if weight_decay:
        options["weight_decay"] = weight_decay
    return getattr(dg.optim, class_name)(params, **options)


def default_log_every(epochs: int) -> int:
    """Every epoch for short runs; ten lines for long ones (every 500 of 5000)."""
    return 1 if epochs <= 100 else max(1, epochs // 10)


def initialised_network(
    dataset: Any,
    hidden_sizes: Sequence[int],
    activation: str,
    loss: str,
    init: str,
    seed: int,
    dropout: float = 0.0,
    batchnorm: bool = False,
) -> tuple[nn.Sequential, str]:
    """The network ``deepgrad train`` builds for ``dataset``, initialised from
    ``seed`` (``deepgrad sweep`` builds each of its runs' networks the same way),
    and the init that ``auto`` resolved to."""
    dg.manual_seed(seed)
    model = build_network(
        dataset.n_features,
        hidden_sizes,
        activation,
        loss,
        dataset.task,
        dataset.n_classes,
        dropout,
        batchnorm,
    )
    init_name = resolve_init(init, dataset.name)
    initialise(model, init_name, seed)
    return model, init_name


def needs_standardizing(X: np.ndarray) -> bool:
    """True unless every feature already lies in [-1, 1] (the lab's 0/1 inputs)."""
    return bool(X.size) and bool(np.abs(X).max() > 1.0)
