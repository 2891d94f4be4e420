"""``deepgrad train``: fit a network to a dataset, log it, save the model and plots.

Every output path is checked before training, and a model whose save fails after
training (a disk that filled up) is kept in the temp folder, never dropped. The
model file holds the optimizer and training state too, so ``--resume`` continues
from it (or from the checkpoint Ctrl-C saves) as if the run had not stopped.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from deepgrad import nn
from deepgrad.cli.app import (
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    RunFailed,
    app,
    check_figure_paths,
    check_network_memory,
    check_output_path,
    data_record,
    failures_during_run,
    one_line,
    resolve_loss,
    task_text,
    wants_standardizing,
)
from deepgrad.cli.options import (
    DATA,
    NETWORK,
    OPTIMISATION,
    OUTPUT,
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
    MaxMemoryOption,
    MomentumOption,
    NesterovOption,
    OptimizerName,
    OptimizerOption,
    PlotOption,
    SeedOption,
    StandardizeOption,
    TargetOption,
    Task,
    TaskOption,
    fraction,
    non_negative,
    probability,
)
from deepgrad.recipes import (
    LOSSES,
    default_log_every,
    default_lr,
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
    task: TaskOption = Task.auto,
    hidden: HiddenOption = "8,8",
    activation: ActivationOption = Activation.relu,
    loss: LossOption = None,
    optimizer: OptimizerOption = OptimizerName.adam,
    lr: LrOption = None,
    momentum: MomentumOption = 0.0,
    nesterov: NesterovOption = False,
    weight_decay: Annotated[
        float,
        typer.Option(
            metavar="L2",
            callback=non_negative,
            help="L2 weight decay.",
            rich_help_panel=OPTIMISATION,
        ),
    ] = 0.0,
    l1: Annotated[
        float,
        typer.Option(
            "--l1",
            metavar="L1",
            callback=non_negative,
            help="L1 weight penalty.",
            rich_help_panel=OPTIMISATION,
        ),
    ] = 0.0,
    epochs: EpochsOption = 100,
    batch_size: BatchSizeOption = "32",
    seed: SeedOption = 42,
    val: Annotated[
        float,
        typer.Option(
            metavar="FRACTION",
            callback=fraction,
            help="Fraction held out to validate, in (0, 1); 0: none.",
            rich_help_panel=DATA,
        ),
    ] = 0.0,
    early_stopping: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            min=1,
            help="Stop after N epochs without improvement.",
            rich_help_panel=OPTIMISATION,
        ),
    ] = None,
    init: InitOption = Init.auto,
    dropout: Annotated[
        float,
        typer.Option(
            metavar="P",
            callback=probability,
            help="Dropout after each hidden layer, in [0, 1).",
            rich_help_panel=NETWORK,
        ),
    ] = 0.0,
    batchnorm: Annotated[
        bool,
        typer.Option(
            help="BatchNorm1d after each hidden Linear.", rich_help_panel=NETWORK
        ),
    ] = False,
    standardize: StandardizeOption = None,
    log_every: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            min=1,
            help="Log every N epochs (default: ten lines for long runs).",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            metavar="0|1|2",
            min=0,
            max=2,
            help="0 silent, 1 progress bar, 2 one line an epoch.",
            rich_help_panel=OUTPUT,
        ),
    ] = 2,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Save the trained model here, with its optimizer and training "
            "state (see --resume).",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    plot: PlotOption = None,
    animate: Annotated[
        Path | None,
        typer.Option(
            metavar="GIF",
            help="Save the decision boundary evolving through training to this "
            "GIF file (2-D datasets only).",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Continue the run saved in this model file (by --out or Ctrl-C) "
            "up to --epochs, with the options it was trained with.",
            rich_help_panel=OPTIMISATION,
        ),
    ] = None,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Train a network on DATA and print its log (Keras' format)."""
    from deepgrad import data as dgdata
    from deepgrad import train as dgtrain
    from deepgrad.train.divergence import DivergenceWarning
    from deepgrad.train.loop import INTERRUPTED_BEFORE_START

    with _interrupted_before_training():
        dataset = load_data(data, target, task=task.value)
        hidden_sizes = parse_hidden(hidden)
        batch = parse_batch_size(batch_size)
        loss_name = resolve_loss(loss, dataset.task)
        check_figure_paths(plot, animate, dataset)
        check_output_path("--out", out)
        check_network_memory(
            dataset,
            hidden_sizes,
            loss_name,
            batch,
            max_memory,
            optimizer=optimizer.value,
            momentum=momentum,
            batchnorm=batchnorm,
        )

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
        if lr is None:
            lr = default_lr(optimizer.value, dataset.task)

        def build_optimizer(parameters: Any) -> Any:
            return make_optimizer(
                optimizer.value, parameters, lr, momentum, weight_decay, nesterov
            )

        optimizer_ = build_optimizer(model.parameters())

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
            training_data=data_record(data, val, seed),
            # the network learns targets of mean 0 and std 1 whatever their units
            target_standardizer=dgdata.Standardizer()
            if dataset.task == "regression"
            else None,
        )
        training_state = None
        if resume is not None:
            classifier, training_state = _resumed(
                resume, classifier, epochs, build_optimizer
            )
            optimizer_ = classifier.optimizer
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
                f"{dataset.n_features} features, {task_text(dataset)}, "
                f"loss {loss_name}, "
                f"optimizer {optimizer.value} (lr {lr:g}), init {init_name}, "
                f"standardize {'on' if classifier.standardizer else 'off'}"
                + (", target standardized" if classifier.target_standardizer else "")
            )
            if training_state is not None:
                typer.echo(f"Resuming {resume} after epoch {training_state['epoch']}")
    with failures_during_run(), warnings.catch_warnings():
        # at --verbose 0 fit warns of a divergence; here it is one line, below
        warnings.simplefilter("ignore", DivergenceWarning)
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
            training_state=training_state,
            l1=l1,
        )
    if history.diverged and not verbose:
        typer.echo(history.stopped_reason, err=True)
    if history.stopped_reason == INTERRUPTED_BEFORE_START:
        if not verbose:  # fit said it at verbose >= 1
            typer.echo(INTERRUPTED_BEFORE_START)
        raise typer.Exit(EXIT_INTERRUPTED)  # nothing trained, nothing to save
    # the optimizer and training state go into every model file: --resume reads them
    state = {"optimizer": optimizer_, "training_state": history.training_state}
    if history.interrupted:
        if out is not None:
            _save_checkpoint(classifier, out, state)
        else:
            typer.echo("Interrupted (no --out given, nothing saved)")
        raise typer.Exit(EXIT_INTERRUPTED)
    if out is not None:
        saved = _save_keeping_the_model(classifier, out, state)
        typer.echo(f"Saved model to {saved}")
    with failures_during_run():
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


@contextlib.contextmanager
def _interrupted_before_training() -> Iterator[None]:
    """Ctrl-C while the data is read or the network built: one line, exit 130."""
    from deepgrad.train.loop import INTERRUPTED_BEFORE_START

    try:
        yield
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED_BEFORE_START)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _save_keeping_the_model(classifier: Any, out: Path, state: dict[str, Any]) -> Path:
    """Save to ``out``; when that fails (the disk filled up during the run), keep
    the model in a file of the temp folder and raise RunFailed naming it."""
    from deepgrad.io import ModelFileError

    try:
        return _save_with_state(classifier, out, state)
    except (OSError, ModelFileError) as error:
        cause = one_line(error)
    descriptor, name = tempfile.mkstemp(
        prefix=f"deepgrad-unsaved-model-{out.stem}-", suffix=out.suffix or ".dg"
    )
    os.close(descriptor)
    fallback = Path(name)
    try:
        _save_with_state(classifier, fallback, state)
    except (OSError, ModelFileError) as error:
        fallback.unlink(missing_ok=True)
        raise RunFailed(
            f"could not save the model to {out} ({cause}) nor to {fallback} "
            f"({one_line(error)}); it is lost"
        ) from None
    raise RunFailed(
        f"could not save the model to {out} ({cause}); kept it in {fallback} instead"
    )


def _save_with_state(classifier: Any, path: Path, state: dict[str, Any]) -> Path:
    """Save with the optimizer and training state; when the file cannot hold the
    training state (a very long run's history), the model without it, said in one
    line, rather than no model at all."""
    from deepgrad import io

    try:
        return io.save(classifier, path, **state)
    except io.ModelFileError as error:
        try:
            saved = io.save(classifier, path, optimizer=state["optimizer"])
        except (OSError, io.ModelFileError):
            raise error from None
        typer.echo(
            f"Saved {path} without its training state, so --resume cannot continue "
            f"from it: {one_line(error)}",
            err=True,
        )
        return saved


def _save_checkpoint(classifier: Any, out: Path, state: dict[str, Any]) -> None:
    """Ctrl-C's checkpoint, saved atomically: a second Ctrl-C while it is written
    leaves ``out`` as it was."""
    existed = out.exists()
    try:
        saved = _save_keeping_the_model(classifier, out, state)
    except KeyboardInterrupt:
        unchanged = "is intact" if existed else "was not created"
        typer.echo(
            f"Interrupted again while saving: the checkpoint was not written; "
            f"{out} {unchanged}",
            err=True,
        )
    except RunFailed as error:
        typer.echo(f"Error: {error}", err=True)
    else:
        typer.echo(f"Interrupted: saved a checkpoint to {saved}")


def _layers_text(model: nn.Sequential) -> str:
    """``Linear(2, 4) Sigmoid Linear(4, 1)``: a network's layers, shortly."""
    parts = []
    for layer in model:  # the flat Sequential train builds
        if isinstance(layer, nn.Linear):
            parts.append(f"Linear({layer.in_features}, {layer.out_features})")
        elif isinstance(layer, nn.Dropout):
            parts.append(f"Dropout({layer.p:g})")
        else:
            parts.append(type(layer).__name__)
    return " ".join(parts)


# the options that set an optimizer's settings
_OPTION_OF_SETTING = {
    "lr": "--lr",
    "momentum": "--momentum",
    "nesterov": "--nesterov",
    "weight_decay": "--weight-decay",
}


def _settings(state_dict: dict[str, Any]) -> dict[str, Any]:
    """An optimizer's settings (lr, momentum, betas, ...) from its state_dict."""
    group = state_dict["param_groups"][0]
    return {key: value for key, value in group.items() if key != "params"}


def _optimizer_differences(
    saved: dict[str, Any], given: dict[str, Any]
) -> list[tuple[str, Any, Any]]:
    """(option, saved, given) for what differs between two optimizers' settings:
    their kind (named by probing each of OPTIMIZERS), else each setting."""
    import deepgrad as dg
    from deepgrad.recipes import OPTIMIZERS, make_optimizer

    def kind(settings: dict[str, Any]) -> str:
        probe = [nn.Parameter(dg.zeros(1))]
        for name in OPTIMIZERS:
            default = _settings(
                make_optimizer(name, probe, None, 0.0, 0.0).state_dict()
            )
            if default.keys() == settings.keys() and default.get(
                "decoupled_weight_decay"
            ) == settings.get("decoupled_weight_decay"):
                return name
        return "unknown"

    saved_kind, given_kind = kind(saved), kind(given)
    if saved_kind != given_kind:
        return [("--optimizer", saved_kind, given_kind)]
    return [
        (_OPTION_OF_SETTING.get(key, f"the optimizer's {key}"), saved[key], given[key])
        for key in saved
        if saved[key] != given[key]
    ]


def _resumed(
    path: Path, planned: Any, epochs: int, build_optimizer: Callable[[Any], Any]
) -> tuple[Any, dict[str, Any]]:
    """The checkpoint's Classifier, with an optimizer that ``build_optimizer``
    builds over its weights loaded with its state, and its training state.

    Raises
    ------
    ValueError
        If the file holds no training state, or the options contradict it (the
        network, the loss, the classes, the columns, the scaling, the optimizer,
        or --epochs not past the checkpoint's epoch); the message lists them.
    """
    from deepgrad import io
    from deepgrad.modelfile import describe

    checkpoint = io.load_checkpoint(path)
    loaded = checkpoint.obj
    if (
        not isinstance(loaded, type(planned))
        or checkpoint.training_state is None
        or checkpoint.optimizer_state is None
    ):
        raise ValueError(
            f"--resume {path}: holds no optimizer and training state to resume "
            "from; give a file written by `deepgrad train --out` (or by Ctrl-C)"
        )
    optimizer = build_optimizer(loaded.model.parameters())
    compared: list[tuple[str, Any, Any]] = [
        ("loss", loaded.loss_name, planned.loss_name),
        ("classes", loaded.class_names, planned.class_names),
        ("columns", loaded.feature_names, planned.feature_names),
        (
            "standardize",
            "on" if loaded.standardizer else "off",
            "on" if planned.standardizer else "off",
        ),
        *_optimizer_differences(
            _settings(checkpoint.optimizer_state), _settings(optimizer.state_dict())
        ),
    ]
    if describe(loaded.model) != describe(planned.model):
        network = _layers_text(loaded.model), _layers_text(planned.model)
        compared.insert(0, ("network", *network))
    contradictions = [
        f"{what} (the checkpoint: {saved}; these options: {given})"
        for what, saved, given in compared
        if saved != given or what == "network"
    ]
    if contradictions:
        raise ValueError(
            f"--resume {path}: the options contradict the checkpoint: "
            f"{'; '.join(contradictions)}; give the options it was trained with"
        )
    done = int(checkpoint.training_state["epoch"])
    if epochs <= done:
        raise ValueError(
            f"--epochs {epochs}: {path} has trained {done} epochs already; give "
            "more to continue"
        )
    optimizer.load_state_dict(checkpoint.optimizer_state)
    loaded.optimizer = optimizer
    return loaded, checkpoint.training_state
