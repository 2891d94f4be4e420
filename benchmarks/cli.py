"""``python -m benchmarks``: run the workloads, print the table, write the results."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks import report
from benchmarks.runner import machine_info, repo_root, run_gemm, run_job, time_import
from benchmarks.workloads import (
    SIZES,
    W1_LEARNING_RATE,
    W2_BATCH_SIZE,
    W2_LEARNING_RATE,
    Sizes,
    w1_initial_weights,
    w2_data_path,
    w2_initial_weights,
)

WORKLOADS = ("W1", "W2", "W3", "W4")
CONTENDERS_OF = {
    "W1": ("pytorch", "numpy reference", "deepgrad eager", "deepgrad fit"),
    "W2": (
        "pytorch",
        "sklearn float32",
        "numpy reference",
        "deepgrad eager",
        "deepgrad fit",
        "deepgrad fit numba",
    ),
    "W3": ("pytorch", "numpy reference", "deepgrad eager", "deepgrad fit"),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="deepgrad against PyTorch, scikit-learn and hand-written NumPy "
        "(issue 4's workloads W1-W4), each contender in its own process.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes, fewer epochs and repetitions (< 1 min)",
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny sizes for CI: every code path, meaningless times",
    )
    parser.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help="comma-separated workloads to run (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=repo_root() / "benchmarks" / "results",
        help="where latest.json/.md/.png go",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile deepgrad's W2 step (benchmarks.profile)",
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="also profile, and write docs/performance.md",
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        help="re-render tables, chart and docs from a results JSON "
        "instead of running anything",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="seconds after which a variant stops repeating",
    )
    args = parser.parse_args(argv)
    args.only = [name.strip().upper() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(WORKLOADS))
    if unknown:
        parser.error(
            f"--only expects some of {','.join(WORKLOADS)}, received: "
            f"{','.join(unknown)}"
        )
    return args


def w1_variants(sizes: Sizes) -> list[dict]:
    return [
        {
            "name": name,
            "kind": "xor",
            "learning_rate": W1_LEARNING_RATE,
            "steps": steps,
            "per_sample": per_sample,
            "reps": reps,
            "samples_per_run": steps * (1 if per_sample else 4),
            "steps_per_run": steps,
        }
        for name, steps, per_sample, reps in (
            ("full batch", sizes.w1_epochs, False, sizes.w1_reps),
            ("per sample", sizes.w1_per_sample_steps, True, sizes.w1_per_sample_reps),
        )
    ]


def mlp_variant(
    name: str, samples: int, epochs: int, batch_size: int, reps: int
) -> dict:
    return {
        "name": name,
        "kind": "mlp",
        "learning_rate": W2_LEARNING_RATE,
        "samples": samples,
        "epochs": epochs,
        "batch_size": batch_size,
        "reps": reps,
        "samples_per_run": samples * epochs,
        "steps_per_run": epochs * -(-samples // batch_size),
    }


def w3_variants(sizes: Sizes) -> list[dict]:
    variants = []
    for batch_size in sizes.w3_batch_sizes:
        # batch 1 would take minutes per epoch: a capped number of steps instead
        samples = sizes.w3_batch1_steps if batch_size == 1 else sizes.w3_batch_samples
        variants.append(
            mlp_variant(f"batch {batch_size}", samples, 1, batch_size, sizes.w3_reps)
        )
    for samples in sizes.w3_sample_counts:
        variants.append(
            mlp_variant(
                f"{samples:,} samples", samples, 1, W2_BATCH_SIZE, sizes.w3_reps
            )
        )
    return variants


def build_jobs(args, sizes: Sizes, weights_path: Path, data_path: Path) -> list[dict]:
    budget = args.time_budget or {"full": 90.0, "quick": 3.0, "tiny": 2.0}[sizes.name]
    common = {
        "weights": str(weights_path),
        "data": str(data_path),
        "time_budget_s": budget,
    }
    jobs = []
    if "W1" in args.only:
        for contender in CONTENDERS_OF["W1"]:
            jobs.append(
                {
                    **common,
                    "workload": "W1",
                    "contender": contender,
                    "threads": 1,
                    "variants": w1_variants(sizes),
                }
            )
    if "W2" in args.only or "W4" in args.only:
        threads = sizes.w2_threads if "W2" in args.only else (1,)
        for thread_count in threads:
            for contender in CONTENDERS_OF["W2"]:
                variant = mlp_variant(
                    "W2",
                    sizes.w2_samples,
                    sizes.w2_epochs,
                    W2_BATCH_SIZE,
                    sizes.w2_reps,
                )
                jobs.append(
                    {
                        **common,
                        "workload": "W2",
                        "contender": contender,
                        "threads": thread_count,
                        "variants": [variant],
                    }
                )
    if "W3" in args.only:
        for contender in CONTENDERS_OF["W3"]:
            jobs.append(
                {
                    **common,
                    "workload": "W3",
                    "contender": contender,
                    "threads": 1,
                    "variants": w3_variants(sizes),
                }
            )
    return jobs


def write_weights(path: Path) -> None:
    """Every contender's initial weights, generated once here."""
    arrays = {f"w1.{k}": v for k, v in w1_initial_weights().items()}
    arrays.update({f"w2.{k}": v for k, v in w2_initial_weights().items()})
    np.savez(path, **arrays)


def run_suite(args) -> dict:
    sizes = SIZES["tiny" if args.tiny else "quick" if args.quick else "full"]
    started = time.perf_counter()
    results: dict = {
        "meta": {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
            "sizes": sizes.to_dict(),
            "workloads": args.only,
            "machine": machine_info(),
            "load_average_at_start": os.getloadavg(),
        },
        "jobs": [],
    }
    with tempfile.TemporaryDirectory(prefix="deepgrad-bench-") as workdir_name:
        workdir = Path(workdir_name)
        weights_path = workdir / "weights.npz"
        write_weights(weights_path)
        log(f"data: {sizes.w2_samples:,} x 784 float32 (make_classification, cached)")
        data_path = w2_data_path(sizes.w2_samples)
        jobs = build_jobs(args, sizes, weights_path, data_path)
        if sizes.interleave:
            results["jobs"] = run_interleaved(jobs, workdir)
        else:
            # timing needs the machine to itself; tiny runs only check the code paths
            parallel = 2 if sizes.name == "tiny" else 1
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                results["jobs"] = list(
                    pool.map(lambda job: _run_logged(job, workdir), jobs)
                )
        if {"W2", "W3"} & set(args.only):
            results["gemm"] = {}
            for threads in sizes.w2_threads:
                log(f"GEMM roofline, {threads} thread(s)")
                results["gemm"][str(threads)] = run_gemm(
                    threads, sizes.gemm_reps, workdir
                )
        if "W4" in args.only:
            results["imports"] = {}
            for module in sizes.import_modules:
                log(f"import {module}")
                reps = (
                    sizes.import_reps
                    if module in {"numpy", "deepgrad"}
                    else max(1, sizes.import_reps // 2)
                )
                results["imports"][module] = time_import(module, reps)
        if args.profile or args.write_docs:
            from benchmarks.profile import run_in_child

            log("profile of deepgrad's W2 step")
            results["profile"] = run_in_child(
                sizes.profile_steps, str(data_path), str(workdir / "profile.json")
            )
    results["meta"]["elapsed_s"] = time.perf_counter() - started
    results["meta"]["load_average_at_end"] = os.getloadavg()
    return results


def run_interleaved(jobs: list[dict], workdir: Path) -> list[dict]:
    """Every job's repetitions spread over rounds that take the contenders in turn.

    The machines this runs on are shared: their speed drifts by 20% and more
    over a minute. Run one contender's five repetitions back to back and a
    slow minute lands on it alone; run five rounds of one repetition each, the
    contenders of a workload in turn, and it lands on all of them. Each round
    is a fresh process (with its own warm-up), so the results merge: times
    concatenate, the peak RSS is the largest, losses come from round one.
    """
    results: dict[int, list[dict]] = {index: [] for index in range(len(jobs))}
    workloads = list(dict.fromkeys((job["workload"], job["threads"]) for job in jobs))
    for workload in workloads:
        group = [
            i
            for i, job in enumerate(jobs)
            if (job["workload"], job["threads"]) == workload
        ]
        rounds = max(v["reps"] for i in group for v in jobs[i]["variants"])
        for round_index in range(rounds):
            for index in group:
                job = jobs[index]
                variants = [
                    {**variant, "reps": 1}
                    for variant in job["variants"]
                    if round_index < variant["reps"]
                ]
                if variants:
                    results[index].append(
                        _run_logged({**job, "variants": variants}, workdir)
                    )
    return [_merge_rounds(results[index]) for index in range(len(jobs))]


def _merge_rounds(rounds: list[dict]) -> dict:
    """One job's result from the results of its rounds (see run_interleaved)."""
    merged = {**rounds[0], "variants": {}}
    failed = [result for result in rounds if result.get("status") != "ok"]
    if failed:
        return failed[0]
    for result in rounds:
        for name, variant in result["variants"].items():
            kept = merged["variants"].get(name)
            if kept is None:
                merged["variants"][name] = dict(variant)
            elif kept.get("status") == "ok" and variant.get("status") == "ok":
                kept["times"] = kept["times"] + variant["times"]
            elif kept.get("status") == "ok":
                merged["variants"][name] = variant  # an error in any round shows
    merged["peak_rss_mb"] = max(result["peak_rss_mb"] for result in rounds)
    return merged


def _run_logged(job: dict, workdir: Path) -> dict:
    started = time.perf_counter()
    result = run_job(job, workdir, timeout_s=1800)
    log(
        f"{job['workload']} {job['contender']}, {job['threads']} thread(s): "
        f"{report.job_summary(result)} [{time.perf_counter() - started:.1f} s]"
    )
    return result


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        # the targets are judged again: their rules may have changed since
        results["targets"] = report.targets(results)
    else:
        results = report.summarise(run_suite(args))
    args.out.mkdir(parents=True, exist_ok=True)
    paths = report.write_results(results, args.out)
    print(report.text_report(results))
    for path in paths:
        log(f"wrote {path}")
    if args.write_docs:
        docs = report.write_docs(
            results, repo_root() / "docs" / "performance.md", args.out
        )
        log(f"wrote {docs}")
