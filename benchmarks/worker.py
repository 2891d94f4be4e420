"""A child process: one contender, one workload, one thread count.

``python -m benchmarks.worker JOB.json RESULT.json``. The job names the contender,
the variants to run with their sizes, and the files holding the data and the
initial weights; the result holds every repetition's time, the losses, the peak
RSS of this process and the thread pools (which BLAS kernel ran) it saw.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import traceback

import numpy as np

from benchmarks.contenders import CONTENDERS
from benchmarks.workloads import batch_order, load_w2_data


def thread_pools() -> list[dict]:
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries."""
    from threadpoolctl import threadpool_info

    keys = (
        "user_api",
        "internal_api",
        "version",
        "num_threads",
        "architecture",
        "threading_layer",
        "prefix",
    )
    return [{k: pool[k] for k in keys if k in pool} for pool in threadpool_info()]


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB.

    Linux's ``getrusage`` maxrss survives ``exec``: a child would report at least
    its parent's peak at fork time. ``VmHWM`` is this process's own high-water mark.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _load_weights(path: str, prefix: str) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {
            key[len(prefix) :]: stored[key]
            for key in stored.files
            if key.startswith(prefix)
        }


def _warm_up(variant: dict) -> dict:
    """A few steps of the same variant: the first call of a library pays one-off
    costs (lazy initialisation, thread pools, caches) that are not training."""
    if variant["kind"] == "xor":
        return {**variant, "steps": 8}
    samples = min(variant["samples"], 2 * variant["batch_size"])
    return {**variant, "samples": samples, "epochs": 1}


_loaded: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _w2_data(job: dict, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``samples`` rows, as views of the job's data loaded once.

    Loading per variant (or again for the warm-up) would hold two copies and
    inflate the peak RSS this process reports.
    """
    if job["data"] not in _loaded:
        largest = max(v.get("samples", 0) for v in job["variants"])
        _loaded[job["data"]] = load_w2_data(job["data"], largest)
    features, labels = _loaded[job["data"]]
    return features[:samples], labels[:samples]


def _trainer(module, variant: dict, job: dict):
    """The factory's train callable for this variant, or None when not supported."""
    if variant["kind"] == "xor":
        factory = getattr(module, "xor_trainer", None)
        if factory is None:
            return None
        return factory(
            _load_weights(job["weights"], "w1."),
            variant["learning_rate"],
            variant["steps"],
            variant["per_sample"],
            job["threads"],
        )
    factory = getattr(module, "mlp_trainer", None)
    if factory is None:
        return None
    features, labels = _w2_data(job, variant["samples"])
    order = batch_order(variant["samples"], variant["epochs"])
    return factory(
        _load_weights(job["weights"], "w2."),
        features,
        labels,
        order,
        variant["batch_size"],
        variant["learning_rate"],
        job["threads"],
    )


def run_variant(module, variant: dict, job: dict) -> dict:
    """Repeat the variant ``reps`` times, stopping early past the time budget."""
    train = _trainer(module, variant, job)
    if train is None:
        return {"status": "skipped"}
    _trainer(module, _warm_up(variant), job)()
    times, losses = [], None
    for _ in range(variant["reps"]):
        start = time.perf_counter()
        losses = train()
        times.append(time.perf_counter() - start)
        if sum(times) > job["time_budget_s"]:
            break
    losses = np.asarray(losses, dtype=float)
    return {
        "status": "ok",
        "times": times,
        "samples": variant["samples_per_run"],
        "steps": variant["steps_per_run"],
        "losses": losses.tolist(),
    }


def main(argv: list[str]) -> None:
    job_path, result_path = argv
    with open(job_path) as file:
        job = json.load(file)
    result: dict = {
        "contender": job["contender"],
        "threads": job["threads"],
        "workload": job["workload"],
        "variants": {},
    }
    try:
        module = importlib.import_module(CONTENDERS[job["contender"]])
    except ImportError as error:
        result["status"] = "n/a"
        result["reason"] = f"{type(error).__name__}: {error}"
    else:
        result["status"] = "ok"
        for variant in job["variants"]:
            try:
                result["variants"][variant["name"]] = run_variant(module, variant, job)
            except Exception as error:  # reported in the table, the suite goes on
                result["variants"][variant["name"]] = {
                    "status": "error",
                    "reason": f"{type(error).__name__}: {error}",
                    "traceback": traceback.format_exc(),
                }
    result["peak_rss_mb"] = peak_rss_mb()
    result["thread_pools"] = thread_pools()
    with open(result_path, "w") as file:
        json.dump(result, file)


if __name__ == "__main__":
    main(sys.argv[1:])
