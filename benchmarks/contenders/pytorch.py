"""PyTorch CPU, the same loops as deepgrad's; ``torch.set_num_threads`` as asked."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from benchmarks.contenders import eager


def xor_trainer(weights, learning_rate, steps, per_sample, threads):
    torch.set_num_threads(threads)
    return eager.xor_trainer(torch, F, weights, learning_rate, steps, per_sample)


def mlp_trainer(
    state_dict, features, labels, order, batch_size, learning_rate, threads
):
    torch.set_num_threads(threads)
    return eager.mlp_trainer(
        torch, state_dict, features, labels, order, batch_size, learning_rate
    )
