"""Where deepgrad's W2 training step spends its time.

``python -m benchmarks.profile [--steps N] [--json PATH]`` (``python -m benchmarks
--profile`` runs it too). In a child process at one thread it times:

- each phase of the usual step (gather the batch, zero_grad, forward, loss,
  backward, optimizer.step, loss.item()) on W2's shapes;
- the GEMM floor: the step's eight GEMMs alone, at the same shapes (benchmarks.gemm);
- the Python overhead: the same step on a network of the same depth but 8 units
  wide and batch 8, where the arithmetic is negligible and only the per-op cost
  (building the graph, dispatch, allocation) remains;
- the NumPy reference's step at W2's shapes, for comparison;
- cProfile's own time grouped by where the code lives (deepgrad's ops, tensor
  and autograd, nn, optim; NumPy's Python functions; built-ins).

The step is then split into GEMM, optimizer, Python overhead and "elementwise and
memory" (what is left: bias adds, ReLU, softmax, reductions, copies, allocation).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.workloads import (
    W2_BATCH_SIZE,
    W2_LAYERS,
    W2_LEARNING_RATE,
    batch_order,
    w2_initial_weights,
)

PHASES = ("gather", "zero_grad", "forward", "loss", "backward", "optimizer", "item")


def _phase_times(layers, batch: int, steps: int, features, labels) -> dict[str, float]:
    """Mean seconds per step of each phase of the usual deepgrad training step."""
    import deepgrad as dg
    from benchmarks.contenders.eager import mlp
    from deepgrad import nn

    model = mlp(nn, layers)
    optimizer = dg.optim.Adam(model.parameters(), lr=W2_LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    X, y = dg.from_numpy(features), dg.from_numpy(labels)
    permutation = dg.from_numpy(batch_order(len(features), 1)[0])
    totals = dict.fromkeys(PHASES, 0.0)
    warmup = 5
    for step in range(steps + warmup):
        start_index = (step * batch) % (len(features) - batch + 1)
        marks = [time.perf_counter()]
        indices = permutation[start_index : start_index + batch]
        xb, yb = X[indices], y[indices]
        marks.append(time.perf_counter())
        optimizer.zero_grad()
        marks.append(time.perf_counter())
        output = model(xb)
        marks.append(time.perf_counter())
        loss = loss_fn(output, yb)
        marks.append(time.perf_counter())
        loss.backward()
        marks.append(time.perf_counter())
        optimizer.step()
        marks.append(time.perf_counter())
        loss.item()
        marks.append(time.perf_counter())
        if step >= warmup:
            for phase, begin, end in zip(PHASES, marks, marks[1:], strict=False):
                totals[phase] += end - begin
    return {phase: total / steps for phase, total in totals.items()}


def _cprofile(steps: int, features, labels) -> dict:
    """cProfile's own time of ``steps`` W2 steps, grouped by where the code lives."""
    import deepgrad as dg
    from benchmarks.contenders.eager import mlp_trainer

    count = steps * W2_BATCH_SIZE
    train = mlp_trainer(
        dg,
        w2_initial_weights(),
        features[:count],
        labels[:count],
        batch_order(count, 1),
        W2_BATCH_SIZE,
        W2_LEARNING_RATE,
    )
    profiler = cProfile.Profile()
    profiler.enable()
    train()
    profiler.disable()
    stats = pstats.Stats(profiler)
    groups: dict[str, float] = {}
    functions = []
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():
        group = _group(filename, name)
        groups[group] = groups.get(group, 0.0) + own
        functions.append(
            {
                "function": f"{_short(filename)}:{line}({name})",
                "group": group,
                "calls": calls,
                "own_s": own,
                "cumulative_s": cumulative,
            }
        )
    total = sum(groups.values())
    functions.sort(key=lambda row: row["own_s"], reverse=True)
    return {
        "steps": steps,
        "total_s": total,
        "groups": {
            group: {"own_s": seconds, "fraction": seconds / total}
            for group, seconds in sorted(groups.items(), key=lambda item: -item[1])
        },
        "top_functions": functions[:15],
    }


def _short(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("deepgrad", "numpy", "benchmarks"):
        if anchor in parts:
            return "/".join(parts[len(parts) - parts[::-1].index(anchor) - 1 :])
    return filename


def _group(filename: str, name: str) -> str:
    """A function's category by the file it lives in (C functions have no file)."""
    path = filename.replace("\\", "/")
    if "/deepgrad/ops/" in path:
        return "deepgrad ops (forward and backward code, NumPy calls inside)"
    if "/deepgrad/optim/" in path:
        return "deepgrad optim"
    if "/deepgrad/nn/" in path:
        return "deepgrad nn (modules, functional, losses)"
    if "/deepgrad/" in path:
        return "deepgrad tensor and autograd (graph, backward pass)"
    if "/numpy/" in path:
        return "NumPy's Python functions"
    if "/benchmarks/" in path:
        return "benchmark loop"
    if filename == "~":
        return "built-in and C functions (incl. GEMM reached from methods)"
    return "other Python"


def _reference_step(features, labels, steps: int) -> float:
    """Mean seconds of the NumPy reference's step at W2's shapes."""
    from benchmarks.reference import MlpAdam

    model = MlpAdam(w2_initial_weights(), W2_LEARNING_RATE)
    permutation = batch_order(len(features), 1)[0]
    times = []
    for step in range(steps + 5):
        start_index = (step * W2_BATCH_SIZE) % (len(features) - W2_BATCH_SIZE + 1)
        start = time.perf_counter()
        model.train_step(
            features, labels, permutation[start_index : start_index + W2_BATCH_SIZE]
        )
        times.append(time.perf_counter() - start)
    return float(np.mean(times[5:]))


def measure(steps: int, data_path: str | None = None) -> dict:
    """The profile of ``steps`` W2 steps; data from ``data_path`` or random."""
    from benchmarks.gemm import measure as measure_gemms
    from benchmarks.worker import thread_pools

    if data_path:
        from benchmarks.workloads import load_w2_data

        features, labels = load_w2_data(data_path, max(steps, 64) * W2_BATCH_SIZE)
    else:
        generator = np.random.default_rng(0)
        count = max(steps, 64) * W2_BATCH_SIZE
        features = generator.standard_normal((count, W2_LAYERS[0]), dtype=np.float32)
        labels = generator.integers(0, W2_LAYERS[-1], count)

    phases = _phase_times(W2_LAYERS, W2_BATCH_SIZE, steps, features, labels)
    tiny_layers = (8, 8, 8, W2_LAYERS[-1])
    tiny = _phase_times(tiny_layers, 8, steps, features[:, :8].copy(), labels)
    gemm = measure_gemms(W2_BATCH_SIZE, reps=3)
    step = sum(phases.values())
    overhead = sum(tiny.values()) - tiny["optimizer"]
    breakdown = {
        "GEMM (the eight matmuls alone)": gemm["step_seconds"],
        "optimizer (Adam step, all of it)": phases["optimizer"],
        "Python overhead (graph, dispatch, allocation per op)": overhead,
    }
    breakdown["elementwise and memory (the rest)"] = max(
        step - sum(breakdown.values()), 0.0
    )
    return {
        "batch": W2_BATCH_SIZE,
        "steps": steps,
        "step_s": step,
        "samples_per_s": W2_BATCH_SIZE / step,
        "phases_s": phases,
        "tiny_network_phases_s": tiny,
        "breakdown_s": breakdown,
        "numpy_reference_step_s": _reference_step(features, labels, steps),
        "gemm_step_s": gemm["step_seconds"],
        "cprofile": _cprofile(min(steps, 100), features, labels),
        "thread_pools": thread_pools(),
    }


def format_profile(profile: dict) -> str:
    """The profile as text: the step's split, its phases, cProfile's groups."""
    step = profile["step_s"]
    lines = [
        f"deepgrad W2 step (batch {profile['batch']}, 1 thread): "
        f"{step * 1e3:.2f} ms = {profile['samples_per_s']:,.0f} samples/s; "
        f"NumPy reference {profile['numpy_reference_step_s'] * 1e3:.2f} ms, "
        f"GEMM floor {profile['gemm_step_s'] * 1e3:.2f} ms",
        "",
        "where the step's time goes:",
    ]
    for name, seconds in profile["breakdown_s"].items():
        lines.append(f"  {name:<55} {seconds * 1e3:8.3f} ms  {seconds / step:6.1%}")
    lines += ["", "phases of the step (W2 shapes | 8-wide network, batch 8):"]
    for phase, seconds in profile["phases_s"].items():
        tiny = profile["tiny_network_phases_s"][phase]
        lines.append(
            f"  {phase:<12} {seconds * 1e3:8.3f} ms  {seconds / step:6.1%}"
            f"   | {tiny * 1e3:8.3f} ms"
        )
    cprof = profile["cprofile"]
    lines += [
        "",
        f"cProfile own time over {cprof['steps']} steps, by where the code "
        "lives (C calls count in the Python function that makes them):",
    ]
    for group, row in cprof["groups"].items():
        lines.append(f"  {group:<62} {row['fraction']:6.1%}")
    lines += ["", "top functions by own time:"]
    for row in cprof["top_functions"][:10]:
        lines.append(
            f"  {row['own_s'] / cprof['total_s']:6.1%} {row['calls']:>8} "
            f"calls  {row['function']}"
        )
    return "\n".join(lines)


def run_in_child(
    steps: int, data_path: str | None = None, json_path: str | None = None
) -> dict:
    """Run the profile in a child with one thread and the benchmark environment."""
    from benchmarks.runner import bench_env, repo_root

    out = json_path or str(
        Path(os.environ.get("TMPDIR", "/tmp")) / f"deepgrad-profile-{os.getpid()}.json"
    )
    command = [
        sys.executable,
        "-m",
        "benchmarks.profile",
        "--steps",
        str(steps),
        "--json",
        out,
        "--in-child",
    ]
    if data_path:
        command += ["--data", data_path]
    subprocess.run(
        command,
        env=bench_env(1),
        cwd=repo_root(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(out) as file:
        return json.load(file)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--json", help="also write the profile as JSON here")
    parser.add_argument(
        "--data", help="a W2 data folder, X.npy and y.npy (default: random data)"
    )
    parser.add_argument("--in-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_child:
        profile = measure(args.steps, args.data)
        if args.json:
            with open(args.json, "w") as file:
                json.dump(profile, file)
    else:
        profile = run_in_child(args.steps, args.data, args.json)
    print(format_profile(profile))


if __name__ == "__main__":
    main()
