"""Issue 17: W2 with and without Numba's kernels, as a fraction of each contender's GEMMs.

Each contender trains W2 (784-256-128-10 ReLU, softmax cross-entropy, Adam 1e-3,
batch 128, float32) for one epoch of synthetic data in its own process, and in
the same process times the step's 8 GEMMs back to back for as many steps, in its
own library (NumPy's BLAS, or PyTorch's). ``gemm / train`` is the roofline
fraction: how close a step comes to doing nothing but its matrix products, a
figure that needs no second machine to compare. Processes run interleaved
(contender after contender, repetition after repetition); each does a warm-up
and two timed rounds (train, GEMMs, train, GEMMs). The report gives medians.

``python -m benchmarks.kernels [--reps 3] [--samples 60000] [--threads 1,2]``
(OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset in the children, as the suite
does: shared/PERFORMANCE.md). ``python -m benchmarks.kernels --step`` times the
compiled step alone (no fit around it), both backends and the GEMMs interleaved in
one process; run it under ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
OPENBLAS_NUM_THREADS=1``. The "built ahead" contender runs the kernels of
``deepgrad kernels --build`` (built first if missing), the "jit" one has Numba
compile them in the process (loading them from Numba's cache).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.runner import bench_env
from benchmarks.workloads import W2_BATCH_SIZE, batch_order, w2_initial_weights

# contender -> (module of benchmarks.contenders, DEEPGRAD_KERNELS)
CONTENDERS = {
    "deepgrad fit (kernels built ahead)": ("deepgrad_fit", "numba-aot"),
    "deepgrad fit (numba jit kernels)": ("deepgrad_fit", "numba-jit"),
    "deepgrad fit (numpy)": ("deepgrad_fit", "numpy"),
    "hand-written NumPy": ("numpy_reference", None),
    "PyTorch": ("pytorch", None),
    "scikit-learn float32": ("sklearn_mlp", None),
}


def _data(samples: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(0)
    features = generator.random((samples, 784), dtype=np.float32)
    return features, generator.integers(0, 10, samples)


def _gemm_loop(torch_module, steps: int):
    """A callable doing ``steps`` x W2's 8 GEMMs in the contender's own library."""
    from benchmarks.gemm import w2_gemms

    gemms = w2_gemms(W2_BATCH_SIZE)
    if torch_module is None:
        outs = [np.empty((a.shape[0], b.shape[1]), np.float32) for _, a, b in gemms]
        pairs = [(a, b, out) for (_, a, b), out in zip(gemms, outs, strict=True)]

        def run() -> None:
            for _ in range(steps):
                for left, right, out in pairs:
                    np.matmul(left, right, out=out)

        return run
    pairs = []
    for _, left, right in gemms:
        left, right = torch_module.from_numpy(left), torch_module.from_numpy(right)
        pairs.append((left, right, torch_module.empty(left.shape[0], right.shape[1])))

    def run_torch() -> None:
        for _ in range(steps):
            for left, right, out in pairs:
                torch_module.mm(left, right, out=out)

    return run_torch


def child(name: str, threads: int, samples: int) -> dict:
    """Train and time one contender in this process (run by ``main``)."""
    import importlib

    from benchmarks.worker import peak_rss_mb, thread_pools

    module_name, kernels = CONTENDERS[name]
    if kernels is not None:
        os.environ["DEEPGRAD_KERNELS"] = kernels
    start = time.perf_counter()
    module = importlib.import_module(f"benchmarks.contenders.{module_name}")
    import_s = time.perf_counter() - start
    features, labels = _data(samples)
    train = module.mlp_trainer(
        w2_initial_weights(), features, labels, batch_order(samples, 1),
        W2_BATCH_SIZE, 1e-3, threads,
    )  # fmt: skip
    start = time.perf_counter()
    module.mlp_trainer(
        w2_initial_weights(), features[:256], labels[:256], batch_order(256, 1),
        W2_BATCH_SIZE, 1e-3, threads,
    )()  # fmt: skip
    warm_up_s = time.perf_counter() - start  # includes loading/compiling kernels
    torch_module = sys.modules.get("torch") if module_name == "pytorch" else None
    gemms = _gemm_loop(torch_module, -(-samples // W2_BATCH_SIZE))
    gemms()
    train_s, gemm_s, losses = [], [], None
    for _ in range(2):
        start = time.perf_counter()
        losses = train()
        train_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        gemms()
        gemm_s.append(time.perf_counter() - start)
    return {
        "contender": name,
        "threads": threads,
        "train_s": min(train_s),
        "gemm_s": min(gemm_s),
        "import_s": import_s,
        "warm_up_s": warm_up_s,
        "loss": float(np.asarray(losses)[-1]),
        "peak_rss_mb": peak_rss_mb(),
        "pools": [
            (p.get("internal_api"), p.get("architecture"), p.get("num_threads"))
            for p in thread_pools()
        ],
    }


def step_fractions(rounds: int = 15, calls: int = 20) -> str:
    """W2's compiled step, NumPy and Numba, against its 8 GEMMs: medians of rounds."""
    import copy

    import deepgrad as dg
    from deepgrad import nn
    from deepgrad.fast import compile_step

    features, labels = _data(W2_BATCH_SIZE)
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )  # fmt: skip
    model.load_state_dict(w2_initial_weights())
    steps = {}
    for backend in ("numpy", "numba"):
        copied = copy.deepcopy(model)
        optimizer = dg.optim.Adam(copied.parameters(), lr=1e-3)
        step = compile_step(copied, nn.CrossEntropyLoss(), optimizer, kernels=backend)
        steps[backend] = lambda step=step: step(features, labels)
    gemms = _gemm_loop(None, 1)
    timed = {**steps, "8 GEMMs": gemms}
    for run in timed.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(rounds):
        for name, run in timed.items():
            start = time.perf_counter()
            for _ in range(calls):
                run()
            times[name].append((time.perf_counter() - start) / calls)
    gemm = float(np.median(times["8 GEMMs"]))
    lines = [f"8 GEMMs: {gemm * 1e6:,.0f} us"]
    for backend in steps:
        median = float(np.median(times[backend]))
        lines.append(
            f"step, {backend}: {median * 1e6:,.0f} us, GEMM-loop fraction "
            f"{gemm / median:.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--out", default=None)
    parser.add_argument("--step", action="store_true", help="time the step alone")
    args = parser.parse_args(argv)
    if args.step:
        print(step_fractions())
        return
    threads = [int(t) for t in args.threads.split(",")]
    names = args.contenders.split(",")
    if any(CONTENDERS[name][1] == "numba-aot" for name in names):
        from deepgrad import kernels_aot

        if kernels_aot.library_path() is None:  # `deepgrad kernels --build`
            print(f"built the kernels: {kernels_aot.build()}")
    rows = []
    for rep in range(args.reps):
        for count in threads:
            for name in names:
                env = bench_env(count)
                env["NUMBA_NUM_THREADS"] = str(count)
                command = [
                    sys.executable, "-m", "benchmarks.kernels", "--child", name,
                    str(count), str(args.samples),
                ]  # fmt: skip
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    print(f"{name} {count}t: {done.stderr.strip()[-300:]}")
                    continue
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"rep {rep} {count}t {name}: {rows[-1]['train_s']:.3f} s")
    if args.out:
        with open(args.out, "w") as file:
            json.dump(rows, file, indent=1)
    print(report(rows, args.samples))


def report(rows: list[dict], samples: int) -> str:
    """A Markdown table of medians: samples/s, roofline fraction, vs PyTorch, RSS."""

    def median(name, count, key):
        values = [
            r[key] for r in rows if r["contender"] == name and r["threads"] == count
        ]
        return float(np.median(values)) if values else float("nan")

    lines = [
        "| contender | threads | samples/s | GEMM-loop fraction | vs PyTorch | "
        "vs 1 thread | warm-up s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for count in sorted({r["threads"] for r in rows}):
        torch_rate = samples / median("PyTorch", count, "train_s")
        for name in CONTENDERS:
            if not any(r["contender"] == name for r in rows):
                continue
            train = median(name, count, "train_s")
            fraction = float(
                np.median(
                    [
                        r["gemm_s"] / r["train_s"]
                        for r in rows
                        if r["contender"] == name and r["threads"] == count
                    ]
                )
            )
            one = median(name, 1, "train_s")
            lines.append(
                f"| {name} | {count} | {samples / train:,.0f} | {fraction:.2f} | "
                f"{samples / train / torch_rate:.2f}x | {one / train:.2f}x | "
                f"{median(name, count, 'warm_up_s'):.2f} | "
                f"{median(name, count, 'peak_rss_mb'):.0f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
