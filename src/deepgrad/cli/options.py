"""The option types of the ``deepgrad`` commands, each declared once.

An option two or more commands take is an ``Annotated`` alias here, so its flag and
help read the same in every ``--help``; each command sets its own default. An option
one command takes stays in that command's signature, and so do ``deepgrad sweep``'s,
which take several comma-separated values where the others take one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer


def _checked_number(
    test: Callable[[float], bool], expected: str
) -> Callable[[float | None], float | None]:
    """A typer callback refusing a number that fails ``test``, NaN and infinity
    too (typer's min/max let NaN through); the error line names the option."""

    def check(value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and test(value)):
            raise typer.BadParameter(f"expected {expected}, received: {value}")
        return value

    return check


positive = _checked_number(lambda value: value > 0, "a finite number > 0")
non_negative = _checked_number(lambda value: value >= 0, "a finite number >= 0")
fraction = _checked_number(
    lambda value: 0 <= value < 1, "a fraction in (0, 1), or 0 for none"
)
probability = _checked_number(lambda value: 0 <= value < 1, "a probability in [0, 1)")
finite = _checked_number(lambda value: True, "a finite number")


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


class Task(str, Enum):
    auto = "auto"
    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


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


# train's --help groups its options in these panels
DATA, NETWORK, OPTIMISATION, OUTPUT = "Data", "Network", "Optimisation", "Output"


def choices(names: type[Enum]) -> str:
    """``sgd, adam, ...`` for a help text, which wraps between them (a metavar
    column breaks ``sgd|adam|...`` mid-word at 80 columns)."""
    return ", ".join(str(name.value) for name in names)


def _option(metavar: str, help: str, panel: str | None = None, **checks: Any) -> Any:
    """A typer option with its metavar, help and --help panel (``checks``: a
    callback, min, max)."""
    return typer.Option(metavar=metavar, help=help, rich_help_panel=panel, **checks)


DataArgument = Annotated[
    str,
    typer.Argument(
        metavar="DATA",
        help="A built-in dataset (see `deepgrad datasets`) or a CSV file.",
        show_default=False,
    ),
]
ModelArgument = Annotated[
    Path,
    typer.Argument(metavar="MODEL", help="A model file from `deepgrad train --out`."),
]
TargetOption = Annotated[
    str | None,
    _option("COLUMN", "The label column of a CSV file.", DATA),
]
TaskOption = Annotated[
    Task,
    _option(
        "TASK",
        f"{choices(Task)}. auto: regression for numbers not whole, "
        "or more than 20 distinct whole numbers and more than 5% of the rows; "
        "classes otherwise.",
        DATA,
    ),
]
HiddenOption = Annotated[
    str,
    _option("SIZES", "Hidden layer sizes, comma-separated (e.g. 4,4).", NETWORK),
]
ActivationOption = Annotated[
    Activation,
    _option("NAME", f"Hidden layers' activation: {choices(Activation)}.", NETWORK),
]
LossOption = Annotated[
    Loss | None,
    _option(
        "LOSS",
        f"{choices(Loss)}; default bce for two classes, ce for more, mse for numbers.",
        NETWORK,
    ),
]
OptimizerOption = Annotated[
    OptimizerName,
    _option("NAME", f"Optimizer: {choices(OptimizerName)}.", OPTIMISATION),
]
LrOption = Annotated[
    float | None,
    _option(
        "RATE",
        "Learning rate (default 0.1 for sgd/adagrad, 0.01 otherwise; "
        "adam 0.001 for a regression).",
        OPTIMISATION,
        callback=positive,
    ),
]
MomentumOption = Annotated[
    float,
    _option("M", "Momentum (sgd, rmsprop).", OPTIMISATION, callback=non_negative),
]
NesterovOption = Annotated[
    bool,
    typer.Option(
        "--nesterov",
        help="Nesterov momentum (sgd).",
        rich_help_panel=OPTIMISATION,
    ),
]
EpochsOption = Annotated[
    int,
    _option("N", "Passes over the training set.", OPTIMISATION, min=1),
]
BatchSizeOption = Annotated[
    str,
    _option("SIZE", "'full' (whole set per step) or samples per step.", OPTIMISATION),
]
SeedOption = Annotated[
    int,
    _option("SEED", "Seed of the weights and shuffling.", OPTIMISATION, min=0),
]
InitOption = Annotated[
    Init,
    _option(
        "INIT",
        f"{choices(Init)}. normal: the lab's N(0, 1) (learns XOR with seed "
        "42); he: for ReLU; default: PyTorch's; auto: normal for xor/and/or, "
        "default otherwise.",
        NETWORK,
    ),
]
StandardizeOption = Annotated[
    bool | None,
    _option(
        "",
        "Scale features to mean 0, std 1 (fitted on the training split). "
        "Default: on unless every feature is already within [-1, 1].",
        DATA,
    ),
]
ToleranceOption = Annotated[
    float,
    _option(
        "ERROR",
        "Largest gradient-check relative error accepted.",
        callback=non_negative,
    ),
]
PlotOption = Annotated[
    Path | None,
    _option("PNG", "Save the loss curves to this PNG file.", OUTPUT),
]
MaxMemoryOption = Annotated[
    str | None,
    _option(
        "SIZE",
        "Refuse a network estimated to need more memory than SIZE (e.g. 500M, "
        "8G: weights, gradients, optimizer state, one batch's activations). "
        "Default: the memory available now; 'none' skips the check.",
        NETWORK,
    ),
]
