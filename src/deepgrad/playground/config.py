"""A playground run's configuration, checked, and the server's limits.

The page sends its configuration as JSON (and keeps it in its URL); ``parse_config``
turns it into a :class:`RunConfig` or raises a ValueError that names the field, the
value received and what is allowed, which the page shows as it is. The options
carry ``deepgrad train``'s names and values, so a run maps onto the command line
and onto :func:`deepgrad.sweep.run_sweep`'s config one to one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
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


def parse_config(values: Mapping[str, Any], limits: Limits) -> RunConfig:
    """Check the page's configuration against the options and ``limits``.

    Missing keys take :class:`RunConfig`'s defaults; unknown keys are refused.

    Raises
    ------
    ValueError
        Naming the first field that cannot be used, the value and what is allowed.
    """
    from deepgrad.playground.data import DATASETS

    if not isinstance(values, Mapping):
        raise ValueError(f"config: expected an object, received: {values!r}")
    known = {item.name for item in fields(RunConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(
            f"config: unknown option(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(known))}"
        )
    # an epoch count not given is the default, within this server's limit
    defaults = RunConfig(epochs=min(RunConfig.epochs, limits.max_epochs))
    value = {**defaults.as_dict(), **values}
    config = RunConfig(
        dataset=_choice("dataset", value["dataset"], DATASETS),
        samples=_number("samples", value["samples"], 4, limits.max_samples, True),
        noise=_number("noise", value["noise"], 0.0, 5.0, integer=False),
        data_seed=_number("data_seed", value["data_seed"], 0, 2**31 - 1, True),
        test_ratio=_number("test_ratio", value["test_ratio"], 0.0, 0.9, False),
        points=_points(value["points"]),
        target=_optional_text("target", value["target"]),
        file=_optional_text("file", value["file"]),
        hidden=_hidden(value["hidden"]),
        activation=_choice("activation", value["activation"], ACTIVATIONS),
        init=_choice("init", value["init"], INITS),
        dropout=_number("dropout", value["dropout"], 0.0, 0.95, integer=False),
        batchnorm=bool(_flag("batchnorm", value["batchnorm"], optional=False)),
        loss=None
        if value["loss"] in (None, "", "auto")
        else _choice("loss", value["loss"], LOSSES),
        optimizer=_choice("optimizer", value["optimizer"], OPTIMIZERS),
        lr=_number("lr", value["lr"], 1e-7, 100.0, integer=False),
        momentum=_number("momentum", value["momentum"], 0.0, 0.999, integer=False),
        nesterov=bool(_flag("nesterov", value["nesterov"], optional=False)),
        weight_decay=_number("weight_decay", value["weight_decay"], 0.0, 1.0, False),
        l1=_number("l1", value["l1"], 0.0, 1.0, integer=False),
        batch_size=_batch_size(value["batch_size"]),
        epochs=_number("epochs", value["epochs"], 1, limits.max_epochs, True),
        seed=_number("seed", value["seed"], 0, 2**31 - 1, True),
        standardize=_flag("standardize", value["standardize"], optional=True),
    )
    if config.momentum and "momentum" not in OPTIMIZERS[config.optimizer][2]:
        raise ValueError(
            f"momentum: {config.optimizer} takes no momentum; use sgd or rmsprop, "
            "or set momentum to 0"
        )
    if config.nesterov and (config.optimizer != "sgd" or not config.momentum):
        raise ValueError(
            "nesterov: Nesterov's momentum is a correction of SGD's momentum step; "
            "choose sgd with a momentum above 0, or untick nesterov"
        )
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
