"""``deepgrad train``: fit a network to a dataset, log it, save the model and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deepgrad.cli.app import (
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    app,
    check_figure_paths,
    check_output_folder,
    resolve_loss,
    wants_standardizing,
)
from deepgrad.cli.options import (
    Activation,
    ActivationOption,
    BatchSizeOption,
    DataArgument,
    EpochsOption,
    HiddenOption,
    Init,
    InitOption,
    LossOption,
    LrOption,
    MomentumOption,
    OptimizerName,
    OptimizerOption,
    PlotOption,
    SeedOption,
    StandardizeOption,
    TargetOption,
)
from deepgrad.recipes import (
    LOSSES,
    default_log_every,
    initialised_network,
    load_data,
    make_optimizer,
    parse_batch_size,
    parse_hidden,
)


@app.command()
def train(
    data: DataArgument,
    target: TargetOption = None,
    hidden: HiddenOption = "8,8",
    activation: ActivationOption = Activation.relu,
    loss: LossOption = None,
    optimizer: OptimizerOption = OptimizerName.adam,
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    weight_decay: Annotated[float, typer.Option(help="L2 weight decay.")] = 0.0,
    epochs: EpochsOption = 100,
    batch_size: BatchSizeOption = "32",
    seed: SeedOption = 42,
    val: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Fraction held out to validate.")
    ] = 0.0,
    early_stopping: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after N epochs without improvement."),
    ] = None,
    init: InitOption = Init.auto,
    dropout: Annotated[
        float, typer.Option(help="Dropout after each hidden layer.")
    ] = 0.0,
    batchnorm: Annotated[
        bool, typer.Option(help="BatchNorm1d after each hidden Linear.")
    ] = False,
    standardize: StandardizeOption = None,
    log_every: Annotated[
        int | None,
        typer.Option(
            min=1, help="Log every N epochs (default: ten lines for long runs)."
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option(min=0, max=2, help="0 silent, 1 progress bar, 2 one line.")
    ] = 2,
    out: Annotated[
        Path | None, typer.Option(help="Save the trained model here.")
    ] = None,
    plot: PlotOption = None,
    animate: Annotated[
        Path | None,
        typer.Option(
            help="Save the decision boundary evolving through training to this GIF "
            "file (2-D datasets only)."
        ),
    ] = None,
) -> None:
    """Train a network on DATA and print its log (Keras' format)."""
    from deepgrad import data as dgdata
    from deepgrad import io
    from deepgrad import train as dgtrain

    dataset = load_data(data, target)
    hidden_sizes = parse_hidden(hidden)
    batch = parse_batch_size(batch_size)
    loss_name = resolve_loss(loss, dataset.task)
    check_figure_paths(plot, animate, dataset)
    check_output_folder("--out", out)

    model, init_name = initialised_network(
        dataset,
        hidden_sizes,
        activation.value,
        loss_name,
        init.value,
        seed,
        dropout,
        batchnorm,
    )
    loss_fn = LOSSES[loss_name]()
    optimizer_ = make_optimizer(
        optimizer.value, model.parameters(), lr, momentum, weight_decay
    )

    standardizer = None
    if wants_standardizing(standardize, dataset.X):
        standardizer = dgdata.Standardizer()  # fitted on the training split only
    classifier = dgtrain.Classifier(
        model,
        loss_fn=loss_fn,
        optimizer=optimizer_,
        standardizer=standardizer,
        class_names=dataset.class_names,
        task=dataset.task,
        feature_names=dataset.feature_names,
        target_name=target,
    )
    callbacks: list[dgtrain.Callback] = []
    if early_stopping is not None:
        monitor = "val_loss" if val > 0 else "loss"
        callbacks.append(
            dgtrain.EarlyStopping(
                monitor=monitor, patience=early_stopping, restore_best_weights=True
            )
        )
    recorder = None
    if animate is not None:
        from deepgrad.plots import BoundaryRecorder

        # about 40 frames, whatever the number of epochs
        recorder = BoundaryRecorder(
            dataset.X,
            dataset.y,
            every=max(1, epochs // 40),
            class_names=dataset.class_names,
        )
        callbacks.append(recorder)
    if verbose:
        typer.echo(
            f"Training on {dataset.name}: {dataset.n_samples} samples, "
            f"{dataset.n_features} features, task {dataset.task}, loss {loss_name}, "
            f"optimizer {optimizer.value}, init {init_name}, "
            f"standardize {'on' if standardizer else 'off'}"
        )
    history = classifier.fit(
        dataset.X,
        dataset.y,
        epochs=epochs,
        batch_size=batch,
        validation=val if val > 0 else None,
        callbacks=callbacks,
        verbose=verbose,
        log_every=log_every or default_log_every(epochs),
        seed=seed,
    )
    if history.interrupted:
        if out is not None:
            io.save(
                classifier,
                out,
                optimizer=optimizer_,
                training_state=history.training_state,
            )
            typer.echo(f"Interrupted: saved a checkpoint to {out}")
        else:
            typer.echo("Interrupted (no --out given, nothing saved)")
        raise typer.Exit(EXIT_INTERRUPTED)
    if out is not None:
        io.save(classifier, out)
        typer.echo(f"Saved model to {out}")
    if plot is not None:
        from deepgrad.plots import plot_history

        plot_history(history, path=plot)
        typer.echo(f"Saved the loss plot to {plot}")
    if recorder is not None and animate is not None:
        recorder.save(animate)
        typer.echo(
            f"Saved the decision boundary animation ({len(recorder.snapshots)} "
            f"frames) to {animate}"
        )
    if history.diverged:
        raise typer.Exit(EXIT_DIVERGED)
