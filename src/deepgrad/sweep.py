"""Hyper-parameter sweeps: train one network under many settings, in parallel.

The lab's fourth observation, "the learning rate greatly influences convergence
speed", is one call away: :func:`run_sweep` trains the lab's XOR network once per
learning rate (or per point of any grid of training options), every run of one
architecture from the same initial weights, in a process pool across the
machine's cores, and returns one plain dict per run (its loss curve, the epoch at
which the loss first fell below a threshold, whether it diverged).
``deepgrad.plots.plot_lr_sweep(results, path)`` draws the curves and
``deepgrad sweep`` prints them as a table.

A run is described by a config, a dict with the options of ``deepgrad train``
(see :data:`DEFAULT_CONFIG`); the networks are built by the same helpers as that
command's, so a sweep's run gives the numbers ``deepgrad train`` gives.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

# The lab's XOR network: 2-4-4-1, sigmoid, N(0, 1) weights from seed 42, full-batch
# gradient descent with binary cross-entropy. Keys are ``deepgrad train``'s options.
DEFAULT_CONFIG: dict[str, Any] = {
    "data": "xor",
    "target": None,
    "hidden": [4, 4],
    "activation": "sigmoid",
    "loss": None,
    "optimizer": "sgd",
    "lr": None,
    "momentum": 0.0,
    "weight_decay": 0.0,
    "batch_size": "full",
    "epochs": 1000,
    "init": "auto",
    "dropout": 0.0,
    "batchnorm": False,
    "standardize": None,
    "seed": 42,
}

# Options that may not be grid axes, and why.
_NOT_SWEEPABLE = {
    "data": "run one sweep per dataset",
    "target": "run one sweep per dataset",
    "epochs": "every run's loss curve already shows each epoch",
    "seed": "every run starts from the same initial weights; run one sweep per seed",
}

# Options that shape the network: runs that share them share their initial weights.
_ARCHITECTURE = ("hidden", "activation", "loss", "init", "dropout", "batchnorm")

# BLAS and OpenMP pools of the worker processes: a sweep's parallelism is its runs.
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


# -- checking options ------------------------------------------------------------------
def _number(name: str, value: Any, smallest: float, strict: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"sweep: {name} must be a number, received: {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < smallest or (strict and number == 0):
        bound = f"> {smallest:g}" if strict else f">= {smallest:g}"
        raise ValueError(
            f"sweep: {name} must be finite and {bound}, received: {value!r}"
        )
    return number


def _choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(
            f"sweep: {name} must be one of {', '.join(choices)}, received: {value!r}"
        )
    return str(value)


def _check_hidden(value: Any) -> list[int]:
    from deepgrad.recipes import parse_hidden

    if isinstance(value, str):
        return parse_hidden(value)
    sizes = list(value) if isinstance(value, (list, tuple)) else None
    if sizes is None or any(
        isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0
        for size in sizes
    ):
        raise ValueError(
            "sweep: hidden must be a list of positive layer sizes such as [4, 4], "
            f"received: {value!r}"
        )
    return [int(size) for size in sizes]


def _check_batch_size(value: Any) -> int | str:
    from deepgrad.recipes import parse_batch_size

    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str):
        raise TypeError(
            f"sweep: batch_size must be 'full' or a positive integer, received: {value!r}"
        )
    return parse_batch_size(value)


def _check_epochs(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"sweep: epochs must be an integer >= 1, received: {value!r}")
    return int(value)


def _check_flag(name: str, value: Any, optional: bool) -> bool | None:
    if not isinstance(value, bool) and not (optional and value is None):
        allowed = "True, False or None" if optional else "True or False"
        raise TypeError(f"sweep: {name} must be {allowed}, received: {value!r}")
    return value


def _checkers() -> dict[str, Callable[[Any], Any]]:
    """option -> a function returning the option's value checked and normalised."""
    from deepgrad.recipes import ACTIVATIONS, INITS, LOSSES, OPTIMIZERS

    def check_dropout(value: Any) -> float:
        probability = _number("dropout", value, 0.0, strict=False)
        if probability >= 1.0:
            raise ValueError(f"sweep: dropout must be in [0, 1), received: {value!r}")
        return probability

    return {
        "data": lambda value: value,
        "target": lambda value: value,
        "hidden": _check_hidden,
        "activation": lambda value: _choice("activation", value, list(ACTIVATIONS)),
        "loss": lambda value: (
            None if value is None else _choice("loss", value, list(LOSSES))
        ),
        "optimizer": lambda value: _choice("optimizer", value, list(OPTIMIZERS)),
        "lr": lambda value: (
            None if value is None else _number("lr", value, 0.0, strict=True)
        ),
        "momentum": lambda value: _number("momentum", value, 0.0, strict=False),
        "weight_decay": lambda value: _number("weight_decay", value, 0.0, strict=False),
        "batch_size": _check_batch_size,
        "epochs": _check_epochs,
        "init": lambda value: _choice("init", value, list(INITS)),
        "dropout": check_dropout,
        "batchnorm": lambda value: _check_flag("batchnorm", value, optional=False),
        "standardize": lambda value: _check_flag("standardize", value, optional=True),
        "seed": _check_seed,
    }


def _check_seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"sweep: seed must be an integer, received: {value!r}")
    return int(value)


def format_value(value: Any) -> str:
    """An option's value as the command line writes it (``[4, 4]`` -> ``4,4``)."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(size) for size in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# -- planning --------------------------------------------------------------------------
def _dataset(config: Mapping[str, Any]) -> Any:
    """The config's data as a ``deepgrad.data.Dataset``."""
    from deepgrad.data import Dataset
    from deepgrad.data.datasets import Task
    from deepgrad.recipes import load_data

    data = config["data"]
    if isinstance(data, Dataset):
        return data
    if isinstance(data, str):
        return load_data(data, config["target"])
    if isinstance(data, tuple) and len(data) == 2:
        X = np.asarray(data[0], dtype=np.float32)
        y = np.asarray(data[1])
        task: Task
        class_names: list[str] | None = None
        if y.dtype.kind == "f":
            task = "regression"
        elif y.dtype.kind in "iub":
            y = y.astype(np.int64)
            n_classes = max(2, int(y.max()) + 1) if y.size else 2
            task = "binary" if n_classes == 2 else "multiclass"
            class_names = [str(index) for index in range(n_classes)]
        else:
            raise TypeError(
                "sweep: data labels must be class indices (integers) or numbers "
                f"(floats) for regression, received dtype {y.dtype}"
            )
        features = [f"x{i}" for i in range(X.shape[1])] if X.ndim == 2 else []
        return Dataset("arrays", X, y, features, class_names, task)
    raise TypeError(
        "sweep: data must be a built-in dataset name, a CSV/NPZ path, a Dataset or "
        f"an (X, y) tuple, received: {type(data).__name__}"
    )


def _loss_name(config: Mapping[str, Any], dataset: Any) -> str:
    from deepgrad.recipes import DEFAULT_LOSS

    return config["loss"] or DEFAULT_LOSS[dataset.task]


def _build_network(config: Mapping[str, Any], dataset: Any) -> Any:
    """The config's network, with the weights ``deepgrad train`` would give it."""
    from deepgrad.recipes import initialised_network

    model, _ = initialised_network(
        dataset,
        config["hidden"],
        config["activation"],
        _loss_name(config, dataset),
        config["init"],
        config["seed"],
        config["dropout"],
        config["batchnorm"],
    )
    return model


def _label(options: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={format_value(value)}" for name, value in options.items())


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> None:
    if not isinstance(grid, Mapping):
        raise TypeError(
            "sweep: grid must map option names to lists of values, such as "
            f"{{'lr': [0.01, 0.1, 1]}}, received: {type(grid).__name__}"
        )
    for name, values in grid.items():
        if name in _NOT_SWEEPABLE:
            raise ValueError(f"sweep: {name} cannot be swept: {_NOT_SWEEPABLE[name]}")
        if name not in DEFAULT_CONFIG:
            raise ValueError(
                f"sweep: unknown option {name!r} in the grid; options: "
                f"{', '.join(option for option in DEFAULT_CONFIG if option not in _NOT_SWEEPABLE)}"
            )
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(
                f"sweep: grid[{name!r}] must be a list of values, received: {values!r}"
            )
        if len(values) == 0:
            raise ValueError(f"sweep: grid[{name!r}] is empty; give at least one value")


def plan_sweep(
    base_config: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """Every run of a sweep, checked, with the weights it starts from.

    Parameters
    ----------
    base_config, grid, seed
        As for :func:`run_sweep`.

    Returns
    -------
    list of dict
        One per point of the grid's Cartesian product, in the grid's order:
        ``label`` (``"lr=0.5, momentum=0.9"``), ``options`` (the swept values),
        ``config`` (every option, checked) and ``initial_state`` (the network's
        ``state_dict`` as arrays; runs of one architecture share the same arrays).

    Raises
    ------
    ValueError, TypeError
        For an unknown option, a value that cannot be used, a grid listing a
        value twice, or a combination the optimizer rejects (momentum with Adam).
    """
    runs, _ = _plan(base_config, grid, seed)
    return runs


def _plan(
    base_config: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    seed: int | None,
) -> tuple[list[dict[str, Any]], Any]:
    """plan_sweep's runs, and the dataset they train on (loaded once)."""
    unknown = sorted(set(base_config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ValueError(
            f"sweep: unknown option(s) {', '.join(map(repr, unknown))} in the config; "
            f"options: {', '.join(DEFAULT_CONFIG)}"
        )
    _check_grid(grid)
    checkers = _checkers()
    base = {**DEFAULT_CONFIG, **base_config}
    if seed is not None:
        base["seed"] = seed
    base = {name: checkers[name](value) for name, value in base.items()}
    axes: dict[str, list[Any]] = {}
    for name, values in grid.items():
        checked = [checkers[name](value) for value in values]
        shown = [format_value(value) for value in checked]
        twice = sorted({text for text in shown if shown.count(text) > 1})
        if twice:
            raise ValueError(
                f"sweep: grid[{name!r}] lists {', '.join(twice)} more than once"
            )
        axes[name] = checked

    import deepgrad as dg
    from deepgrad import nn
    from deepgrad.recipes import make_optimizer

    probe = [nn.Parameter(dg.zeros(1))]
    dataset = _dataset(base)
    states: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
    runs = []
    with _restoring_random_state():
        for point in itertools.product(*axes.values()):
            options = dict(zip(axes, point, strict=True))
            config = {**base, **options}
            label = _label(options) if options else "base config"
            architecture = tuple(format_value(config[name]) for name in _ARCHITECTURE)
            if architecture not in states:
                model = _build_network(config, dataset)
                states[architecture] = {
                    name: tensor.array.copy()
                    for name, tensor in model.state_dict().items()
                }
            try:  # reject impossible combinations now, not in a worker
                make_optimizer(
                    config["optimizer"],
                    probe,
                    config["lr"],
                    config["momentum"],
                    config["weight_decay"],
                )
            except ValueError as error:
                raise ValueError(f"sweep: run {label!r}: {error}") from None
            runs.append(
                {
                    "label": label,
                    "options": options,
                    "config": config,
                    "initial_state": states[architecture],
                }
            )
    return runs, dataset


# -- one run ---------------------------------------------------------------------------
def epochs_to_threshold(losses: Sequence[float], threshold: float) -> int | None:
    """The first epoch (1-based) whose loss is below ``threshold``, or None."""
    for epoch, loss in enumerate(losses, start=1):
        if loss < threshold:
            return epoch
    return None


def _train_run(run: dict[str, Any], dataset: Any, threshold: float) -> dict[str, Any]:
    """Train one planned run from its initial weights; its result dict."""
    from deepgrad import data as dgdata
    from deepgrad.recipes import LOSSES, make_optimizer, needs_standardizing
    from deepgrad.train import Classifier
    from deepgrad.train.divergence import DivergenceWarning

    config = run["config"]
    # built from the seed as in planning, so deepgrad's generator (dropout's draws)
    # is where `deepgrad train` has it, in any process; the weights are the plan's
    model = _build_network(config, dataset)
    model.load_state_dict(run["initial_state"])
    loss_name = _loss_name(config, dataset)
    optimizer = make_optimizer(
        config["optimizer"],
        model.parameters(),
        config["lr"],
        config["momentum"],
        config["weight_decay"],
    )
    standardize = config["standardize"]
    if standardize is None:
        standardize = needs_standardizing(dataset.X)
    classifier = Classifier(
        model,
        loss_fn=LOSSES[loss_name](),
        optimizer=optimizer,
        standardizer=dgdata.Standardizer() if standardize else None,
        class_names=dataset.class_names,
        task=dataset.task,
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        # the divergence guard warns; a sweep reports it as diverged instead
        warnings.simplefilter("ignore", DivergenceWarning)
        history = classifier.fit(
            dataset.X,
            dataset.y,
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            verbose=0,
            seed=config["seed"],
        )
    elapsed = time.perf_counter() - started

    losses = [float(value) for value in history.history.get("loss", [])]
    accuracy = history.history.get("accuracy")
    accuracies = None if accuracy is None else [float(value) for value in accuracy]
    # fit's divergence guard decides, as for `deepgrad train` (deepgrad.train.divergence)
    diverged = history.diverged
    shown_config = dict(config)
    if not isinstance(shown_config["data"], str):
        shown_config["data"] = dataset.name
    return {
        "label": run["label"],
        "options": dict(run["options"]),
        "config": shown_config,
        "loss": losses,
        "accuracy": accuracies,
        "final_loss": math.nan if diverged or not losses else losses[-1],
        "final_accuracy": accuracies[-1] if accuracies else None,
        "epochs_to_threshold": epochs_to_threshold(losses, threshold),
        "diverged": bool(diverged),
        "stopped_reason": history.stopped_reason,
        "time": elapsed,
    }


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Set the thread variables while worker processes start, then restore them.

    BLAS reads them once, when NumPy is imported: in a spawned worker, after
    this has set them.
    """
    saved = {variable: os.environ.get(variable) for variable in _THREAD_VARIABLES}
    os.environ.update({variable: "1" for variable in _THREAD_VARIABLES})
    try:
        yield
    finally:
        for variable, value in saved.items():
            if value is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = value


# -- the sweep -------------------------------------------------------------------------
def run_sweep(
    base_config: Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    n_jobs: int | None = None,
    threshold: float = 0.1,
    seed: int | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train one network per point of ``grid``, in parallel, from the same weights.

    Every run of one architecture (hidden sizes, activation, loss, init, dropout,
    batchnorm) starts from the same initial weights: the network is built once
    from ``seed``, as ``deepgrad train --seed`` builds it, and its ``state_dict``
    copied into each run; runs of another architecture are built from the same
    seed. Each run also shuffles with ``seed``, so its numbers do not depend on
    where it ran: serial and parallel sweeps give the same results.

    Parameters
    ----------
    base_config : dict
        The options every run shares, by ``deepgrad train``'s names: ``data``
        (a built-in dataset name, a CSV/NPZ path with ``target``, a Dataset or
        an ``(X, y)`` tuple), ``hidden``, ``activation``, ``loss``,
        ``optimizer``, ``lr``, ``momentum``, ``weight_decay``, ``batch_size``
        (an int or ``"full"``), ``epochs``, ``init``, ``dropout``,
        ``batchnorm``, ``standardize``, ``seed``. Missing options take
        :data:`DEFAULT_CONFIG`'s values: the lab's 2-4-4-1 sigmoid XOR network
        trained by full-batch gradient descent.
    grid : dict of str to list
        Option -> the values to try, e.g. ``{"lr": [0.01, 0.1, 0.5, 1, 2]}``;
        several options give their full Cartesian product (the last option
        varies fastest). ``data``, ``target``, ``epochs`` and ``seed`` cannot be
        swept.
    n_jobs : int, optional
        Worker processes; default ``os.cpu_count()`` (at most one per run).
        1 runs the sweep serially in this process. Workers use one BLAS thread
        each.
    threshold : float
        ``epochs_to_threshold`` is the first epoch whose loss is below it.
    seed : int, optional
        Seed of the initial weights and the shuffling; overrides
        ``base_config["seed"]`` (default 42).
    on_result : callable, optional
        Called with each result as its run finishes (in finishing order).

    Returns
    -------
    list of dict
        One per run, in the grid's order: ``label`` (``"lr=0.5"``), ``options``
        (the swept values), ``config`` (every option), ``loss`` and
        ``accuracy`` (per epoch; accuracy None for regression),
        ``final_loss`` (NaN if the run diverged), ``final_accuracy``,
        ``epochs_to_threshold`` (1-based, or None), ``diverged`` (fit's
        divergence guard stopped it, by the rules of
        :mod:`deepgrad.train.divergence`, as ``deepgrad train`` would have),
        ``stopped_reason`` and ``time`` (seconds of training).

    Raises
    ------
    ValueError, TypeError
        For an option or value that cannot be used, naming it, before any
        run starts.

    Example
    -------
    >>> results = run_sweep({"epochs": 200}, {"lr": [0.5, 2.0]}, n_jobs=1)
    >>> [result["label"] for result in results]
    ['lr=0.5', 'lr=2']
    >>> results[0]["loss"][-1] > results[1]["loss"][-1]  # the larger rate is ahead
    True
    """
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1
    ):
        raise ValueError(f"sweep: n_jobs must be an integer >= 1, received: {n_jobs!r}")
    _number("threshold", threshold, 0.0, strict=True)
    runs, dataset = _plan(base_config, grid, seed)
    workers = min(n_jobs or os.cpu_count() or 1, len(runs))
    if workers == 1:
        with _restoring_random_state():
            return [
                _finished(_train_run(run, dataset, threshold), on_result)
                for run in runs
            ]

    results: list[dict[str, Any]] = [{}] * len(runs)
    # "spawn": fresh workers that import NumPy after the thread variables are set,
    # and no fork of a process that already runs BLAS threads
    context = multiprocessing.get_context("spawn")
    with (
        _single_threaded_children(),
        ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool,
    ):
        futures = {
            pool.submit(_train_run, run, dataset, threshold): index
            for index, run in enumerate(runs)
        }
        try:
            for future in as_completed(futures):
                results[futures[future]] = _finished(future.result(), on_result)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return results


def _finished(
    result: dict[str, Any], on_result: Callable[[dict[str, Any]], None] | None
) -> dict[str, Any]:
    if on_result is not None:
        on_result(result)
    return result


@contextlib.contextmanager
def _restoring_random_state() -> Iterator[None]:
    """Give the caller deepgrad's generator back as it was: building and training
    the runs reseed it."""
    import deepgrad as dg

    state = dg.default_generator().bit_generator.state
    try:
        yield
    finally:
        dg.manual_seed(0).bit_generator.state = state


# -- the command line's syntax ----------------------------------------------------------
def _parse_float(text: str) -> float:
    return float(text)


def _parse_batch_size(text: str) -> int | str:
    return "full" if text.lower() == "full" else int(text)


def _parse_hidden(text: str) -> list[int]:
    from deepgrad.recipes import parse_hidden

    return parse_hidden(text)


def _parse_loss(text: str) -> str | None:
    return None if text.lower() in ("auto", "default") else text


# option -> (separator between values, parser of one value, what a value looks like)
_OPTION_SYNTAX: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "hidden": (";", _parse_hidden, "layer sizes, architectures separated by ';'"),
    "activation": (",", str, "names such as sigmoid,relu"),
    "loss": (",", _parse_loss, "names such as bce,mse"),
    "optimizer": (",", str, "names such as sgd,adam"),
    "lr": (",", _parse_float, "numbers such as 0.01,0.1,1"),
    "momentum": (",", _parse_float, "numbers such as 0,0.9"),
    "weight_decay": (",", _parse_float, "numbers such as 0,0.0001"),
    "batch_size": (",", _parse_batch_size, "sizes or 'full', such as 1,4,full"),
    "init": (",", str, "names such as normal,he"),
    "dropout": (",", _parse_float, "probabilities such as 0,0.2"),
}


def parse_option_values(option: str, text: str) -> list[Any]:
    """The values the command line gives an option: ``"0.01,0.1"`` -> ``[0.01, 0.1]``.

    Values are separated by commas, except ``hidden``'s, whose values are
    themselves comma-separated layer sizes: ``"2;4,4;8,8"`` -> ``[[2], [4, 4],
    [8, 8]]``. ``batch_size`` takes integers or ``full``.

    Parameters
    ----------
    option : str
        A sweepable option's name (``lr``, ``batch_size``, ...).
    text : str
        What the user typed.

    Returns
    -------
    list
        The values, not yet range-checked (:func:`plan_sweep` does that).

    Raises
    ------
    ValueError
        For an unknown option or a value that does not parse, naming the flag,
        the value and the whole text.

    Example
    -------
    >>> parse_option_values("batch_size", "1,4,full")
    [1, 4, 'full']
    """
    if option not in _OPTION_SYNTAX:
        raise ValueError(
            f"sweep: no command-line syntax for option {option!r}; options: "
            f"{', '.join(_OPTION_SYNTAX)}"
        )
    separator, parse, looks_like = _OPTION_SYNTAX[option]
    flag = "--" + option.replace("_", "-")
    values = []
    for part in text.split(separator):
        part = part.strip()
        try:
            if not part:
                raise ValueError("empty value")
            values.append(parse(part))
        except ValueError:
            raise ValueError(
                f"{flag} expects {looks_like}, received: {part!r} in {text!r}"
            ) from None
    return values
