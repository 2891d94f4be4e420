"""Starting child processes: their environment, the jobs, start-up timing, the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

# This machine kind forces OpenBLAS's AVX2 kernels through these two variables
# (shared/PERFORMANCE.md); a benchmark unsets both, in its own children only.
FORCED_BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def bench_env(threads: int) -> dict[str, str]:
    """The parent's environment with ``threads`` BLAS/OpenMP threads, kernels unforced."""
    env = {k: v for k, v in os.environ.items() if k not in FORCED_BLAS_VARIABLES}
    env.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(repo_root()), os.environ.get("PYTHONPATH")])
    )
    return env


def run_job(job: dict, workdir: Path, timeout_s: float) -> dict:
    """Run one worker job in a child process; its result, or the error it died of."""
    label = f"{job['workload']}-{job['contender']}-{job['threads']}t".replace(" ", "_")
    job_path, result_path = workdir / f"{label}.job.json", workdir / f"{label}.json"
    job_path.write_text(json.dumps(job))
    command = [
        sys.executable,
        "-m",
        "benchmarks.worker",
        str(job_path),
        str(result_path),
    ]
    try:
        completed = subprocess.run(
            command,
            env=bench_env(job["threads"]),
            cwd=repo_root(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return {
            **_header(job),
            "status": "error",
            "reason": f"timed out after {timeout_s:.0f} s",
        }
    if completed.returncode != 0 or not result_path.exists():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        return {
            **_header(job),
            "status": "error",
            "reason": f"exit {completed.returncode}: " + " | ".join(tail),
        }
    return json.loads(result_path.read_text())


def _header(job: dict) -> dict:
    return {
        "contender": job["contender"],
        "threads": job["threads"],
        "workload": job["workload"],
        "variants": {},
    }


def run_gemm(threads: int, reps: int, workdir: Path) -> dict:
    result_path = workdir / f"gemm-{threads}t.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.gemm", str(result_path), str(reps)],
        env=bench_env(threads),
        cwd=repo_root(),
        check=True,
        timeout=600,
    )
    return json.loads(result_path.read_text())


IMPORT_SNIPPET = """
import sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
heavy = sorted({{name.split('.')[0] for name in sys.modules}}
               & {{'matplotlib', 'torch', 'sklearn', 'scipy', 'typer', 'rich',
                   'pandas', 'safetensors'}})
print(elapsed, ','.join(heavy))
"""


def time_import(module: str, reps: int) -> dict:
    """``import module`` in ``reps`` fresh interpreters: seconds, and heavy modules."""
    times, heavy = [], ""
    for _ in range(reps):
        completed = subprocess.run(
            [sys.executable, "-c", IMPORT_SNIPPET.format(module=module)],
            env=bench_env(1),
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            check=True,
        )
        fields = completed.stdout.split()
        times.append(float(fields[0]))
        heavy = fields[1] if len(fields) > 1 else ""
    return {
        "times": times,
        "median_s": float(np.median(times)),
        "min_s": min(times),
        "max_s": max(times),
        "heavy_modules_loaded": heavy.split(",") if heavy else [],
    }


def machine_info() -> dict:
    """CPU model and cores (lscpu), Python and the libraries' versions."""
    cpu = {}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in {
                "Model name",
                "CPU(s)",
                "Thread(s) per core",
                "Core(s) per socket",
                "L2 cache",
                "L3 cache",
            }:
                cpu[key.strip()] = value.strip()
        flags = next(
            (line for line in lscpu.splitlines() if line.startswith("Flags")), ""
        )
        cpu["AVX-512"] = "avx512f" in flags
    except OSError:
        cpu["Model name"] = platform.processor()
    versions = {}
    for package in (
        "deepgrad",
        "numpy",
        "torch",
        "scikit-learn",
        "threadpoolctl",
        "matplotlib",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "os_cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "parent_blas_variables": {k: os.environ.get(k) for k in FORCED_BLAS_VARIABLES},
    }
