"""deepgrad used as the lab notebook and the usual PyTorch loop use torch."""

from __future__ import annotations

import deepgrad as dg
import deepgrad.nn.functional as F
from benchmarks.contenders import eager


def xor_trainer(weights, learning_rate, steps, per_sample, threads):
    return eager.xor_trainer(dg, F, weights, learning_rate, steps, per_sample)


def mlp_trainer(
    state_dict, features, labels, order, batch_size, learning_rate, threads
):
    return eager.mlp_trainer(
        dg, state_dict, features, labels, order, batch_size, learning_rate
    )
