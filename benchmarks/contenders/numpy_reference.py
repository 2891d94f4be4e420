"""The hand-written NumPy references of ``benchmarks.reference``."""

from __future__ import annotations

from benchmarks import reference
from benchmarks.workloads import XOR_INPUTS, XOR_LABELS


def xor_trainer(weights, learning_rate, steps, per_sample, threads):
    def train():
        losses, _ = reference.train_xor(
            weights, XOR_INPUTS, XOR_LABELS, learning_rate, steps, per_sample
        )
        return losses

    return train


def mlp_trainer(
    state_dict, features, labels, order, batch_size, learning_rate, threads
):
    def train():
        return reference.train_mlp(
            state_dict, features, labels, order, batch_size, learning_rate
        )

    return train
