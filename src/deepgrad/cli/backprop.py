"""``deepgrad gradcheck`` and ``deepgrad explain``: look inside backpropagation.

``gradcheck`` compares each parameter's gradient with a numerical one; ``explain``
prints one forward and backward pass layer by layer on the network ``train`` builds
from the same options. Both exit 1 when a gradient is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

import deepgrad as dg
from deepgrad.cli.app import (
    EXIT_GRADIENTS_DIFFER,
    app,
    check_network_memory,
    console,
    failures_during_run,
    resolve_loss,
    wants_standardizing,
)
from deepgrad.cli.options import (
    Activation,
    ActivationOption,
    BatchSizeOption,
    DataArgument,
    HiddenOption,
    Init,
    InitOption,
    LossOption,
    LrOption,
    MaxMemoryOption,
    MomentumOption,
    NesterovOption,
    OptimizerName,
    OptimizerOption,
    SeedOption,
    StandardizeOption,
    TargetOption,
    ToleranceOption,
)
from deepgrad.recipes import (
    LOSSES,
    initialised_network,
    load_data,
    make_optimizer,
    parse_batch_size,
    parse_hidden,
)


def _exit_if_any_differ(failed: Sequence[str], tolerance: float) -> None:
    if failed:
        typer.echo(
            f"Error: backprop and numerical gradients differ by more than {tolerance:g} "
            f"for {', '.join(failed)}",
            err=True,
        )
        raise typer.Exit(EXIT_GRADIENTS_DIFFER)


@app.command()
def gradcheck(
    data: DataArgument = "xor",
    target: TargetOption = None,
    hidden: HiddenOption = "4,4",
    activation: ActivationOption = Activation.sigmoid,
    loss: LossOption = None,
    samples: Annotated[
        int, typer.Option(min=1, metavar="N", help="Use at most this many samples.")
    ] = 64,
    seed: SeedOption = 42,
    tolerance: ToleranceOption = 1e-5,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Compare backprop's gradient with a numerical one, parameter by parameter.

    DATA is the lab's xor when omitted.
    """
    loaded = load_data(data, target)
    loss_name = resolve_loss(loss, loaded.task)
    hidden_sizes = parse_hidden(hidden)
    # the check runs on a float64 copy of the network
    check_network_memory(
        loaded, hidden_sizes, loss_name, samples, max_memory, itemsize=8
    )
    model, _ = initialised_network(
        loaded, hidden_sizes, activation.value, loss_name, "normal", seed
    )
    X, y = loaded.X[:samples], loaded.y[:samples]
    if loss_name == "ce":
        targets: np.ndarray = y.astype(np.int64)
    else:
        targets = y.astype(np.float64).reshape(-1, 1)
    with failures_during_run():
        errors = dg.model_gradcheck(model, LOSSES[loss_name](), X, targets)

    typer.echo(f"Gradient check on {loaded.name} ({len(X)} samples, loss {loss_name})")
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
    _exit_if_any_differ(failed, tolerance)
    typer.echo(f"All {len(errors)} gradients agree within {tolerance:g}.")


@app.command()
def explain(
    data: DataArgument,
    target: TargetOption = None,
    hidden: HiddenOption = "4,4",
    activation: ActivationOption = Activation.sigmoid,
    loss: LossOption = None,
    optimizer: OptimizerOption = OptimizerName.sgd,
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    nesterov: NesterovOption = False,
    # unlike train's --epochs, 0 is allowed: it traces the untrained network
    epochs: Annotated[
        int,
        typer.Option(
            "--epoch",
            "--epochs",
            min=0,
            metavar="N",
            help="Train this many epochs first (0: trace the untrained network).",
        ),
    ] = 0,
    batch_size: BatchSizeOption = "full",
    seed: SeedOption = 42,
    init: InitOption = Init.auto,
    sample: Annotated[
        int | None,
        typer.Option(
            metavar="ROW",
            help="Trace this one row of the data (0-based); default: all rows.",
        ),
    ] = None,
    standardize: StandardizeOption = None,
    decimals: Annotated[
        int, typer.Option(min=0, max=12, metavar="N", help="Digits after the point.")
    ] = 4,
    gradcheck: Annotated[
        bool,
        typer.Option(
            help="Also check every gradient numerically (slow for large models)."
        ),
    ] = True,
    tolerance: ToleranceOption = 1e-5,
    max_memory: MaxMemoryOption = None,
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
    loss_name = resolve_loss(loss, dataset.task)
    # the trace holds the activations of the rows it traces; training, a batch's
    check_network_memory(
        dataset,
        hidden_sizes,
        loss_name,
        "full" if sample is None else (batch if epochs else 1),
        max_memory,
        optimizer=optimizer.value if epochs else None,
        momentum=momentum,
        itemsize=8 if gradcheck else 4,
    )

    model, _ = initialised_network(
        dataset, hidden_sizes, activation.value, loss_name, init.value, seed
    )
    loss_fn = LOSSES[loss_name]()
    X = dataset.X
    if wants_standardizing(standardize, X):
        X = dgdata.Standardizer().fit_transform(X)
    state = "untrained"
    if epochs:
        classifier = dgtrain.Classifier(
            model,
            loss_fn=loss_fn,
            optimizer=make_optimizer(
                optimizer.value, model.parameters(), lr, momentum, 0.0, nesterov
            ),
            class_names=dataset.class_names,
            task=dataset.task,
        )
        with failures_during_run():
            history = classifier.fit(
                X, dataset.y, epochs=epochs, batch_size=batch, verbose=0, seed=seed
            )
        state = (
            f"after {len(history.epoch)} epochs of {optimizer.value} "
            f"(loss {history.history['loss'][-1]:.{decimals}f})"
        )
    rows = slice(None) if sample is None else slice(sample, sample + 1)
    with failures_during_run():
        result = dgexplain.trace(
            model, X[rows], dataset.y[rows], loss_fn, gradcheck, tolerance
        )
    rows_text = "all rows" if sample is None else f"row {sample}"
    typer.echo(
        f"Backprop through {dataset.name} ({rows_text}), hidden {hidden}, "
        f"{activation.value}, loss {loss_name}, {state}"
    )
    console.print(dgexplain.format_trace(result, decimals))
    _exit_if_any_differ([row.symbol for row in result.gradcheck_failures], tolerance)
