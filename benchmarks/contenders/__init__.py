"""One module per contender; a child process imports exactly one of them.

Each module exposes ``xor_trainer`` and/or ``mlp_trainer``: factories that do all
set-up (building the model, copying the initial weights) and return a callable
that trains from those weights and returns the loss curve. Only the callable is
timed. A missing function means the contender does not run that workload.
"""

CONTENDERS = {
    "deepgrad eager": "benchmarks.contenders.deepgrad_eager",
    "deepgrad fit": "benchmarks.contenders.deepgrad_fit",
    "deepgrad fit numba": "benchmarks.contenders.deepgrad_fit_numba",
    "pytorch": "benchmarks.contenders.pytorch",
    "sklearn float32": "benchmarks.contenders.sklearn_mlp",
    "numpy reference": "benchmarks.contenders.numpy_reference",
}
