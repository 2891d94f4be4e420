"""A playground run's configuration, checked, and the server's limits.

The page sends its configuration as JSON (and keeps it in its URL);
``check_fields`` checks each field on its own (CHECKS) and turns it into a
:class:`RunConfig`, a field that cannot be used keeping the value in use, with one
line for each refused field that names it, the value received and what is
allowed, which the page shows under the field. ``parse_config`` is the same check,
all or nothing: it raises the first of those lines as a ValueError. The options
carry ``deepgrad train``'s names and values, so a run maps onto the command line
and onto :func:`deepgrad.sweep.run_sweep`'s config one to one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from deepgrad.recipes import ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, estimate_memory


@dataclass(frozen=True)
class Limits:
    """What one server allows, so that a 2-core machine stays responsive.

    Attributes
    ----------
    max_sessions : int
        Browser tabs training at once; one more is refused with a message.
    max_parameters : int
        Weights and biases of one network.
    max_samples : int
        Points of one dataset (generated, drawn or uploaded).
    max_epochs : int
        Epochs of one run.
    max_upload_bytes : int
        Size of an uploaded CSV file.
    idle_timeout : float
        Seconds without a message from its tab after which a session is freed.
    """

    max_sessions: int = 32
    max_parameters: int = 20_000
    max_samples: int = 2_000
    max_epochs: int = 20_000
    max_upload_bytes: int = 1_048_576
    idle_timeout: float = 900.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(
                    f"Limits: {item.name} must be a number > 0, received: {value!r}"
                )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# the hidden layers the page can draw, neurons and heat maps included
MAX_HIDDEN_LAYERS = 6
MAX_NEURONS = 32


@dataclass(frozen=True)
class RunConfig:
    """One run: the data, the network, the optimizer, how long to train.

    ``dataset`` is a name of :data:`deepgrad.playground.data.DATASETS`; ``points``
    holds the clicked points of ``"custom"`` as ``[x, y, class]``; ``target`` and
    ``file`` name an uploaded CSV's label column and file (``"csv"``). The rest are
    ``deepgrad train``'s options.
    """

    dataset: str = "xor"
    samples: int = 200
    noise: float = 0.1
    data_seed: int = 0
    test_ratio: float = 0.0
    points: tuple[tuple[float, float, int], ...] = ()
    target: str | None = None
    file: str | None = None
    hidden: tuple[int, ...] = (4, 4)
    activation: str = "sigmoid"
    init: str = "auto"
    dropout: float = 0.0
    batchnorm: bool = False
    loss: str | None = None
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    l1: float = 0.0
    batch_size: int | str = "full"
    epochs: int = 5000
    seed: int = 42
    standardize: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["hidden"] = list(self.hidden)
        values["points"] = [list(point) for point in self.points]
        return values


def _number(name: str, value: Any, low: float, high: float, integer: bool) -> Any:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError(
                    f"{name}: expected {kind}, received: {value!r}"
                ) from None
        else:
            raise ValueError(f"{name}: expected {kind}, received: {value!r}")
    if not math.isfinite(value) or (integer and value != int(value)):
        raise ValueError(f"{name}: expected {kind}, received: {value!r}")
    if not low <= value <= high:
        raise ValueError(
            f"{name}: expected {kind} from {low:g} to {high:g}, received: {value:g}"
        )
    return int(value) if integer else float(value)


def _choice(name: str, value: Any, choices: Any) -> str:
    if value not in choices:
        raise ValueError(
            f"{name}: expected one of {', '.join(choices)}, received: {value!r}"
        )
    return str(value)


def _hidden(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or len(value) > MAX_HIDDEN_LAYERS:
        raise ValueError(
            f"hidden: expected up to {MAX_HIDDEN_LAYERS} layer sizes, received: "
            f"{value!r}"
        )
    return tuple(
        _number(f"hidden layer {index}", size, 1, MAX_NEURONS, integer=True)
        for index, size in enumerate(value, start=1)
    )


def _points(value: Any) -> tuple[tuple[float, float, int], ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"points: expected a list of [x, y, class], received: {value!r}"
        )
    points = []
    for index, point in enumerate(value, start=1):
        if not isinstance(point, (list, tuple)) or len(point) != 3:
            raise ValueError(
                f"points: point {index} should be [x, y, class], received: {point!r}"
            )
        x = _number(f"points: point {index} x", point[0], -1e6, 1e6, integer=False)
        y = _number(f"points: point {index} y", point[1], -1e6, 1e6, integer=False)
        label = _number(f"points: point {index} class", point[2], 0, 9, integer=True)
        points.append((x, y, label))
    return tuple(points)


def _batch_size(value: Any) -> int | str:
    if value in ("full", None, ""):
        return "full"
    return _number("batch_size", value, 1, 1_000_000, integer=True)


def _flag(name: str, value: Any, optional: bool) -> bool | None:
    if optional and value in (None, "auto"):
        return None
    if value in (True, "true", "on", 1):
        return True
    if value in (False, "false", "off", 0):
        return False
    allowed = "true, false or auto" if optional else "true or false"
    raise ValueError(f"{name}: expected {allowed}, received: {value!r}")


def _optional_text(name: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(f"{name}: expected a column or file name, received: {value!r}")
    return value


# each field's check: (the page's value, the server's limits) -> the checked value
CHECKS: dict[str, Callable[[Any, Limits], Any]] = {
    "dataset": lambda value, limits: _dataset(value),
    "samples": lambda value, limits: _number(
        "samples", value, 4, limits.max_samples, integer=True
    ),
    "noise": lambda value, limits: _number("noise", value, 0.0, 5.0, integer=False),
    "data_seed": lambda value, limits: _number(
        "data_seed", value, 0, 2**31 - 1, integer=True
    ),
    "test_ratio": lambda value, limits: _number(
        "test_ratio", value, 0.0, 0.9, integer=False
    ),
    "points": lambda value, limits: _points(value),
    "target": lambda value, limits: _optional_text("target", value),
    "file": lambda value, limits: _optional_text("file", value),
    "hidden": lambda value, limits: _hidden(value),
    "activation": lambda value, limits: _choice("activation", value, ACTIVATIONS),
    "init": lambda value, limits: _choice("init", value, INITS),
    "dropout": lambda value, limits: _number(
        "dropout", value, 0.0, 0.95, integer=False
    ),
    "batchnorm": lambda value, limits: bool(_flag("batchnorm", value, optional=False)),
    "loss": lambda value, limits: (
        None if value in (None, "", "auto") else _choice("loss", value, LOSSES)
    ),
    "optimizer": lambda value, limits: _choice("optimizer", value, OPTIMIZERS),
    "lr": lambda value, limits: _number("lr", value, 1e-7, 100.0, integer=False),
    "momentum": lambda value, limits: _number(
        "momentum", value, 0.0, 0.999, integer=False
    ),
    "nesterov": lambda value, limits: bool(_flag("nesterov", value, optional=False)),
    "weight_decay": lambda value, limits: _number(
        "weight_decay", value, 0.0, 1.0, integer=False
    ),
    "l1": lambda value, limits: _number("l1", value, 0.0, 1.0, integer=False),
    "batch_size": lambda value, limits: _batch_size(value),
    "epochs": lambda value, limits: _number(
        "epochs", value, 1, limits.max_epochs, integer=True
    ),
    "seed": lambda value, limits: _number("seed", value, 0, 2**31 - 1, integer=True),
    "standardize": lambda value, limits: _flag("standardize", value, optional=True),
}


def _dataset(value: Any) -> str:
    from deepgrad.playground.data import DATASETS

    return _choice("dataset", value, DATASETS)


def _momentum_problem(config: RunConfig) -> str | None:
    """What is wrong with momentum and nesterov for the optimizer, or None."""
    if config.momentum and "momentum" not in OPTIMIZERS[config.optimizer][2]:
        return (
            f"momentum: {config.optimizer} takes no momentum; use sgd or rmsprop, "
            "or set momentum to 0"
        )
    if config.nesterov and (config.optimizer != "sgd" or not config.momentum):
        return (
            "nesterov: Nesterov's momentum is a correction of SGD's momentum step; "
            "choose sgd with a momentum above 0, or untick nesterov"
        )
    return None


def default_config(limits: Limits) -> RunConfig:
    """RunConfig's defaults, the epochs within this server's limit."""
    return RunConfig(epochs=min(RunConfig.epochs, limits.max_epochs))


def check_fields(
    values: Mapping[str, Any], limits: Limits, in_use: RunConfig | None = None
) -> tuple[RunConfig, dict[str, str]]:
    """Check each field on its own: a field that cannot be used keeps its value
    of ``in_use``, so one bad field does not hold back the others.

    Missing keys take ``in_use``'s values (:func:`default_config` when None).

    Returns
    -------
    (RunConfig, dict)
        The configuration to run, and for each refused field (or unknown key)
        the one line that says why, in RunConfig's order.

    Raises
    ------
    ValueError
        When ``values`` is not an object.
    """
    if not isinstance(values, Mapping):
        raise ValueError(f"config: expected an object, received: {values!r}")
    base = in_use or default_config(limits)
    known = {item.name for item in fields(RunConfig)}
    refused: dict[str, str] = {}
    for name in sorted(set(values) - known):
        refused[name] = (
            f"config: unknown option {name}; known: {', '.join(sorted(known))}"
        )
    checked: dict[str, Any] = {}
    for item in fields(RunConfig):
        if item.name not in values:
            continue
        try:
            checked[item.name] = CHECKS[item.name](values[item.name], limits)
        except (TypeError, ValueError) as error:
            refused[item.name] = str(error)
    config = replace(base, **checked)
    # momentum, then nesterov (which needs momentum): a refused one keeps the
    # value in use, or where that does not fit the optimizer either, RunConfig's
    for _ in range(2):
        problem = _momentum_problem(config)
        if problem is None:
            break
        name = problem.split(":")[0]
        refused[name] = problem
        kept = replace(config, **{name: getattr(base, name)})
        still = _momentum_problem(kept)
        config = kept
        if still is not None and still.startswith(f"{name}:"):
            config = replace(config, **{name: getattr(RunConfig, name)})
    return config, refused


def parse_config(values: Mapping[str, Any], limits: Limits) -> RunConfig:
    """Check the page's configuration against the options and ``limits``.

    Missing keys take :class:`RunConfig`'s defaults; unknown keys are refused.

    Raises
    ------
    ValueError
        Naming the first field that cannot be used, the value and what is allowed.
    """
    config, refused = check_fields(values, limits)
    if refused:
        raise ValueError(next(iter(refused.values())))
    return config


def check_network_size(
    config: RunConfig, n_features: int, n_outputs: int, limits: Limits
) -> None:
    """Refuse a network with more parameters than ``limits.max_parameters``."""
    widths = [n_features, *config.hidden, n_outputs]
    parameters = estimate_memory(widths, 1, batchnorm=config.batchnorm).parameters
    if parameters > limits.max_parameters:
        raise ValueError(
            f"network: {'-'.join(map(str, widths))} has {parameters:,} parameters; "
            f"this server allows {limits.max_parameters:,} (--max-parameters): use "
            "fewer or smaller hidden layers"
        )
