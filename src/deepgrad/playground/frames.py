"""What the page draws of a network, computed over the plane: the decision
boundary (or regression surface), each neuron's heat map, the weights.

Every number comes from the model's own forward pass in ``eval()`` mode under
``no_grad``; the page receives each map as bytes (0-255, base64), a 48 x 48
grid for the boundary and every other cell of it (24 x 24) for the neurons.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from deepgrad import nn
from deepgrad.data import Dataset
from deepgrad.playground.data import Plane
from deepgrad.tensor import Tensor, no_grad
from deepgrad.train import Classifier
from deepgrad.train.batches import model_dtype
from deepgrad.train.targets import loss_kind

GRID = 48
NEURON_STRIDE = 2  # neuron maps take every other row and column of the grid


def encode(unit_values: np.ndarray) -> str:
    """Values in [0, 1] as base64 bytes 0..255 (NaN as 0)."""
    scaled = np.nan_to_num(np.clip(unit_values, 0.0, 1.0), nan=0.0) * 255
    return base64.b64encode(np.round(scaled).astype(np.uint8).tobytes()).decode()


def layer_outputs(model: nn.Module, features: np.ndarray) -> list[np.ndarray]:
    """The output of each layer of neurons: what enters every Linear after the
    first, then the network's output (each hidden layer's A, the last Z or A)."""
    outputs = []
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            value = Tensor(features.astype(model_dtype(model)))
            children = list(model.children())
            for index, module in enumerate(children):
                value = module(value)
                following = children[index + 1] if index + 1 < len(children) else None
                if following is None or isinstance(following, nn.Linear):
                    outputs.append(value.array)
    finally:
        model.train(was_training)
    return outputs


class Painter:
    """Draws one session's network over its plane, frame after frame."""

    def __init__(self, classifier: Classifier, dataset: Dataset, plane: Plane) -> None:
        self.classifier = classifier
        self.task = dataset.task
        self.plane = plane
        self.grid_inputs = plane.lift(plane.grid(GRID)).astype(np.float32)
        if dataset.task == "regression":
            self.target_range = (float(dataset.y.min()), float(dataset.y.max()))

    def _features(self) -> np.ndarray:
        standardizer = self.classifier.standardizer
        if standardizer is None:
            return self.grid_inputs
        return np.asarray(standardizer.transform(self.grid_inputs), dtype=np.float32)

    def paint(self) -> dict[str, Any]:
        """``boundary`` (the output over the plane) and ``neurons`` (a list per
        layer of base64 maps, each scaled by its own largest |value|)."""
        outputs = layer_outputs(self.classifier.model, self._features())
        return {
            "boundary": self._boundary(outputs[-1]),
            "neurons": [self._neuron_maps(values) for values in outputs],
        }

    def _boundary(self, output: np.ndarray) -> dict[str, Any]:
        kind = loss_kind(self.classifier.loss_fn)
        if self.task == "regression" or kind is None or kind.probability is None:
            low, high = getattr(self, "target_range", (0.0, 1.0))
            scaled = (output[:, 0] - low) / (high - low if high > low else 1.0)
            return {"kind": "regression", "size": GRID, "values": encode(scaled)}
        probability = kind.probability(Tensor(output)).array
        if probability.shape[1] == 1:
            return {"kind": "binary", "size": GRID, "values": encode(probability[:, 0])}
        return {
            "kind": "multiclass",
            "size": GRID,
            "classes": encode(probability.argmax(axis=1) / 255),
            "values": encode(probability.max(axis=1)),
        }

    def _neuron_maps(self, values: np.ndarray) -> list[str]:
        square = values.reshape(GRID, GRID, -1)[::NEURON_STRIDE, ::NEURON_STRIDE]
        maps = []
        for unit in range(square.shape[-1]):
            unit_values = square[..., unit].astype(np.float64).ravel()
            largest = float(np.max(np.abs(unit_values))) if unit_values.size else 0.0
            # -largest..largest -> 0..1, 0.5 is a zero output
            maps.append(encode(0.5 + 0.5 * unit_values / (largest or 1.0)))
        return maps


def weights(model: nn.Module) -> list[dict[str, Any]]:
    """Each Linear's weight (out x in) and bias, rounded for the page."""
    return [
        {
            "weight": np.round(layer.weight.array.astype(np.float64), 4).tolist(),
            "bias": None
            if layer.bias is None
            else np.round(layer.bias.array.astype(np.float64), 4).tolist(),
        }
        for layer in model.modules()
        if isinstance(layer, nn.Linear)
    ]
