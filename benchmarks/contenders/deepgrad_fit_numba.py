"""``deepgrad.train.fit`` with Numba's kernels forced (issue 17, the `fast` extra).

The same trainers as ``deepgrad_fit``, whose compiled step then runs its optimizer
update, bias + activation, activation backward and loss as fused kernels; the
``deepgrad fit`` contender keeps the NumPy step, so the two stand side by side.
Without Numba the worker reports this contender as n/a.
"""

from __future__ import annotations

import os

os.environ["DEEPGRAD_KERNELS"] = "numba"

import numba  # noqa: E402,F401  (n/a, not a silent NumPy run, when it is missing)

from benchmarks.contenders.deepgrad_fit import mlp_trainer, xor_trainer  # noqa: E402

__all__ = ["mlp_trainer", "xor_trainer"]
