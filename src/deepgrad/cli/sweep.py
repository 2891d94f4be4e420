"""``deepgrad sweep``: train one network under a grid of options, in parallel.

Its network options take several comma-separated values (``--lr 0.01,0.1,1``), so
they are plain strings here, declared with the command rather than shared:
``deepgrad.sweep`` parses and checks them. ``--scheduler`` runs the sweep on a Dask
cluster instead of the local process pool (the ``dask`` extra).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer
from rich.table import Table

from deepgrad.cli.app import (
    RunFailed,
    app,
    check_figure_paths,
    check_network_memory,
    console,
    failures_during_run,
    format_number,
)
from deepgrad.cli.options import (
    DataArgument,
    EpochsOption,
    MaxMemoryOption,
    NesterovOption,
    PlotOption,
    SeedOption,
    TargetOption,
    finite,
)
from deepgrad.recipes import DEFAULT_LOSS, OPTIMIZERS, load_data
from deepgrad.train.console import format_duration


def _check_every_run_fits(
    base: dict[str, Any], grid: dict[str, list[Any]], max_memory: str | None
) -> Any:
    """Refuse, before any network is built, a run too large for memory; return
    the dataset."""
    from deepgrad.sweep import DEFAULT_CONFIG

    dataset = load_data(base["data"], base["target"])
    for point in itertools.product(*grid.values()):
        config = {**DEFAULT_CONFIG, **base, **dict(zip(grid, point, strict=True))}
        check_network_memory(
            dataset,
            config["hidden"],
            config["loss"] or DEFAULT_LOSS[dataset.task],
            config["batch_size"],
            max_memory,
            optimizer=config["optimizer"],
            momentum=config["momentum"],
            batchnorm=config["batchnorm"],
        )
    return dataset


def _fixed_options_line(
    base: dict[str, Any], grid: dict[str, list[Any]], task: str
) -> str:
    """Every option the runs share, defaults included: sweep's defaults are the
    lab's XOR network (4,4 sigmoid, full-batch SGD), not train's (8,8 relu, Adam,
    batches of 32)."""
    from deepgrad.sweep import DEFAULT_CONFIG, format_value

    config = {**DEFAULT_CONFIG, **base}
    config["loss"] = config["loss"] or DEFAULT_LOSS[task]
    if config["lr"] is None:
        config["lr"] = (
            "each optimizer's default"
            if "optimizer" in grid
            else OPTIMIZERS[config["optimizer"]][1]
        )
    shown = [
        f"{option.replace('_', ' ')} {format_value(config[option])}"
        for option in (
            "hidden",
            "activation",
            "loss",
            "optimizer",
            "lr",
            "momentum",
            "weight_decay",
            "batch_size",
            "init",
            "dropout",
        )  # fmt: skip
        if option not in grid
    ]
    if config["nesterov"]:
        shown.insert(
            shown.index(f"momentum {format_value(config['momentum'])}") + 1
            if "momentum" not in grid
            else len(shown),
            "nesterov",
        )
    return f"Every run: {', '.join(shown)}"


def _progress(total: int) -> Callable[[dict[str, Any]], None]:
    """One line per finished run, in finishing order: ``[2/5] lr=0.5: loss ...``."""
    finished = itertools.count(1)

    def show(result: dict[str, Any]) -> None:
        outcome = (
            "diverged"
            if result["diverged"]
            else f"loss {format_number(result['final_loss'])}"
        )
        typer.echo(
            f"[{next(finished)}/{total}] {result['label']}: {outcome} "
            f"({format_duration(result['time'])})"
        )

    return show


@contextlib.contextmanager
def _executor(scheduler: str | None, workers: int) -> Iterator[Any]:
    """None (the local process pool), or a Client of the Dask cluster
    ``--scheduler`` names; a run that kept killing its workers fails the sweep."""
    if scheduler is None:
        yield None
        return
    from deepgrad.sweep import dask_client

    with dask_client(scheduler, n_workers=workers) as client:
        from distributed import KilledWorker

        try:
            yield client
        except KilledWorker as error:
            raise RunFailed(
                f"sweep: {error.allowed_failures + 1} Dask workers died in turn while "
                f"training one run (the last at {error.last_worker.address}); their "
                "logs say why (out of memory?)"
            ) from error


@app.command()
def sweep(
    data: DataArgument,
    target: TargetOption = None,
    hidden: Annotated[
        str,
        typer.Option(
            metavar="SIZES",
            help="Hidden sizes; several separated by ';' (e.g. '2;4,4;8,8').",
        ),
    ] = "4,4",
    activation: Annotated[
        str,
        typer.Option(metavar="NAMES", help="Hidden activation(s), e.g. sigmoid,relu."),
    ] = "sigmoid",
    loss: Annotated[
        str | None,
        typer.Option(
            metavar="NAMES", help="Loss(es); default: the dataset's usual one."
        ),
    ] = None,
    optimizer: Annotated[
        str, typer.Option(metavar="NAMES", help="Optimizer(s), e.g. sgd,adam.")
    ] = "sgd",
    lr: Annotated[
        str | None,
        typer.Option(
            metavar="RATES",
            help="Learning rate(s), e.g. 0.01,0.1,0.5,1,2 (default: sgd's 0.1).",
        ),
    ] = None,
    momentum: Annotated[
        str, typer.Option(metavar="VALUES", help="Momentum value(s), e.g. 0,0.9.")
    ] = "0",
    nesterov: NesterovOption = False,
    weight_decay: Annotated[
        str, typer.Option(metavar="VALUES", help="L2 weight decay value(s).")
    ] = "0",
    batch_size: Annotated[
        str,
        typer.Option(
            metavar="SIZES", help="Batch size(s): 1 (stochastic), N (mini-batch), full."
        ),
    ] = "full",
    init: Annotated[
        str,
        typer.Option(
            metavar="NAMES",
            help="Weight init(s): auto (the lab's normal for xor/and/or, else "
            "PyTorch's default), normal, he, xavier, default.",
        ),
    ] = "auto",
    dropout: Annotated[
        str, typer.Option(metavar="VALUES", help="Dropout value(s).")
    ] = "0",
    epochs: EpochsOption = 1000,
    seed: SeedOption = 42,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1, metavar="N", help="Worker processes (default: one per CPU core)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Run on Dask: 'local' starts a cluster of --jobs processes here, "
            "tcp://HOST:8786 uses a running one (pip install 'deepgrad\\[dask]').",
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(
            callback=finite,
            metavar="LOSS",
            help="Count the epochs until the loss falls below this.",
        ),
    ] = 0.1,
    plot: PlotOption = None,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Train one network under every combination of the options' values.

    Options take several comma-separated values; the runs start from the same
    weights, run in parallel and are compared in one table.
    """
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
    base: dict[str, Any] = {
        "data": data,
        "target": target,
        "epochs": epochs,
        "nesterov": nesterov,
    }
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
    dataset = _check_every_run_fits(base, grid, max_memory)
    runs = dgsweep.plan_sweep(base, grid, seed)  # checks every value before training
    if jobs is not None and scheduler not in (None, "local"):
        raise ValueError(
            f"--jobs sizes the local pool or a --scheduler local cluster; the cluster "
            f"at {scheduler} has its own workers: leave --jobs out"
        )
    workers = min(jobs or os.cpu_count() or 1, len(runs))
    processes = f"{workers} process{'es' if workers > 1 else ''}"
    where = {None: processes, "local": f"a local Dask cluster of {processes}"}.get(
        scheduler, f"the Dask cluster at {scheduler}"
    )
    with _executor(scheduler, workers) as executor:
        typer.echo(
            f"Sweeping {' x '.join(grid)} on {data}: {len(runs)} run"
            f"{'s' if len(runs) > 1 else ''} of {epochs} epochs "
            f"from the same initial weights (seed {seed}), {where}"
        )
        typer.echo(_fixed_options_line(base, grid, dataset.task))
        with failures_during_run():
            results = dgsweep.run_sweep(
                base,
                grid,
                n_jobs=None if executor is not None else workers,
                threshold=threshold,
                seed=seed,
                on_result=_progress(len(runs)),
                executor=executor,
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
            format_number(result["final_loss"]),
            "-" if accuracy is None else f"{accuracy:.4f}",  # as `evaluate` prints it
            "never" if reached is None else str(reached),
            "[red]yes[/red]" if result["diverged"] else "no",
            format_duration(result["time"]),
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

        with failures_during_run():
            plots.plot_lr_sweep(results, plot)
        typer.echo(f"Saved the loss curves to {plot}")
