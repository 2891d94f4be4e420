"""Networks, optimizers and data built from plain options: what ``deepgrad train``,
``explain`` and ``sweep`` (and ``deepgrad.sweep.run_sweep``) share.

Options are the command line's words (``"sigmoid"``, ``"bce"``, ``"sgd"``, hidden
sizes ``"4,4"``, batch size ``"full"``), so a run described in a sweep's config is
built exactly as ``deepgrad train`` builds it. NumPy and deepgrad only: no typer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
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

# Arrays of each parameter's size an optimizer keeps besides the weight and its
# gradient (PyTorch's state): Adam's exp_avg and exp_avg_sq, RMSprop's square_avg,
# Adagrad's sum; SGD and RMSprop keep one more, momentum_buffer, with --momentum.
OPTIMIZER_STATE_COPIES = {"sgd": 0, "adam": 2, "adamw": 2, "rmsprop": 1, "adagrad": 1}
# Arrays of one batch's layer width a training step holds per layer: the
# pre-activation Z, the activation A and their gradients dL/dZ, dL/dA.
ACTIVATION_COPIES = 4
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


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
    source: str,
    target: str | None,
    class_names: Sequence[str] | None = None,
    task: str = "auto",
):
    """A built-in dataset by name, or a CSV/NPZ file (CSV needs ``target``).

    ``task`` is :func:`deepgrad.data.load_csv`'s (``"auto"`` chooses regression
    for a CSV target of many distinct numbers); a built-in set or an NPZ file
    has its own task, which any other than ``"auto"`` must name.

    Raises
    ------
    ValueError
        For an unknown dataset, a CSV without ``target``, bad file content, or a
        ``task`` that is not the built-in set's or the NPZ file's.
    FileNotFoundError
        For a path that does not exist.
    """
    if Path(source).suffix.lower() == ".csv" and Path(source).is_file():
        if target is None and class_names is None:
            raise ValueError(
                f"{Path(source).name} is a CSV file: name its label column with "
                "--target COLUMN"
            )
        from deepgrad import data

        return data.load_csv(source, target, class_names=class_names, task=task)
    dataset = _load_other_data(source, target)
    if task not in ("auto", dataset.task):
        raise ValueError(
            f"--task {task}: {dataset.name!r} is a {dataset.task} dataset; --task "
            "chooses what a CSV file's target column is"
        )
    return dataset


def _load_other_data(source: str, target: str | None):
    """A built-in dataset by name, or an NPZ file."""
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
    return data.load_npz(path)


def output_layers(
    loss: str, task: str, in_features: int, n_classes: int | None
) -> list[nn.Module]:
    """The last layer(s) for a loss and task: what the loss expects to receive.

    bce: 1 sigmoid unit (the probability of class 1); bce_logits: 1 logit; ce: one
    logit per class; mse (regression): 1 linear unit.
    """
    if (task == "regression") != (loss == "mse"):
        numeric = "--task regression for a numeric target"
        way_out = (
            "--loss mse"
            if task == "regression"
            else f"--loss {DEFAULT_LOSS[task]}, or {numeric}"
        )
        raise ValueError(
            "--loss mse is for numeric targets (regression), bce and ce for classes; "
            f"this data's task is {task}: use {way_out}"
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
            layer.weight.array[...] = drawn.T
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


@dataclass(frozen=True)
class MemoryEstimate:
    """The memory a network needs to train, estimated from its options before it
    is built (what :func:`estimate_memory` returns).

    Attributes
    ----------
    parameters : int
        Weights and biases (BatchNorm's scale and shift included).
    parameter_bytes : int
        The parameters, their gradients and the optimizer's state.
    activation_bytes : int
        Every layer's output and its gradient for one batch.
    """

    parameters: int
    parameter_bytes: int
    activation_bytes: int

    @property
    def total(self) -> int:
        return self.parameter_bytes + self.activation_bytes


def estimate_memory(
    widths: Sequence[int],
    batch_size: int,
    optimizer: str | None = None,
    momentum: float = 0.0,
    batchnorm: bool = False,
    itemsize: int = 4,
) -> MemoryEstimate:
    """Estimate a multilayer perceptron's training memory from its layer widths.

    With ``P`` parameters (``sum(w_i * w_(i+1) + w_(i+1))``, plus ``2 w`` per
    BatchNorm), ``c`` optimizer copies (:data:`OPTIMIZER_STATE_COPIES`, plus one
    momentum buffer for sgd and rmsprop with momentum) and a batch of ``B`` rows::

        parameter_bytes  = P * (2 + c) * itemsize          # weights, gradients, state
        activation_bytes = B * sum(widths) * ACTIVATION_COPIES * itemsize

    Parameters
    ----------
    widths : sequence of int
        Input features, every hidden size, then the outputs (``[2, 4, 4, 1]``).
    batch_size : int
        Rows per step.
    optimizer : str, optional
        A name of :data:`OPTIMIZERS`; None for a gradient without an update.
    momentum : float
        The optimizer's momentum.
    batchnorm : bool
        Whether each hidden Linear is followed by a BatchNorm1d.
    itemsize : int
        Bytes per number: 4 for float32, 8 for float64.

    Returns
    -------
    MemoryEstimate

    Example
    -------
    >>> estimate_memory([2, 4, 4, 1], batch_size=4, optimizer="sgd").total
    1000
    """
    parameters = sum(
        inputs * outputs + outputs
        for inputs, outputs in zip(widths[:-1], widths[1:], strict=True)
    )
    if batchnorm:
        parameters += 2 * sum(widths[1:-1])
    copies = 2
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise ValueError(
            f"--optimizer expects one of {', '.join(OPTIMIZERS)}, received: "
            f"{optimizer!r}"
        )
    if optimizer is not None:
        copies += OPTIMIZER_STATE_COPIES[optimizer]
        if momentum and "momentum" in OPTIMIZERS[optimizer][2]:
            copies += 1
    return MemoryEstimate(
        parameters=parameters,
        parameter_bytes=parameters * copies * itemsize,
        activation_bytes=batch_size * sum(widths) * ACTIVATION_COPIES * itemsize,
    )


def estimate_network_memory(
    dataset: Any,
    hidden: Sequence[int],
    loss: str,
    batch_size: int | str,
    optimizer: str | None = None,
    momentum: float = 0.0,
    batchnorm: bool = False,
    itemsize: int = 4,
) -> MemoryEstimate:
    """:func:`estimate_memory` for the network :func:`initialised_network` builds
    for ``dataset`` (its outputs as :func:`output_layers` sets them), trained in
    batches of ``batch_size`` rows (``"full"``: all of them)."""
    outputs = (dataset.n_classes or 2) if loss == "ce" else 1
    rows = dataset.n_samples
    if batch_size != "full":
        rows = min(int(batch_size), rows)
    return estimate_memory(
        [dataset.n_features, *hidden, outputs],
        rows,
        optimizer,
        momentum,
        batchnorm,
        itemsize,
    )


def available_memory() -> int | None:
    """Bytes a new allocation can take now, or None where that cannot be read.

    Linux's ``MemAvailable`` (/proc/meminfo), lowered to what is left under the
    process's cgroup limit (a container's); elsewhere the free physical pages.
    """
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            used = int((cgroup / "memory.current").read_text())
            available = min(available, max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    return available


def parse_memory_size(text: str) -> int | None:
    """``"500M"`` -> 524288000 bytes (units B, K, M, G, T, powers of 1024, with an
    optional B or iB); ``"none"`` -> None (no limit).

    Raises
    ------
    ValueError
        For anything else, naming ``--max-memory``.
    """
    cleaned = text.strip().lower()
    if cleaned == "none":
        return None
    number = cleaned.removesuffix("ib").removesuffix("b")
    unit = number[-1:] if number[-1:] in _MEMORY_UNITS else ""
    try:
        size = float(number[: len(number) - len(unit)])
    except ValueError:
        size = -1.0
    if not 0 < size < float("inf"):
        raise ValueError(
            "--max-memory expects a size such as 500M or 8G (or none), "
            f"received: {text!r}"
        )
    return int(size * _MEMORY_UNITS[unit])


def format_bytes(size: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    power = 0
    while size >= 1024 and power < len(units) - 1:
        size /= 1024
        power += 1
    return f"{size:.0f} B" if power == 0 else f"{size:.1f} {units[power]}"


def check_memory(estimate: MemoryEstimate, max_memory: str | None, what: str) -> None:
    """Refuse a run whose estimate exceeds ``max_memory`` (a size for
    :func:`parse_memory_size`), by default the memory available now.

    Raises
    ------
    ValueError
        Naming ``what``, the estimate, the limit and ``--max-memory``.
    """
    if max_memory is None:
        limit, source = available_memory(), "available"
    else:
        limit, source = parse_memory_size(max_memory), "allowed by --max-memory"
    if limit is None or estimate.total <= limit:
        return
    raise ValueError(
        f"{what} would need about {format_bytes(estimate.total)} of memory "
        f"({estimate.parameters:,} parameters with their gradients and optimizer "
        f"state: {format_bytes(estimate.parameter_bytes)}; one batch's activations: "
        f"{format_bytes(estimate.activation_bytes)}), more than the "
        f"{format_bytes(limit)} {source}; use smaller --hidden layers or "
        "--batch-size, or --max-memory SIZE to try anyway"
    )
