"""The same training loops for deepgrad and PyTorch: only the library module differs.

This is the point of deepgrad's API: the lab notebook and the usual PyTorch loop
run unchanged with ``lib = deepgrad`` or ``lib = torch``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.workloads import XOR_INPUTS, XOR_LABELS, batch_slices


def xor_trainer(lib, functional, weights, learning_rate, steps, per_sample):
    """The lab: 2-4-4-1 sigmoid, BCE, ``p -= lr * p.grad`` inside ``no_grad``."""
    inputs, labels = lib.tensor(XOR_INPUTS), lib.tensor(XOR_LABELS)
    if per_sample:
        batches = [(inputs[i : i + 1], labels[i : i + 1]) for i in range(4)]
    else:
        batches = [(inputs, labels)]

    def train() -> np.ndarray:
        W1, b1, W2, b2, W3, b3 = params = [
            lib.tensor(weights[key], requires_grad=True)
            for key in ("W1", "b1", "W2", "b2", "W3", "b3")
        ]
        losses = np.empty(steps)
        for step in range(steps):
            X, y = batches[step % len(batches)]
            a1 = lib.sigmoid(X @ W1 + b1)
            a2 = lib.sigmoid(a1 @ W2 + b2)
            y_pred = lib.sigmoid(a2 @ W3 + b3)
            loss = functional.binary_cross_entropy(y_pred, y)
            loss.backward()
            with lib.no_grad():
                for p in params:
                    p -= learning_rate * p.grad
                    p.grad.zero_()
            losses[step] = loss.item()
        return losses

    return train


def mlp(nn, layers):
    """784-256-128-10 with ReLU between the Linear layers."""
    modules = []
    for fan_in, fan_out in zip(layers, layers[1:], strict=False):
        modules += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*modules[:-1])


def mlp_trainer(lib, state_dict, features, labels, order, batch_size, learning_rate):
    """The usual loop: zero_grad, loss of the batch, backward, Adam step."""
    layers = [features.shape[1]] + [
        value.shape[0] for key, value in state_dict.items() if key.endswith("bias")
    ]
    model = mlp(lib.nn, layers)
    model.load_state_dict(
        {key: lib.from_numpy(value.copy()) for key, value in state_dict.items()}
    )
    X, y = lib.from_numpy(features), lib.from_numpy(labels)
    permutations = [lib.from_numpy(permutation) for permutation in order]
    slices = batch_slices(len(features), batch_size)

    def train() -> np.ndarray:
        model.load_state_dict(
            {key: lib.from_numpy(value) for key, value in state_dict.items()}
        )
        optimizer = lib.optim.Adam(model.parameters(), lr=learning_rate)
        loss_fn = lib.nn.CrossEntropyLoss()
        losses = []
        for permutation in permutations:
            for start, stop in slices:
                batch = permutation[start:stop]
                optimizer.zero_grad()
                loss = loss_fn(model(X[batch]), y[batch])
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        return np.array(losses)

    return train
