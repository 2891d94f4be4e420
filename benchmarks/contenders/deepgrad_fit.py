"""deepgrad's own training loop, ``deepgrad.train.fit`` (issue 5).

``fit`` draws its own batch order; everything else (model, initial weights, loss,
optimizer, batch size, epochs) is the other contenders'. When ``deepgrad.train``
is missing the worker reports this contender as n/a.
"""

from __future__ import annotations

import inspect
import os

import numpy as np

import deepgrad as dg
from benchmarks.contenders import eager
from deepgrad import nn
from deepgrad.train import fit

# the NumPy step, whatever the run's length ("deepgrad fit numba" runs the kernels)
os.environ.setdefault("DEEPGRAD_KERNELS", "numpy")


def _fit(model, loss_fn, optimizer, features, labels, epochs, batch_size, shuffle):
    """Call ``fit`` with the arguments its signature takes; the per-epoch losses."""
    accepted = inspect.signature(fit).parameters
    options = {
        "epochs": epochs,
        "batch_size": batch_size,
        "verbose": 0,
        "shuffle": shuffle,
        "seed": 0,
    }
    options = {name: value for name, value in options.items() if name in accepted}
    history = fit(model, loss_fn, optimizer, (features, labels), **options)
    records = getattr(history, "history", history)
    losses = records["loss"] if isinstance(records, dict) else records.loss
    return np.asarray(losses, dtype=float)


def xor_trainer(weights, learning_rate, steps, per_sample, threads):
    from benchmarks.workloads import XOR_INPUTS, XOR_LABELS

    layers = nn.Sequential(
        nn.Linear(2, 4),
        nn.Sigmoid(),
        nn.Linear(4, 4),
        nn.Sigmoid(),
        nn.Linear(4, 1),
        nn.Sigmoid(),
    )
    state = {}
    for index, position in enumerate((0, 2, 4), start=1):
        state[f"{position}.weight"] = weights[f"W{index}"].T.copy()
        state[f"{position}.bias"] = weights[f"b{index}"]
    batch_size = 1 if per_sample else len(XOR_INPUTS)
    epochs = steps // (len(XOR_INPUTS) // batch_size)

    def train():
        layers.load_state_dict(state)
        optimizer = dg.optim.SGD(layers.parameters(), lr=learning_rate)
        return _fit(
            layers,
            nn.BCELoss(),
            optimizer,
            XOR_INPUTS,
            XOR_LABELS,
            epochs,
            batch_size,
            shuffle=False,
        )

    return train


def mlp_trainer(
    state_dict, features, labels, order, batch_size, learning_rate, threads
):
    layers = [features.shape[1]] + [
        value.shape[0] for key, value in state_dict.items() if key.endswith("bias")
    ]
    model = eager.mlp(nn, layers)

    def train():
        model.load_state_dict(state_dict)
        optimizer = dg.optim.Adam(model.parameters(), lr=learning_rate)
        return _fit(
            model,
            nn.CrossEntropyLoss(),
            optimizer,
            features,
            labels,
            len(order),
            batch_size,
            shuffle=True,
        )

    return train
