"""The machine's limit for W2: float32 GEMM speed at W2's exact shapes, in NumPy.

One training step of 784-256-128-10 at batch B does eight GEMMs: three forward
(``H = X W``), three weight gradients (``dW = X^T dZ``) and two input gradients
(``dX = dZ W^T``; the data needs none). Timing each with the operand layouts a
training loop uses gives the roofline: the samples/s a contender would reach if
nothing but these GEMMs took time.

``python -m benchmarks.gemm RESULT.json`` (run by the suite in a child process
with the thread count in its environment).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from benchmarks.workloads import W2_BATCH_SIZE, W2_LAYERS


def w2_gemms(batch: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, left, right) of each GEMM of one step, with a training loop's layouts."""
    generator = np.random.default_rng(0)

    def rand(*shape):
        return generator.standard_normal(shape, dtype=np.float32)

    gemms = []
    for fan_in, fan_out in zip(W2_LAYERS, W2_LAYERS[1:], strict=False):
        weight, layer_input = rand(fan_in, fan_out), rand(batch, fan_in)
        delta = rand(batch, fan_out)
        gemms.append(
            (f"forward {batch}x{fan_in} @ {fan_in}x{fan_out}", layer_input, weight)
        )
        gemms.append(
            (f"grad W  {fan_in}x{batch} @ {batch}x{fan_out}", layer_input.T, delta)
        )
        if fan_in != W2_LAYERS[0]:
            gemms.append(
                (f"grad X  {batch}x{fan_out} @ {fan_out}x{fan_in}", delta, weight.T)
            )
    return gemms


def time_gemm(left: np.ndarray, right: np.ndarray, reps: int) -> float:
    """Median seconds of one ``np.matmul(left, right, out=)`` (blocks of calls)."""
    out = np.empty((left.shape[0], right.shape[1]), dtype=np.float32)
    np.matmul(left, right, out=out)
    calls = 1
    while True:  # size blocks to about 20 ms so timer resolution does not matter
        start = time.perf_counter()
        for _ in range(calls):
            np.matmul(left, right, out=out)
        elapsed = time.perf_counter() - start
        if elapsed > 0.02:
            break
        calls *= 2
    blocks = []
    for _ in range(max(reps, 3)):
        start = time.perf_counter()
        for _ in range(calls):
            np.matmul(left, right, out=out)
        blocks.append((time.perf_counter() - start) / calls)
    return float(np.median(blocks))


def measure(batch: int = W2_BATCH_SIZE, reps: int = 5) -> dict:
    rows = []
    for name, left, right in w2_gemms(batch):
        seconds = time_gemm(left, right, reps)
        flops = 2 * left.shape[0] * left.shape[1] * right.shape[1]
        rows.append(
            {
                "gemm": name,
                "seconds": seconds,
                "flops": flops,
                "gflops_per_s": flops / seconds / 1e9,
            }
        )
    step_seconds = sum(row["seconds"] for row in rows)
    step_flops = sum(row["flops"] for row in rows)
    return {
        "batch": batch,
        "gemms": rows,
        "step_seconds": step_seconds,
        "gflops_per_s": step_flops / step_seconds / 1e9,
        "roofline_samples_per_s": batch / step_seconds,
    }


def main(argv: list[str]) -> None:
    from benchmarks.worker import thread_pools

    (result_path, reps) = argv
    result = measure(reps=int(reps))
    result["thread_pools"] = thread_pools()
    with open(result_path, "w") as file:
        json.dump(result, file)


if __name__ == "__main__":
    main(sys.argv[1:])
