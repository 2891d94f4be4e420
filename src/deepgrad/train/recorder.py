"""The parameter norms History records every epoch, computed on rows of weights."""

from __future__ import annotations

import math

import numpy as np

from deepgrad.nn.module import Module


class ParameterRecorder:
    """What History records of each trainable parameter, epoch by epoch.

    ``||dL/dW||`` (from the epoch's last batch), ``||W||`` and the
    update-to-weight ratio ``||W_after - W_before|| / ||W_before||``. The values
    arrive as rows, one per epoch, of the parameters laid end to end in the
    model's order (float64): ``record()`` copies one row per epoch, and a block
    of epochs run back to back (``CompiledStep.run_epochs``) hands over all its
    rows to ``record_rows`` at once. Either way the norms of every parameter in
    every row are a handful of whole-array NumPy calls (``np.add.reduceat`` over
    the parameters' segments), so the lab's 5000 one-batch epochs do not feel it.
    """

    def __init__(self, model: Module) -> None:
        self.params = [
            param
            for param in model.parameters()
            if param.requires_grad and param.array.size > 0
        ]
        names = {id(param): name for name, param in model.named_parameters()}
        self.names = [names[id(param)] for param in self.params]
        # parameters with no elements have no norm: reported as 0 like a missing grad
        self.empty = [
            name
            for name, param in model.named_parameters()
            if param.requires_grad and param.array.size == 0
        ]
        sizes = [param.array.size for param in self.params]
        self.size = sum(sizes)
        self.offsets = np.cumsum([0, *sizes[:-1]], dtype=np.intp)
        self.segments = list(zip(self.offsets.tolist(), sizes, strict=True))
        self.row_weights, self.row_grads = np.empty((2, 1, self.size))
        # the weights before the first epoch, and their squared norms
        start = np.empty(self.size)
        self._copy(start, [param.array for param in self.params])
        self.before = self._squared_norms(start[None])[0], start

    def initial_norm(self) -> float:
        """The L2 norm of all the parameters before the first epoch."""
        return math.sqrt(float(self.before[0].sum()))

    def _copy(self, row: np.ndarray, arrays: list[np.ndarray | None]) -> None:
        for (offset, size), array in zip(self.segments, arrays, strict=True):
            if array is None:  # a parameter without a gradient: norm 0
                row[offset : offset + size] = 0
            else:
                row[offset : offset + size] = array.ravel()

    def _squared_norms(
        self, rows: np.ndarray, scratch: np.ndarray | None = None
    ) -> np.ndarray:
        """(rows, parameters): ||segment||^2 of each parameter in each row.

        ``scratch`` (shaped like ``rows``, may be ``rows`` itself) holds the squares.
        """
        if not self.params:
            return np.zeros((len(rows), 0))
        squares = np.square(rows, out=scratch)
        return np.add.reduceat(squares, self.offsets, axis=1)

    def record(self) -> tuple[dict[str, list[float]], ...]:
        """The norms after one epoch (each list holds one value)."""
        self._copy(self.row_weights[0], [param.array for param in self.params])
        self._copy(
            self.row_grads[0],
            [None if param.grad is None else param.grad.array for param in self.params],
        )
        return self.record_rows(self.row_weights, self.row_grads)

    def record_rows(
        self, weights: np.ndarray, grads: np.ndarray
    ) -> tuple[dict[str, list[float]], ...]:
        """(||dL/dW||, ||W||, update ratio) per parameter for consecutive epochs.

        ``weights[k]`` and ``grads[k]`` are the parameters and last gradients
        after epoch k. The ratio is NaN where W_before is all zeros (there is no
        size to compare the update to).
        """
        before_squared, before = self.before
        scratch = np.empty_like(weights)  # the one temporary as large as the rows
        weight_squared = self._squared_norms(weights, scratch)
        np.subtract(weights[0], before, out=scratch[0])  # W_after - W_before
        np.subtract(weights[1:], weights[:-1], out=scratch[1:])
        update_squared = self._squared_norms(scratch, scratch)
        grad_squared = self._squared_norms(grads, scratch)
        previous_squared = np.vstack([before_squared[None], weight_squared[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where(
                previous_squared > 0, np.sqrt(update_squared / previous_squared), np.nan
            )
        self.before = weight_squared[-1], weights[-1].copy()
        columns = [np.sqrt(grad_squared), np.sqrt(weight_squared), ratios]
        grad_norms, weight_norms, update_ratios = (
            dict(zip(self.names, values.T.tolist(), strict=True)) for values in columns
        )
        for name in self.empty:
            grad_norms[name] = [0.0] * len(weights)
        return grad_norms, weight_norms, update_ratios
