"""The typer ``app`` every command registers on, and what the commands share.

Here: the app with its one-line error reporting and exit codes, ``--version``, the
rich console, the checks that refuse bad output paths, bad numbers and networks too
large for memory before training, and the steps from options to a network that
``train``, ``explain`` and ``gradcheck`` take alike.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from typer.core import TyperArgument, TyperGroup, TyperOption

import deepgrad as dg
from deepgrad.atomic import check_writable
from deepgrad.cli.options import Loss
from deepgrad.recipes import (
    DEFAULT_LOSS,
    check_memory,
    estimate_network_memory,
    needs_standardizing,
)

# Errors a user causes before the run starts (bad options, unreadable or missing
# files, a disk or memory that cannot take the run); each is one line and exit 2.
_USER_ERRORS = (ValueError, TypeError, OSError, MemoryError)
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1  # the run began and then failed (a save after training, a full disk)
EXIT_DIVERGED = 1  # training stopped on a NaN/inf loss (the last good weights are kept)
EXIT_GRADIENTS_DIFFER = 1
EXIT_INTERRUPTED = 130


# the extra (pyproject's optional-dependencies) that installs each optional package;
# typer, rich and safetensors are dependencies of deepgrad itself
EXTRA_OF_PACKAGE = {
    "sklearn": "sklearn",
    "matplotlib": "plot",
    "fastapi": "serve",
    "uvicorn": "serve",
    "onnx": "onnx",
    "dask": "dask",
    "distributed": "dask",
    "numba": "fast",
}


def missing_package_line(package: str) -> str:
    """One line naming the extra that installs a missing package."""
    package = package.split(".")[0]
    extra = EXTRA_OF_PACKAGE.get(package)
    install = f"'deepgrad[{extra}]'" if extra else package
    return f"this needs {package}, which is not installed: pip install {install}"


class RunFailed(Exception):
    """A failure after the run began: reported as one ``Error:`` line, exit code 1."""


def one_line(error: BaseException) -> str:
    """An error as one line that names the path and the cause where it has them."""
    if isinstance(error, MemoryError):
        detail = " ".join(str(error).split())
        return (
            f"out of memory{f' ({detail})' if detail else ''}; use smaller --hidden "
            "layers or a smaller --batch-size"
        )
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or error}: {error.filename}"
    return " ".join(str(error).split()) or type(error).__name__


@contextlib.contextmanager
def failures_during_run() -> Iterator[None]:
    """OSError and MemoryError raised inside are failures of the run (exit 1), not
    bad input (exit 2): the disk filled up or memory ran out while working."""
    try:
        yield
    except BrokenPipeError:
        raise  # the reader of the output went away: not a failure to report
    except (OSError, MemoryError) as error:
        raise RunFailed(one_line(error)) from error


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
    if isinstance(error, BrokenPipeError):
        # the reader went away (`deepgrad train ... | head`): stop quietly, and
        # point stdout at nothing so that Python's exit does not fail flushing it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    if isinstance(error, RunFailed):
        typer.echo(f"Error: {one_line(error)}", err=True)
        return EXIT_FAILED
    if isinstance(error, ImportError) and error.name:  # an extra not installed
        # the library's own line (it names the extra) if it raised one
        own = "pip install" in str(error) and one_line(error)
        typer.echo(f"Error: {own or missing_package_line(error.name)}", err=True)
        return EXIT_BAD_INPUT
    if isinstance(error, _USER_ERRORS):
        typer.echo(f"Error: {one_line(error)}", err=True)
        return EXIT_BAD_INPUT
    raise error


class _OneLineErrors(TyperGroup):
    """Report usage errors, the library's ValueError/TypeError, OS and memory
    errors as one line."""

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


def _usage_name(argument: TyperArgument) -> str:
    """``DATA``, or ``[DATA]`` when optional, as click writes a usage line (typer
    writes a required argument ``{DATA}``, which reads as a set)."""
    name = argument.display_name_raw
    name = name if argument.required else f"[{name}]"
    return name + ("..." if argument.nargs != 1 else "")


def _option_type(option: TyperOption, ctx: Any) -> str | None:
    """The type column of an option's help: its metavar; nothing for a flag
    (typer shows ``<bool>``, though a flag takes no value)."""
    return None if option.is_flag else _typer_option_type(option, ctx)


def _no_type(argument: TyperArgument, ctx: Any) -> None:
    """An argument's help shows its metavar (DATA) already: no type column."""


# help that reads well at 80 columns (see _usage_name, _option_type, _no_type)
_typer_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _option_type  # type: ignore[method-assign,assignment]
TyperArgument.display_type_rich = _no_type  # type: ignore[method-assign,assignment]
setattr(TyperArgument, "_usage_display_name", _usage_name)  # noqa: B010

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


def main() -> None:
    """Entry point of the ``deepgrad`` console script."""
    app()


# tables only: messages go through typer.echo, which never wraps a line
console = Console(highlight=False)


def check_output_path(option: str, path: Path | None) -> None:
    """Refuse, before any work, an output file that could not be written: a missing
    folder, a folder without write permission, a path that is a folder."""
    if path is not None:
        check_writable(path, option)


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
    check_output_path("--plot", plot)
    check_output_path("--animate", animate)
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


def resolve_loss(loss: Loss | None, task: str) -> str:
    """The ``--loss`` given, else the task's usual one."""
    return loss.value if loss is not None else DEFAULT_LOSS[task]


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, read a megabyte at a time."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_record(data: str, val: float, seed: int) -> dict[str, Any]:
    """What a model records of its training data: a built-in set's name, or a
    file's sha256; the validation fraction split off it, and the split's seed."""
    path = Path(data)
    record: dict[str, Any] = {"val": val, "seed": seed}
    if path.suffix.lower() in (".csv", ".npz") and path.is_file():
        record["sha256"] = file_sha256(path)
    else:
        record["builtin"] = data
    return record


def is_training_data(record: dict[str, Any] | None, data: str) -> bool:
    """Whether DATA is the data a model with this :func:`data_record` was
    trained on (the same built-in set, or a file of the same content)."""
    if not record:
        return False
    if "sha256" in record:
        path = Path(data)
        return path.is_file() and file_sha256(path) == record["sha256"]
    return record.get("builtin") == data


def format_number(value: float) -> str:
    """A score with four significant digits, trailing zeros kept (``0.9500``)."""
    return f"{value:#.4g}"


def format_column(values: Sequence[float] | np.ndarray, digits: int = 6) -> list[str]:
    """Numbers with the same decimals, enough for ``digits`` significant digits of
    the largest: ``[123.456, 1.5]`` -> ``["123.456", "1.500"]``."""
    array = np.asarray(values, dtype=np.float64)
    largest = float(np.max(np.abs(array), initial=0.0))
    magnitude = int(np.floor(np.log10(largest))) if largest > 0 else 0
    decimals = min(max(0, digits - 1 - magnitude), 12)
    return [f"{value:.{decimals}f}" for value in array]


def task_text(dataset: Any) -> str:
    """The header's ``task ...``: with why ``--task auto`` chose it, and the flag
    that overrides it, when it chose from numbers."""
    if not dataset.task_reason:
        return f"task {dataset.task}"
    whole = dataset.task != "regression" or bool(
        np.all(dataset.y == np.round(dataset.y))
    )
    if not whole:  # numbers with fractions cannot be class labels
        return f"task regression (auto: {dataset.task_reason})"
    other = "multiclass" if dataset.task == "regression" else "regression"
    return (
        f"task {dataset.task} (auto: {dataset.task_reason}; --task {other} to override)"
    )


def wants_standardizing(standardize: bool | None, X: np.ndarray) -> bool:
    """``--standardize``/``--no-standardize`` if given, else whether X needs it."""
    return standardize if standardize is not None else needs_standardizing(X)


def check_network_memory(
    dataset: Any,
    hidden_sizes: Sequence[int],
    loss: str,
    batch_size: int | str,
    max_memory: str | None,
    **training: Any,
) -> None:
    """Refuse a network whose estimated memory exceeds what is available (or
    ``--max-memory``), before any of it is allocated."""
    estimate = estimate_network_memory(
        dataset, hidden_sizes, loss, batch_size, **training
    )
    layers = ",".join(str(size) for size in hidden_sizes) or "none"
    check_memory(estimate, max_memory, f"--hidden {layers}")
