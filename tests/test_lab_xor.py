"""The XOR lab notebook, run in deepgrad and checked against PyTorch.

A 2-4-4-1 sigmoid network learns XOR by plain gradient descent on the binary
cross-entropy, with the parameter update written by hand inside ``no_grad``.
deepgrad and torch share the API, so the lab's loop below runs unchanged with
``lib = dg`` or ``lib = torch``; started from the same weights (copied, since
the two random generators differ), the two loss curves agree at every epoch in
float32.
"""

from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn

torch = pytest.importorskip("torch")

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_LABELS = np.array([[0], [1], [1], [0]], dtype=np.float32)
LEARNING_RATE = 0.1
EPOCHS = 5000
# With dg.manual_seed(42) (the lab's seed) this network reaches [0, 1, 1, 0];
# found by training seeds 0-7: seed 0, for one, stalls at [0, 0, 1, 1].
CONVERGING_SEED = 42
CURVE_TOLERANCE = 1e-5  # float32 rounding differs between the libraries' kernels


def lab_initial_weights(seed: int) -> list[dg.Tensor]:
    """The lab's initialisation: W1, b1, W2, b2, W3, b3."""
    dg.manual_seed(seed)
    W1 = dg.randn(2, 4, requires_grad=True)
    b1 = dg.zeros(4, requires_grad=True)
    W2 = dg.randn(4, 4, requires_grad=True)
    b2 = dg.zeros(4, requires_grad=True)
    W3 = dg.randn(4, 1, requires_grad=True)
    b3 = dg.zeros(1, requires_grad=True)
    return [W1, b1, W2, b2, W3, b3]


def as_torch(weights: list[dg.Tensor]) -> list:
    return [torch.tensor(w.array.copy(), requires_grad=True) for w in weights]


def forward(lib, weights, X):
    W1, b1, W2, b2, W3, b3 = weights
    z1 = X @ W1 + b1
    a1 = lib.sigmoid(z1)
    z2 = a1 @ W2 + b2
    a2 = lib.sigmoid(z2)
    z3 = a2 @ W3 + b3
    return lib.sigmoid(z3)


def gradient_step(lib, functional, weights, X, y) -> float:
    """One step of the lab: forward, loss, backward, update, zero the gradients."""
    W1, b1, W2, b2, W3, b3 = weights
    y_pred = forward(lib, weights, X)
    loss = functional.binary_cross_entropy(y_pred, y)
    loss.backward()
    with lib.no_grad():
        W1 -= LEARNING_RATE * W1.grad
        b1 -= LEARNING_RATE * b1.grad
        W2 -= LEARNING_RATE * W2.grad
        b2 -= LEARNING_RATE * b2.grad
        W3 -= LEARNING_RATE * W3.grad
        b3 -= LEARNING_RATE * b3.grad
    W1.grad.zero_()
    b1.grad.zero_()
    W2.grad.zero_()
    b2.grad.zero_()
    W3.grad.zero_()
    b3.grad.zero_()
    return loss.item()


def run_lab(lib, functional, weights, epochs: int = EPOCHS) -> np.ndarray:
    """Full-batch gradient descent; the loss of every epoch."""
    X, y = lib.tensor(XOR_INPUTS), lib.tensor(XOR_LABELS)
    return np.array(
        [gradient_step(lib, functional, weights, X, y) for _ in range(epochs)]
    )


def run_lab_per_sample(lib, functional, weights, epochs: int) -> np.ndarray:
    """The lab's pseudocode: one update per sample, 4 per epoch; every step's loss."""
    X, y = lib.tensor(XOR_INPUTS), lib.tensor(XOR_LABELS)
    return np.array(
        [
            gradient_step(lib, functional, weights, X[i : i + 1], y[i : i + 1])
            for _ in range(epochs)
            for i in range(len(XOR_INPUTS))
        ]
    )


@pytest.fixture(scope="module")
def trained_lab():
    """The lab run in deepgrad from the converging seed: (weights, loss curve)."""
    weights = lab_initial_weights(CONVERGING_SEED)
    initial = [w.array.copy() for w in weights]
    return initial, weights, run_lab(dg, F, weights)


def test_lab_loss_curve_equals_torchs_at_every_epoch_from_the_same_weights(trained_lab):
    initial, _, losses = trained_lab
    torch_weights = [torch.tensor(w, requires_grad=True) for w in initial]

    torch_losses = run_lab(torch, torch.nn.functional, torch_weights)

    assert losses.shape == torch_losses.shape == (EPOCHS,)
    np.testing.assert_allclose(losses, torch_losses, rtol=0, atol=CURVE_TOLERANCE)


def test_lab_network_learns_xor_from_the_converging_seed(trained_lab):
    _, weights, losses = trained_lab
    with dg.no_grad():
        y_pred = forward(dg, weights, dg.tensor(XOR_INPUTS))

    np.testing.assert_array_equal((y_pred > 0.5).float().array, XOR_LABELS)
    assert losses[-1] < losses[0] / 10
    assert np.all(np.isfinite(losses))


def test_lab_per_sample_updates_match_torch_step_for_step():
    epochs = 2000  # 8000 updates, enough to reach XOR, and a few seconds per library
    weights = lab_initial_weights(CONVERGING_SEED)
    torch_weights = as_torch(weights)

    losses = run_lab_per_sample(dg, F, weights, epochs)
    torch_losses = run_lab_per_sample(torch, torch.nn.functional, torch_weights, epochs)

    assert losses.shape == (4 * epochs,)
    np.testing.assert_allclose(losses, torch_losses, rtol=0, atol=CURVE_TOLERANCE)
    for ours, theirs in zip(weights, torch_weights, strict=True):
        np.testing.assert_allclose(ours.array, theirs.detach().numpy(), atol=1e-5)


def xor_model(library):
    return library.Sequential(
        library.Linear(2, 4),
        library.Sigmoid(),
        library.Linear(4, 4),
        library.Sigmoid(),
        library.Linear(4, 1),
        library.Sigmoid(),
    )


def run_model_lab(library, optim, model, lib) -> np.ndarray:
    """The lab with modules: Sequential, SGD(lr=0.1) and BCELoss."""
    X, y = lib.tensor(XOR_INPUTS), lib.tensor(XOR_LABELS)
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = library.BCELoss()
    losses = []
    for _ in range(EPOCHS):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses)


def test_sequential_sgd_bceloss_lab_matches_the_same_torch_model():
    torch.manual_seed(0)
    torch_model = xor_model(torch.nn)
    model = xor_model(nn)
    model.load_state_dict(
        {k: v.detach().numpy() for k, v in torch_model.state_dict().items()}
    )

    losses = run_model_lab(nn, dg.optim, model, dg)
    torch_losses = run_model_lab(torch.nn, torch.optim, torch_model, torch)

    np.testing.assert_allclose(losses, torch_losses, rtol=0, atol=CURVE_TOLERANCE)
    assert losses[-1] < losses[0]
