"""``fit``: the lab's training step over the batches of a DataLoader, epoch after epoch.

``fit`` is the loop the lab writes by hand (forward, loss, backward, step, zero
the gradients), run over the batches of a DataLoader for a number of epochs,
with Keras' log lines and callbacks::

    history = fit(model, nn.BCELoss(), dg.optim.SGD(model.parameters(), lr=0.1),
                  (X, y), epochs=5000, batch_size="full", log_every=500)
    # Epoch 500/5000 - loss: 0.0107 - accuracy: 1.0000 - 1ms

Keras' conventions hold where PyTorch has no such thing: ``epochs`` is the index
of the last epoch (so ``initial_epoch=k`` resumes after epoch k), callbacks see
0-based epoch indices and a ``logs`` dict, and log lines count from 1.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from deepgrad.fast import compile_step
from deepgrad.nn.module import Module
from deepgrad.optim.optimizer import Optimizer
from deepgrad.tensor import default_generator
from deepgrad.train import divergence
from deepgrad.train.batches import (
    batch_targets,
    evaluate_loader,
    model_dtype,
    prepare_data,
    starting_loss,
)
from deepgrad.train.blocks import MIN_BLOCK_EPOCHS, BackToBack
from deepgrad.train.callbacks import Callback
from deepgrad.train.callbacks.live_plot import LivePlot
from deepgrad.train.console import ProgressBar, format_epoch_line
from deepgrad.train.history import History
from deepgrad.train.recorder import ParameterRecorder
from deepgrad.train.run import FitRun, Snapshot
from deepgrad.train.targets import (
    LossKind,
    count_correct,
    has_accuracy,
    loss_kind,
    match_target,
    scalar_loss,
    target_array,
)

# why a run stopped when Ctrl-C came before its first epoch was complete
INTERRUPTED_BEFORE_START = "Interrupted before training started"


def _tracks_accuracy(metrics: Any, kind: LossKind | None) -> bool:
    if metrics == "auto":
        return has_accuracy(kind)
    if metrics is None or (isinstance(metrics, (list, tuple)) and not metrics):
        return False
    if metrics in ("accuracy", ["accuracy"], ("accuracy",)):
        if not has_accuracy(kind):
            raise ValueError(
                "fit: accuracy needs a classification loss (BCELoss, "
                "BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss); use metrics=None"
            )
        return True
    raise ValueError(
        f"fit: metrics must be 'auto', 'accuracy' or None, received: {metrics!r}"
    )


def check_settings(
    epochs: Any, verbose: Any, log_every: Any, initial_epoch: Any
) -> None:
    for name, value, smallest in (
        ("epochs", epochs, 0),
        ("log_every", log_every, 1),
        ("initial_epoch", initial_epoch, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"fit: {name} must be an integer, received: {value!r}")
        if value < smallest:
            raise ValueError(f"fit: {name} must be >= {smallest}, received: {value}")
    if verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, received: {verbose!r}")


def with_live_plot(callbacks: Iterable[Callback], live: bool) -> list[Callback]:
    """The callbacks, plus the notebook's live loss plot when ``live``."""
    callbacks = list(callbacks)
    if live:
        callbacks.append(LivePlot())  # matplotlib is imported when it first draws
    return callbacks


def fit(
    model: Module,
    loss_fn: Any,
    optimizer: Optimizer,
    train_data: Any,
    epochs: int = 1,
    batch_size: int | str | None = 32,
    validation: Any = None,
    callbacks: Iterable[Callback] = (),
    verbose: int = 1,
    log_every: int = 1,
    shuffle: bool = True,
    seed: int | None = None,
    initial_epoch: int = 0,
    metrics: Any = "auto",
    *,
    training_state: dict[str, Any] | None = None,
    fast: bool = True,
    live: bool = False,
    l1: float = 0.0,
) -> History:
    """Train a model by mini-batch gradient descent, printing Keras-style logs.

    Each batch runs the lab's step: ``optimizer.zero_grad()``, forward, loss,
    ``loss.backward()``, ``optimizer.step()``. An epoch's loss is the mean of
    its batch losses weighted by batch size; validation runs after each epoch
    in ``eval()`` mode under ``dg.no_grad()``. A NaN or infinite loss stops
    training at once and puts back the weights (and optimizer state) of the
    last good epoch. Ctrl-C stops cleanly: the history so far is returned with
    ``interrupted=True``.

    Parameters
    ----------
    model : Module
        The network; left in train mode.
    loss_fn : Module or callable
        ``loss_fn(output, target) -> scalar Tensor``. For deepgrad's losses the
        targets are adapted: int labels (N,) meet a (N, 1) BCE or MSE output.
    optimizer : Optimizer
        Built on ``model.parameters()``.
    train_data : (X, y) tuple, Dataset or DataLoader
        Arrays or Tensors, a ``deepgrad.data.Dataset``, or a ready
        ``DataLoader(TensorDataset(X, y), ...)`` (then ``batch_size``,
        ``shuffle`` and the generator are its own).
    epochs : int
        The index of the last epoch: trains epochs ``initial_epoch..epochs-1``.
    batch_size : int, "full" or None
        Samples per step; 1 is per-sample SGD, "full" (or None) full-batch.
    validation : (X, y) tuple, Dataset or float, optional
        Data to compute ``val_loss`` and ``val_accuracy`` on after each epoch,
        or the fraction of the training data to split off for it (seeded,
        stratified for classification).
    callbacks : iterable of Callback
        EarlyStopping, ModelCheckpoint, LearningRateScheduler, ... in order.
    verbose : {0, 1, 2}
        0 silent; 2 one line per epoch; 1 the same plus a live progress bar
        over the batches of long epochs in a terminal or Jupyter.
    log_every : int
        Print only every N-th epoch, plus the first and the last.
    shuffle : bool
        Reshuffle the samples every epoch.
    seed : int, optional
        Seed of the shuffling (and of the validation split).
    initial_epoch : int
        The epoch to start at, to resume a run.
    metrics : "auto", "accuracy" or None
        "auto" tracks accuracy for classification losses (BCELoss thresholds
        probabilities at 0.5, BCEWithLogitsLoss logits at 0, CrossEntropyLoss
        and NLLLoss take the argmax).
    training_state : dict, optional
        ``history.training_state`` (or a checkpoint's) of an earlier run:
        restores the shuffling and deepgrad's generators and the history, and
        starts at its epoch unless ``initial_epoch`` is given. Restore the
        model's weights and the optimizer's state first.
    fast : bool
        Use the compiled training step of :mod:`deepgrad.fast` when the model is
        a plain MLP it covers (Sequential of Linear + ReLU/Sigmoid/Tanh/LeakyReLU
        with BCELoss, BCEWithLogitsLoss, CrossEntropyLoss or MSELoss): the same
        losses and weights as the eager step, several times faster. When
        nothing runs between epochs (no callbacks or validation, no shuffling,
        plain SGD, no progress bar) the epochs up to the next log line run back
        to back, with the same history; each of them then logs the block's mean
        ``time``. ``False`` always runs the eager step shown above. With the
        ``fast`` extra (Numba) installed, runs long enough to pay for loading
        it run the step's elementwise stages as fused kernels, the same results
        within float32 rounding; ``DEEPGRAD_KERNELS=numpy`` (or ``numba``)
        forces the choice.
    live : bool
        In a Jupyter notebook, redraw the loss curve in place while training
        (:class:`deepgrad.plots.LivePlot`, a few redraws a second at most);
        elsewhere it warns once and does nothing.
    l1 : float
        L1 regularisation: each step descends ``loss + l1 * sum(|W|)`` over the
        weight matrices (:func:`l1_penalty`; biases are not penalised), which
        pushes small weights to exactly 0. The logged ``loss`` stays the data
        loss, comparable with ``val_loss``, as TensorFlow Playground shows it.
        L2 is the optimizer's ``weight_decay``. Runs the eager step.

    Returns
    -------
    History
        Per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``,
        ``lr``, ``time``, gradient norms per parameter, and why training stopped.

    Raises
    ------
    TypeError, ValueError
        For data or settings that cannot be used, naming what is wrong.

    Example
    -------
    >>> import numpy as np
    >>> import deepgrad as dg
    >>> from deepgrad import nn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    >>> y = np.array([0, 1, 1, 0])
    >>> _ = dg.manual_seed(42)
    >>> model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1),
    ...                       nn.Sigmoid())
    >>> optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    >>> history = fit(model, nn.BCELoss(), optimizer, (X, y), epochs=3,
    ...               batch_size="full", verbose=0)
    >>> len(history.history["loss"])
    3
    """
    check_settings(epochs, verbose, log_every, initial_epoch)
    kind = loss_kind(loss_fn)
    loader, validation_loader = prepare_data(
        train_data, validation, batch_size, shuffle, seed, kind, model_dtype(model)
    )
    return fit_loop(
        model,
        loss_fn,
        optimizer,
        loader,
        validation_loader,
        epochs=epochs,
        callbacks=with_live_plot(callbacks, live),
        verbose=verbose,
        log_every=log_every,
        initial_epoch=initial_epoch,
        accuracy=_tracks_accuracy(metrics, kind),
        training_state=training_state,
        save_target=model,
        fast=fast,
        l1=l1,
    )


def _restore_training_state(
    training_state: dict[str, Any], loader: Any
) -> tuple[int, History]:
    """Put the generators back; (the epoch to start at, the history so far)."""
    try:
        epoch = int(training_state["epoch"])
        loader.set_state(training_state["loader"])
        default_generator().set_state(training_state["rng"])
        history = History.from_dict(training_state["history"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            "fit: training_state must be the dict of history.training_state or of "
            f"a checkpoint; it could not be restored ({error!r})"
        ) from None
    return epoch, history


def _stop_diverged(
    run: FitRun, history: History, reason: str, lr: float, verbose: int
) -> None:
    """Stop the run that diverged (the last good weights are already restored)."""
    text = divergence.message(reason, lr)
    run.stop(text)
    history.diverged = True
    if verbose == 0:
        warnings.warn(text, divergence.DivergenceWarning, stacklevel=4)


def l1_penalty(model: Module) -> Any:
    """sum(|W|) over the model's weight matrices: parameters named ``weight``
    with two or more dimensions (Linear's; not biases or BatchNorm's scale), as
    Keras' ``kernel_regularizer=l1``. Its gradient is sign(W)."""
    weights = [
        parameter
        for name, parameter in model.named_parameters()
        if name.rsplit(".", 1)[-1] == "weight" and parameter.ndim >= 2
    ]
    if not weights:
        raise ValueError("fit: l1 penalises weight matrices, and this model has none")
    return sum(weight.abs().sum() for weight in weights)


def fit_loop(
    model: Module,
    loss_fn: Any,
    optimizer: Optimizer,
    loader: Any,
    validation_loader: Any,
    *,
    epochs: int,
    callbacks: Sequence[Callback],
    verbose: int,
    log_every: int,
    initial_epoch: int,
    accuracy: bool,
    training_state: dict[str, Any] | None,
    save_target: Any,
    fast: bool = True,
    scores: Any = None,
    l1: float = 0.0,
) -> History:
    """The epochs of ``fit`` over ready loaders; ``save_target`` is what checkpoints
    save (the model, or the Classifier that wraps it). ``scores``, when given,
    is called after each epoch for more logs (a Classifier's regression MAE and
    R²), with the names of those logs as its ``keys``."""
    if len(loader) == 0:
        raise ValueError(
            f"fit: the training data gives no batches ({loader!r}); use a smaller "
            "batch_size or drop_last=False"
        )
    kind = loss_kind(loss_fn)
    history = History()
    if training_state is not None:
        resumed_epoch, history = _restore_training_state(training_state, loader)
        initial_epoch = initial_epoch or resumed_epoch
    log_keys = ["loss"] + (["accuracy"] if accuracy else [])
    if validation_loader is not None:
        log_keys += ["val_loss"] + (["val_accuracy"] if accuracy else [])
    if scores is not None:
        log_keys += scores.keys
    run = FitRun(
        model,
        optimizer,
        loader,
        history,
        save_target,
        log_keys + ["lr", "time"],
        initial_epoch,
    )
    run.verbose = verbose
    for callback in callbacks:
        callback.set_run(run)
    # weights (and optimizer state) at the start of the last epoch whose loss was
    # finite, and at the start of the current one: after a NaN loss the guard goes
    # back to the former, which is known to give a finite loss. healthy_state
    # holds those after the last epoch that broke no divergence rule, copied when
    # a healthy stretch ends (the other rules go back to it)
    last_good, epoch_start = Snapshot(model, optimizer), Snapshot(model, optimizer)
    healthy_state = Snapshot(model, optimizer)
    if isinstance(l1, bool) or not isinstance(l1, (int, float)) or not l1 >= 0:
        raise ValueError(f"fit: l1 must be a number >= 0, received: {l1!r}")
    # the compiled step knows no penalty: with one, every step is the eager one
    step = None
    if fast and not l1:  # Numba's kernels when installed and the run pays for them
        steps = (epochs - initial_epoch) * len(loader)
        step = compile_step(model, loss_fn, optimizer, steps=steps)
    # with no callback, nothing but the step runs while fit trains, so the labels
    # stay as they are: their range is checked once here, not at every step
    labels_checked = False
    if step is not None and not callbacks and kind is not None and kind.index_targets:
        labels = batch_targets(loader)
        if labels is not None:
            labels = target_array(
                kind, labels, step.output_shape(len(labels)), step.dtype
            )
            labels_checked = step.check_labels(labels)
    recorder = ParameterRecorder(model)
    history.loss_name = getattr(loss_fn, "full_name", None) or getattr(
        loss_fn, "__name__", type(loss_fn).__name__
    )
    last_logged: int | None = None
    last_logs: dict[str, float] = {}

    model.train()
    progress = ProgressBar(verbose, len(loader))
    run.console = progress.console
    block = None
    if scores is None:  # scores are computed between epochs
        block = BackToBack.create(
            step, loader, kind, recorder, callbacks, validation_loader, progress,
            accuracy,
        )  # fmt: skip

    def _log_due(epoch: int) -> bool:
        return verbose > 0 and (
            (epoch + 1) % log_every == 0
            or epoch == initial_epoch
            or epoch == epochs - 1
        )

    def _block_length(epoch: int, max_epochs: int) -> int:
        """Epochs from ``epoch`` up to the next one with a log line, at most."""
        last = epochs - 1
        if verbose > 0:
            if epoch == initial_epoch:
                return 1
            last = min(last, epoch + (log_every - 1 - epoch) % log_every)
        return min(last - epoch + 1, max_epochs)

    epoch = initial_epoch
    # overflow in a diverging run is reported once by the divergence guard, not as
    # NumPy warnings from deep inside the step
    numpy_errors = np.seterr(over="ignore", invalid="ignore", divide="ignore")
    try:
        if not history.epoch:  # where the divergence guard measures from
            history.initial_weight_norm = recorder.initial_norm()
            history.initial_loss = starting_loss(model, loss_fn, kind, loader)
        guard = divergence.Guard(history)
        for callback in callbacks:
            callback.on_train_begin()
        while epoch < epochs:
            started = time.perf_counter()
            if epoch != initial_epoch:
                epoch_start.take()
            run.leave_epoch_boundary(epoch_start)
            block_epochs = (
                0 if block is None else _block_length(epoch, block.max_epochs)
            )
            if block is not None and block_epochs >= MIN_BLOCK_EPOCHS:
                lr = float(optimizer.param_groups[0]["lr"])
                result = block.run(epoch, block_epochs, history, lr)
                done = result.completed
                first = len(history.epoch) - done
                # the rules judge the block's epochs one by one, as the loop would
                losses = history.history.get("loss", [])[first:]
                squares = np.broadcast_to(
                    divergence.squared_norm(
                        np.asarray(norms[first:])
                        for norms in history.weight_norms.values()
                    ),
                    (done,),
                )
                reason, turned = None, None  # turned: the row ending a healthy run
                for row in range(done):
                    was_healthy = guard.healthy
                    reason = guard.check(epoch + row, losses[row], float(squares[row]))
                    if was_healthy and not guard.healthy:
                        turned = row
                    if reason is not None:
                        break
                if turned == 0:
                    healthy_state.copy_from(epoch_start)  # the start of the block
                elif turned is not None:
                    block.set_parameters(result.weights[turned - 1])
                    healthy_state.take()
                if reason is not None:
                    history._truncate(first + row + 1)
                    logs = {key: values[-1] for key, values in history.history.items()}
                    last_logs = logs
                    if _log_due(epoch + row):
                        run.echo(format_epoch_line(epoch + row, epochs, logs))
                        last_logged = epoch + row
                    healthy_state.restore()
                    epoch += row + 1
                    run.mark_epoch_boundary(epoch)  # no generator was drawn from
                    _stop_diverged(run, history, reason, lr, verbose)
                    break
                if done:
                    last_logs = result.last_logs
                    if _log_due(epoch + done - 1):
                        run.echo(format_epoch_line(epoch + done - 1, epochs, last_logs))
                        last_logged = epoch + done - 1
                if result.bad_loss is not None:
                    # the start of the epoch before the bad one: the end of the one
                    # before that, the snapshot, or (epoch 0) the start
                    if done >= 2:
                        block.set_parameters(result.weights[done - 2])
                    else:
                        (
                            epoch_start
                            if done == 1 or epoch == initial_epoch
                            else last_good
                        ).restore()
                    epoch += done
                    run.mark_epoch_boundary(epoch)
                    _stop_diverged(
                        run,
                        history,
                        f"Epoch {epoch + 1}: loss is {result.bad_loss}",
                        lr,
                        verbose,
                    )
                    break
                if result.interrupted:
                    # back to the end of the last completed epoch (the start of
                    # the block, held by epoch_start, when none completed)
                    if done:
                        block.set_parameters(result.weights[done - 1])
                        run.mark_epoch_boundary(epoch + done)
                    epoch += done
                    raise KeyboardInterrupt
                # the start of the block's last epoch is the next one's last_good
                # (epoch_start holds the boundary's weights until it is marked)
                if done >= 2:
                    block.set_parameters(result.weights[done - 2])
                    last_good.take()
                else:
                    last_good, epoch_start = epoch_start, last_good
                block.set_parameters(result.weights[done - 1])
                epoch += done
                run.mark_epoch_boundary(epoch)  # no generator was drawn from
                continue
            for callback in callbacks:
                callback.on_epoch_begin(epoch, {})
            lr = float(optimizer.param_groups[0]["lr"])
            progress.begin_epoch(epoch, epochs)
            loss_sum = 0.0
            correct = counted = seen = 0
            bad_loss: float | None = None
            for batch, (X_batch, y_batch) in enumerate(loader):
                if step is not None and X_batch.array.dtype == step.dtype:
                    # the compiled MLP step (deepgrad.fast), equal to the eager one
                    output_values = step.forward(X_batch.array)
                    target_values = target_array(
                        kind, y_batch.array, output_values.shape, step.dtype
                    )
                    loss_value = step.backward_and_update(
                        X_batch.array, target_values, labels_checked
                    )
                else:
                    optimizer.zero_grad()
                    output = model(X_batch)
                    target = match_target(kind, output, y_batch)
                    loss = loss_fn(output, target)
                    loss_value = scalar_loss(loss)
                    if math.isfinite(loss_value):
                        if l1:
                            loss = loss + l1 * l1_penalty(model)
                        loss.backward()
                        optimizer.step()
                    output_values, target_values = output.array, target.array
                if not math.isfinite(loss_value):
                    bad_loss = loss_value
                    break
                loss_sum += loss_value * len(X_batch)
                seen += len(X_batch)
                if accuracy and kind is not None:
                    batch_correct, batch_counted = count_correct(
                        kind, output_values[None], target_values
                    )
                    correct += int(batch_correct[0])
                    counted += batch_counted
                for callback in callbacks:
                    callback.on_batch_end(
                        batch, {"loss": loss_value, "size": len(X_batch)}
                    )
                progress.advance()

            if bad_loss is not None:
                # Diverged: go back to the weights at the start of the last epoch
                # whose loss was finite (the start of this one may already be bad).
                (epoch_start if epoch == initial_epoch else last_good).restore()
                _stop_diverged(
                    run, history, f"Epoch {epoch + 1}: loss is {bad_loss}", lr, verbose
                )
                break
            last_good, epoch_start = epoch_start, last_good

            logs = {"loss": loss_sum / seen}
            if accuracy:
                logs["accuracy"] = correct / counted
            if validation_loader is not None:
                val_loss, val_accuracy = evaluate_loader(
                    model, loss_fn, kind, validation_loader, accuracy
                )
                logs["val_loss"] = val_loss
                if val_accuracy is not None:
                    logs["val_accuracy"] = val_accuracy
            if scores is not None:
                logs.update(scores())
            logs["lr"] = lr
            logs["time"] = time.perf_counter() - started
            grad_norms, weight_norms, update_ratios = recorder.record()
            history._extend(
                range(epoch, epoch + 1),
                {key: [value] for key, value in logs.items()},
                grad_norms,
                weight_norms,
                update_ratios,
            )
            run.mark_epoch_boundary(epoch + 1)
            last_logs = logs
            if _log_due(epoch):
                run.echo(format_epoch_line(epoch, epochs, logs))
                last_logged = epoch
            was_healthy = guard.healthy
            reason = guard.check(
                epoch,
                logs["loss"],
                divergence.squared_norm(norms[0] for norms in weight_norms.values()),
            )
            if was_healthy and not guard.healthy:
                healthy_state.copy_from(last_good)  # the start of this epoch
            if reason is not None:
                healthy_state.restore()
                epoch += 1
                _stop_diverged(run, history, reason, lr, verbose)
                break
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            epoch += 1
            if run.stop_requested:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        run.stopped_reason = (
            INTERRUPTED_BEFORE_START
            if epoch == initial_epoch
            else f"Epoch {epoch + 1}: training interrupted (Ctrl-C)."
        )
        run.return_to_epoch_boundary()
    finally:
        np.seterr(**numpy_errors)
        progress.stop()
        run.console = None
        model.train()

    if verbose > 0 and history.epoch and history.epoch[-1] != last_logged and last_logs:
        # the epoch training stopped at, when log_every skipped it
        run.echo(format_epoch_line(history.epoch[-1], epochs, last_logs))
    if verbose > 0 and run.stopped_reason:
        run.echo(run.stopped_reason)  # after the last epoch's line
    history.stopped_reason = run.stopped_reason
    history.training_state = run.training_state()
    for callback in callbacks:
        callback.on_train_end(dict(last_logs))
    return history
