"""deepgrad's benchmark suite: deepgrad against PyTorch, scikit-learn and NumPy by hand.

Run ``python -m benchmarks`` (``--quick`` for a one-minute run, ``--help`` for the
rest). The parent process generates the data and the initial weights once, then
runs every contender in its own child process (``benchmarks.worker``) so that
NumPy's OpenBLAS threads and PyTorch's OpenMP threads never share a process.

This package is never imported by the library; it needs the ``bench`` extra
(PyTorch, scikit-learn, threadpoolctl, matplotlib).
"""
