"""``deepgrad train``: fit a network to a dataset, log it, save the model and plots.

Every output path is checked before training, and a model whose save fails after
training (a disk that filled up) is kept in the temp folder, never dropped. The
model file holds the optimizer and training state too, so ``--resume`` continues
from it (or from the checkpoint Ctrl-C saves) as if the run had not stopped, and
the run's options (``training_state["cli"]``), which ``--resume`` takes from it: an
option given must agree with the file's, one left out is the file's.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from enum import Enum
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
    Loss,
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
    ctx: typer.Context,
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
            help="Continue the run saved in this file (by --out or Ctrl-C) up to "
            "--epochs (default: its own), taking its options from the file: leave "
            "them out.",
            rich_help_panel=OPTIMISATION,
        ),
    ] = None,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Train a network on DATA and print its log (Keras' format)."""
    options = dict(locals())  # the parameters: here, before any other local
    del options["ctx"]
    checkpoint = None
    if resume is not None:
        with _interrupted_before_training():
            checkpoint, recorded = _checkpoint_to_resume(resume, ctx, options)
        options.update(recorded)
    _train(checkpoint, **options)


def _train(
    checkpoint: Any,
    *,
    data: str,
    target: str | None,
    task: Task,
    hidden: str,
    activation: Activation,
    loss: Loss | None,
    optimizer: OptimizerName,
    lr: float | None,
    momentum: float,
    nesterov: bool,
    weight_decay: float,
    l1: float,
    epochs: int,
    batch_size: str,
    seed: int,
    val: float,
    early_stopping: int | None,
    init: Init,
    dropout: float,
    batchnorm: bool,
    standardize: bool | None,
    log_every: int | None,
    verbose: int,
    out: Path | None,
    plot: Path | None,
    animate: Path | None,
    resume: Path | None,
    max_memory: str | None,
) -> None:
    """``deepgrad train`` with its options (those --resume took from ``checkpoint``,
    the file's :class:`~deepgrad.io.Checkpoint`, included)."""
    from deepgrad import data as dgdata
    from deepgrad import train as dgtrain
    from deepgrad.train.divergence import DivergenceWarning
    from deepgrad.train.loop import INTERRUPTED_BEFORE_START

    with _interrupted_before_training():
        dataset = load_data(data, target, task=task.value)
        if checkpoint is not None and resume is not None:
            _check_data(resume, checkpoint.obj, dataset)
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
        # what --resume takes from the files this run saves
        run_options = {
            "target": target,
            "task": Task(dataset.task),
            "hidden": ",".join(str(size) for size in hidden_sizes),
            "activation": activation,
            "loss": Loss(loss_name),
            "optimizer": optimizer,
            "lr": lr,
            "momentum": momentum,
            "nesterov": nesterov,
            "weight_decay": weight_decay,
            "l1": l1,
            "epochs": epochs,
            "batch_size": str(batch),
            "seed": seed,
            "val": val,
            "init": Init(init_name),
            "dropout": dropout,
            "batchnorm": batchnorm,
            "standardize": standardizer is not None,
        }
        training_state = None
        if checkpoint is not None and resume is not None:
            classifier, training_state = _resumed(
                resume, checkpoint, classifier, build_optimizer
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
    state = {
        "optimizer": optimizer_,
        "training_state": _with_options(history.training_state, run_options),
    }
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


# The options that define a run: the files it saves record them (as
# training_state["cli"]) and --resume takes back those not given. Each with the
# types its JSON value may have (an Enum: one of its values); the task, loss, lr,
# init and scaling as the run resolved them, so the data it continues on cannot
# resolve them otherwise.
_RECORDED: dict[str, tuple[type, ...]] = {
    "target": (str, type(None)),
    "task": (Task,),
    "hidden": (str,),
    "activation": (Activation,),
    "loss": (Loss,),
    "optimizer": (OptimizerName,),
    "lr": (float,),
    "momentum": (float,),
    "nesterov": (bool,),
    "weight_decay": (float,),
    "l1": (float,),
    "epochs": (int,),
    "batch_size": (str,),
    "seed": (int,),
    "val": (float,),
    "init": (Init,),
    "dropout": (float,),
    "batchnorm": (bool,),
    "standardize": (bool,),
}

# the ParameterSource of an option given (on the command line or in its environment
# variable), not defaulted; by name, since typer 0.29 brings its own copy of click
_GIVEN = ("COMMANDLINE", "ENVIRONMENT")


def _with_options(
    training_state: dict[str, Any] | None, run_options: dict[str, Any]
) -> dict[str, Any] | None:
    """The training state with the run's options recorded in it, as JSON."""
    if training_state is None:
        return None
    record = {
        name: value.value if isinstance(value, Enum) else value
        for name, value in run_options.items()
    }
    return {**training_state, "cli": record}


def _recorded_value(value: Any, kinds: tuple[type, ...]) -> Any:
    """A recorded JSON value as its option takes it; ValueError if it is none of
    ``kinds``."""
    kind = kinds[0]
    if issubclass(kind, Enum):
        return kind(value)
    if kind is float and type(value) is int:
        value = float(value)
    if type(value) not in kinds or (kind is float and not math.isfinite(value)):
        raise ValueError(value)
    return value


def _recorded_options(path: Path, record: Any) -> dict[str, Any]:
    """The options a checkpoint recorded (``{}`` for a file from a deepgrad that
    recorded none), as the command's parameters take them."""

    def damaged(what: str, value: Any) -> ValueError:
        return ValueError(
            f"--resume {path}: its record of the run's options is damaged "
            f"({what}: {value!r}); resume from a file `deepgrad train` wrote"
        )

    if record is None:
        return {}
    if not isinstance(record, dict):
        raise damaged("cli", record)
    options: dict[str, Any] = {}
    for name, value in record.items():
        if name not in _RECORDED:
            continue  # an option a later deepgrad records
        try:
            options[name] = _recorded_value(value, _RECORDED[name])
            _canonical(name, options[name])  # --hidden's and --batch-size's text
        except (TypeError, ValueError):
            raise damaged(name, value) from None
    return options


def _flag(ctx: typer.Context, name: str) -> str:
    """The option a parameter is given by: ``--weight-decay`` for weight_decay."""
    return next(
        parameter.opts[0] for parameter in ctx.command.params if parameter.name == name
    )


def _source(ctx: typer.Context, name: str) -> str | None:
    """Where a parameter's value came from: ``COMMANDLINE``, ``DEFAULT``, ..."""
    source = ctx.get_parameter_source(name)
    return None if source is None else source.name


def _chooses(value: Any) -> bool:
    """Whether an option's value leaves the choice to deepgrad (``--task auto``):
    with --resume, the run's choice."""
    return isinstance(value, Enum) and value.value == "auto"


def _canonical(name: str, value: Any) -> Any:
    """An option's value in the form two runs are compared by (``--hidden 4, 4``
    and ``4,4`` alike)."""
    if isinstance(value, Enum):
        return value.value
    if name == "hidden":
        return parse_hidden(value)
    if name == "batch_size":
        return parse_batch_size(value)
    return value


def _shown(value: Any) -> str:
    """An option's value in an error line."""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == "":
        return "none"
    return str(value)


def _checkpoint_to_resume(
    path: Path, ctx: typer.Context, options: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The checkpoint in ``path``, and the options --resume takes from it: those
    of the run it recorded that the command line leaves out (or to ``auto``).

    Raises
    ------
    ValueError
        If the file holds no Classifier with its optimizer and training state,
        options given contradict the run's (the message names each), or
        --epochs is not past the checkpoint's epoch.
    """
    from deepgrad import io
    from deepgrad.train import Classifier

    checkpoint = io.load_checkpoint(path)
    state = checkpoint.training_state
    if (
        not isinstance(checkpoint.obj, Classifier)
        or not isinstance(state, dict)
        or not isinstance(state.get("epoch"), int)
        or checkpoint.optimizer_state is None
    ):
        raise ValueError(
            f"--resume {path}: holds no optimizer and training state to resume "
            "from; give a file written by `deepgrad train --out` (or by Ctrl-C)"
        )
    recorded = _recorded_options(path, state.get("cli"))
    given = [
        name
        for name in recorded
        if _source(ctx, name) in _GIVEN and not _chooses(options[name])
    ]
    contradictions = [
        f"{_flag(ctx, name)} (the checkpoint: {_shown(recorded[name])}; these "
        f"options: {_shown(options[name])})"
        for name in given
        if name != "epochs"  # the one option a resumed run changes
        and _canonical(name, options[name]) != _canonical(name, recorded[name])
    ]
    if contradictions:
        raise ValueError(
            f"--resume {path}: the options contradict the checkpoint: "
            f"{'; '.join(contradictions)}; leave them out: --resume takes the "
            f"run's options from {path}"
        )
    taken = {name: value for name, value in recorded.items() if name not in given}
    data = Path(options["data"])
    if not (data.suffix.lower() == ".csv" and data.is_file()):
        # a built-in set or an NPZ file has its own task, checked with its classes
        # (--task tells how to read a CSV file's target column)
        taken.pop("task", None)
    done, epochs = state["epoch"], taken.get("epochs", options["epochs"])
    if epochs <= done and "epochs" in taken:
        raise ValueError(
            f"--resume {path}: its run has trained all its {done} epochs; give "
            f"--epochs N, more than {done}, to continue it"
        )
    if epochs <= done:
        raise ValueError(
            f"--epochs {epochs}: {path} has trained {done} epochs already; give "
            "more to continue"
        )
    return checkpoint, taken


def _check_data(path: Path, loaded: Any, dataset: Any) -> None:
    """Refuse DATA of another task, other classes or other columns than the run
    in the checkpoint was trained on, before options fit for the one meet the
    other."""

    def names(values: Any) -> list[str] | None:
        return None if values is None else [str(value) for value in values]

    compared = [
        ("task", loaded.task, dataset.task),
        ("classes", names(loaded.class_names), names(dataset.class_names)),
        ("columns", names(loaded.feature_names), names(dataset.feature_names)),
    ]
    differences = [
        f"{what} (the checkpoint: {saved}; this data: {given})"
        for what, saved, given in compared
        if saved != given
    ]
    if differences:
        raise ValueError(
            f"--resume {path}: this data contradicts the checkpoint: "
            f"{'; '.join(differences)}; continue it on data with the same task, "
            "classes and columns"
        )


def _resumed(
    path: Path, checkpoint: Any, planned: Any, build_optimizer: Callable[[Any], Any]
) -> tuple[Any, dict[str, Any]]:
    """The checkpoint's Classifier, with an optimizer that ``build_optimizer``
    builds over its weights loaded with its state, and its training state.

    Raises
    ------
    ValueError
        If the Classifier planned from the options and DATA contradicts the
        checkpoint's (the network, the loss, the scaling, the optimizer); the
        message lists the differences. With the run's options taken from the
        file, only DATA can (another number of columns).
    """
    from deepgrad.modelfile import describe

    loaded = checkpoint.obj
    optimizer = build_optimizer(loaded.model.parameters())
    compared: list[tuple[str, Any, Any]] = [
        ("loss", loaded.loss_name, planned.loss_name),
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
    # the options taken from a file that records them agree: only DATA can differ
    recorded = "cli" in checkpoint.training_state
    theirs = "this data" if recorded else "these options"
    contradictions = [
        f"{what} (the checkpoint: {saved}; {theirs}: {given})"
        for what, saved, given in compared
        if saved != given or what == "network"
    ]
    if contradictions:
        problem, remedy = (
            ("this data contradicts", "continue it on data of the same columns")
            if recorded
            else ("the options contradict", "give the options it was trained with")
        )
        raise ValueError(
            f"--resume {path}: {problem} the checkpoint: "
            f"{'; '.join(contradictions)}; {remedy}"
        )
    optimizer.load_state_dict(checkpoint.optimizer_state)
    loaded.optimizer = optimizer
    return loaded, checkpoint.training_state
