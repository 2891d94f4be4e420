"""scikit-learn's MLPClassifier in float32, set to do exactly W2's training.

Adam lr 1e-3 with PyTorch's betas and eps, batch 128, reshuffled each epoch
(scikit-learn draws its own batch order), no L2 penalty, no early stopping and a
tolerance that never stops training: exactly ``max_iter`` epochs.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier


def mlp_trainer(
    state_dict, features, labels, order, batch_size, learning_rate, threads
):
    epochs = len(order)
    keys = sorted({key.split(".")[0] for key in state_dict}, key=int)
    classifier = MLPClassifier(
        hidden_layer_sizes=tuple(state_dict[f"{k}.bias"].shape[0] for k in keys[:-1]),
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate_init=learning_rate,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=1,
        shuffle=True,
        random_state=0,
        tol=0.0,
        n_iter_no_change=10**9,
        early_stopping=False,
        warm_start=True,
    )
    # scikit-learn cannot be given initial weights: let it build its state on one
    # sample of each class, then replace its weights (warm_start keeps them)
    one_per_class = [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(features[one_per_class], labels[one_per_class])
    classifier.set_params(max_iter=epochs)

    def train() -> np.ndarray:
        classifier.coefs_ = [state_dict[f"{k}.weight"].T.copy() for k in keys]
        classifier.intercepts_ = [state_dict[f"{k}.bias"].copy() for k in keys]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(features, labels)
        if classifier.coefs_[0].dtype != np.float32:
            raise RuntimeError("MLPClassifier upcast to float64: not W2's workload")
        return np.array(classifier.loss_curve_[-epochs:])

    return train
