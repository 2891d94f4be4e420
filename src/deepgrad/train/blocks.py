"""Epochs run back to back in the compiled step, recorded as if run one by one."""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from deepgrad.train.batches import data_loader_class
from deepgrad.train.history import History
from deepgrad.train.targets import count_correct, target_array

# A block shorter than this runs epoch by epoch: setting one up costs about an epoch.
MIN_BLOCK_EPOCHS = 16
# What one block may hold of recorded weights, gradients, outputs and the scratch
# their norms are computed in.
_BLOCK_BYTES = 32 * 2**20


class BlockResult(NamedTuple):
    completed: int  # epochs that ran to the end with a finite loss
    bad_loss: float | None  # the loss of the epoch after them, when not finite
    interrupted: bool  # Ctrl-C arrived during the epoch after them
    weights: np.ndarray  # the parameters (float64 rows) after each completed epoch
    last_logs: dict[str, float]  # the logs of the last completed epoch


class BackToBack:
    """Epochs that ``fit`` runs back to back in ``CompiledStep.run_epochs``.

    The lab's 5000 full-batch epochs spend as long in the per-epoch Python of
    the loop in ``fit_loop`` (the data loader, snapshots, records, log
    bookkeeping) as in the training step itself. When nothing can happen
    between two epochs (no callbacks, no validation, no progress bar, the same
    batches every epoch, and the compiled step updating by plain SGD over one
    flat buffer) the epochs up to the next log line run back to back, and what
    the loop records of each epoch (loss, accuracy, parameter norms, the
    weights the divergence guard goes back to) is computed for the whole block
    from the rows ``run_epochs`` wrote. The history, weights and log lines are
    those of running the epochs one by one (tests/test_fit_blocks.py checks).
    """

    def __init__(self, step, loader, recorder, kind, accuracy) -> None:
        self.step = step
        self.loader = loader
        self.batches: list[tuple[np.ndarray, np.ndarray]] = []  # on the first run
        self.recorder = recorder
        self.kind = kind
        self.accuracy = accuracy
        samples = loader.n_samples
        if loader.drop_last:  # the samples after the last full batch never train
            samples = len(loader) * loader.batch_size
        self.output_shape = step.output_shape(samples)
        # float64 weights and gradients, and record_rows' scratch, per epoch
        row_bytes = 3 * 8 * recorder.size
        if accuracy:
            row_bytes += int(np.prod(self.output_shape)) * step.dtype.itemsize
        self.max_epochs = max(1, _BLOCK_BYTES // max(row_bytes, 1))

    @classmethod
    def create(
        cls,
        step,
        loader,
        kind,
        recorder,
        callbacks,
        validation_loader,
        progress,
        accuracy,
    ) -> BackToBack | None:
        """The block runner for this fit call, or None where epochs need the loop."""
        if step is None or callbacks or validation_loader is not None:
            return None
        if progress.console is not None or not step.flat_sgd_ready():
            return None
        if not isinstance(loader, data_loader_class()) or loader.y is None:
            return None
        if loader.X.dtype != step.dtype:
            return None
        if loader.shuffle and loader.batch_size < loader.n_samples:
            return None  # a new order every epoch
        flat_order = [p for p in step.parameters if p.array.size > 0]
        if len(flat_order) != len(recorder.params) or any(
            a is not b for a, b in zip(flat_order, recorder.params, strict=True)
        ):
            return None
        return cls(step, loader, recorder, kind, accuracy)

    def _gather(self) -> None:
        """The batches of every epoch (the loader does not shuffle), once."""
        for X_batch, y_batch in self.loader:
            shape = self.step.output_shape(len(X_batch))
            target = target_array(self.kind, y_batch.array, shape, self.step.dtype)
            self.batches.append((X_batch.array, target))
        self.targets = np.concatenate([target for _, target in self.batches])

    def run(self, first: int, epochs: int, history: History, lr: float) -> BlockResult:
        """Run ``epochs`` epochs from epoch ``first`` and record the completed ones."""
        started = time.perf_counter()
        if not self.batches:
            self._gather()
        losses = np.empty(epochs)
        weights, grads = np.empty((2, epochs, self.recorder.size))
        outputs = (
            np.empty((epochs, *self.output_shape), self.step.dtype)
            if self.accuracy
            else None
        )
        completed, interrupted = self.step.run_epochs(
            self.batches, losses, weights, grads, outputs
        )
        elapsed = time.perf_counter() - started
        bad_loss = (
            float(losses[completed]) if completed < epochs and not interrupted else None
        )
        logs: dict[str, list[float]] = {}
        if completed:
            logs["loss"] = losses[:completed].tolist()
            if outputs is not None:
                correct, counted = count_correct(
                    self.kind, outputs[:completed], self.targets
                )
                logs["accuracy"] = (correct / counted).tolist()
            logs["lr"] = [lr] * completed
            # the block is timed as a whole: each epoch gets the mean of those
            # that started (a diverged or interrupted one included)
            started_epochs = min(completed + 1, epochs)
            logs["time"] = [elapsed / started_epochs] * completed
            history._extend(
                range(first, first + completed),
                logs,
                *self.recorder.record_rows(weights[:completed], grads[:completed]),
            )
        last_logs = {key: values[-1] for key, values in logs.items()}
        return BlockResult(
            completed, bad_loss, interrupted, weights[:completed], last_logs
        )

    def set_parameters(self, row: np.ndarray) -> None:
        """Put a row of ``BlockResult.weights`` back into the model."""
        values, _ = self.step.flat_parameters()
        values[...] = row
