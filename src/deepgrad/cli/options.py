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
from typing import Annotated

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


DataArgument = Annotated[
    str,
    typer.Argument(help="A built-in dataset (see `deepgrad datasets`) or a CSV file."),
]
ModelArgument = Annotated[
    Path, typer.Argument(help="A model file from `deepgrad train --out`.")
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
OptimizerOption = Annotated[OptimizerName, typer.Option(help="Optimizer.")]
LrOption = Annotated[
    float | None,
    typer.Option(
        callback=positive,
        help="Learning rate (default 0.1 for sgd/adagrad, 0.01 otherwise).",
    ),
]
MomentumOption = Annotated[
    float, typer.Option(callback=non_negative, help="Momentum (sgd, rmsprop).")
]
EpochsOption = Annotated[int, typer.Option(min=1, help="Passes over the training set.")]
BatchSizeOption = Annotated[
    str, typer.Option(help="'full' (whole set per step) or samples per step.")
]
SeedOption = Annotated[
    int, typer.Option(min=0, help="Seed of the weights and the shuffling (>= 0).")
]
InitOption = Annotated[
    Init,
    typer.Option(
        help="Weights: normal = the lab's N(0, 1) (learns XOR with seed 42), "
        "he (ReLU), xavier, default (PyTorch's); auto = normal for xor/and/or, "
        "default otherwise."
    ),
]
StandardizeOption = Annotated[
    bool | None,
    typer.Option(
        help="Scale features to mean 0, std 1 (fitted on the training split). "
        "Default: on unless every feature is already within [-1, 1]."
    ),
]
ToleranceOption = Annotated[
    float,
    typer.Option(
        callback=non_negative, help="Largest gradient-check relative error accepted."
    ),
]
PlotOption = Annotated[
    Path | None, typer.Option(help="Save the loss curves to this PNG file.")
]
MaxMemoryOption = Annotated[
    str | None,
    typer.Option(
        metavar="SIZE",
        help="Refuse a network estimated to need more memory than SIZE (e.g. 500M, "
        "8G; its weights, gradients, optimizer state and one batch's activations). "
        "Default: the memory available now; 'none' skips the check.",
    ),
]
