"""The benchmark suite runs end to end at tiny sizes and its reference is right.

Times are never asserted (they mean nothing at these sizes, and on shared CI
machines); what is checked is that every workload runs for every contender,
that the files the docs are built from are written and well-formed, and that
the hand-written NumPy reference trains exactly as PyTorch does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("threadpoolctl")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import reference  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    W1_LEARNING_RATE,
    XOR_INPUTS,
    XOR_LABELS,
    w1_initial_weights,
)

CONTENDERS = {
    "pytorch",
    "sklearn float32",
    "numpy reference",
    "deepgrad eager",
    "deepgrad fit",
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """``python -m benchmarks --quick --tiny --profile`` into a temporary folder."""
    out = tmp_path_factory.mktemp("results")
    env = {**os.environ, "DEEPGRAD_BENCH_CACHE": str(tmp_path_factory.mktemp("cache"))}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--tiny",
            "--profile",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out, completed.stdout


def test_tiny_run_writes_json_markdown_and_png(tiny_run):
    out, _ = tiny_run

    results = json.loads((out / "latest.json").read_text())
    markdown = (out / "latest.md").read_text()
    png = (out / "latest.png").read_bytes()

    assert {
        "meta",
        "rows",
        "targets",
        "correctness",
        "gemm",
        "imports",
        "memory_mb",
        "profile",
    } <= set(results)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert "| workload | variant |" in markdown and "### Targets" in markdown
    assert "![speed-up over PyTorch per workload](latest.png)" in markdown


def test_every_contender_runs_every_workload_it_takes_part_in(tiny_run):
    out, _ = tiny_run
    rows = json.loads((out / "latest.json").read_text())["rows"]

    failed = [row for row in rows if row["status"] not in {"ok", "n/a"}]
    ran = {(row["workload"], row["contender"]) for row in rows if row["status"] == "ok"}

    assert failed == []
    assert {contender for workload, contender in ran if workload == "W2"} >= (
        CONTENDERS - {"deepgrad fit"}
    )
    assert {workload for workload, _ in ran} == {"W1", "W2", "W3"}
    for row in rows:
        if row["status"] == "ok":
            assert row["median_s"] > 0 and row["samples_per_s"] > 0
            assert np.isfinite(row["final_loss"])


def test_tiny_run_reports_the_blas_kernel_and_the_roofline(tiny_run):
    out, stdout = tiny_run
    results = json.loads((out / "latest.json").read_text())

    openblas = [
        pool for pool in results["blas"] if pool.get("internal_api") == "openblas"
    ]
    roofline = results["gemm"]["1"]

    assert openblas and all(pool["num_threads"] == 1 for pool in openblas)
    assert len(roofline["gemms"]) == 8 and roofline["roofline_samples_per_s"] > 0
    assert "roofline samples/s" in stdout and "where the step's time goes" in stdout


def test_tiny_run_finds_numpy_reference_and_deepgrad_losses_equal_to_pytorchs(tiny_run):
    out, _ = tiny_run
    checks = {
        c["check"]: c
        for c in json.loads((out / "latest.json").read_text())["correctness"]
    }

    for variant in ("full batch", "per sample"):
        for contender in ("numpy reference", "deepgrad eager"):
            check = checks[f"W1 {variant}: {contender} losses = PyTorch's, every step"]
            assert check["passed"], check
            assert check["max_abs_diff"] <= 1e-5


@pytest.mark.parametrize("per_sample", [False, True], ids=["full-batch", "per-sample"])
def test_numpy_delta_rule_losses_equal_torch_autograd_to_1e_5(per_sample):
    import torch
    import torch.nn.functional as F
    from benchmarks.contenders.eager import xor_trainer

    weights = w1_initial_weights()
    steps = 400

    losses, _ = reference.train_xor(
        weights, XOR_INPUTS, XOR_LABELS, W1_LEARNING_RATE, steps, per_sample
    )
    torch_losses = xor_trainer(torch, F, weights, W1_LEARNING_RATE, steps, per_sample)()

    np.testing.assert_allclose(losses, torch_losses, rtol=0, atol=1e-5)
    assert losses[-1] < losses[0]


def test_interleaved_rounds_take_the_contenders_in_turn_and_merge_their_times(
    monkeypatch, tmp_path
):
    from benchmarks import cli

    ran = []

    def fake_run(job, workdir):  # one round of one job: a time per variant
        ran.append((job["contender"], [v["name"] for v in job["variants"]]))
        count = sum(1 for contender, _ in ran if contender == job["contender"])
        variants = {
            v["name"]: {"status": "ok", "times": [float(count)], "losses": [count]}
            for v in job["variants"]
        }
        if job["contender"] == "b" and count == 2:
            variants["x"] = {"status": "error", "reason": "boom"}
        return {
            "contender": job["contender"],
            "status": "ok",
            "variants": variants,
            "peak_rss_mb": 100.0 + count,
        }

    monkeypatch.setattr(cli, "_run_logged", fake_run)
    jobs = [
        {
            "workload": "W1",
            "threads": 1,
            "contender": name,
            "variants": [{"name": "x", "reps": 3}, {"name": "y", "reps": 2}],
        }
        for name in ("a", "b")
    ]
    merged = cli.run_interleaved(jobs, tmp_path)

    assert ran == [
        ("a", ["x", "y"]), ("b", ["x", "y"]),
        ("a", ["x", "y"]), ("b", ["x", "y"]),
        ("a", ["x"]), ("b", ["x"]),
    ]  # fmt: skip
    a, b = merged
    assert a["variants"]["x"]["times"] == [1.0, 2.0, 3.0]
    assert a["variants"]["y"]["times"] == [1.0, 2.0]
    assert a["variants"]["x"]["losses"] == [1]  # from the first round
    assert a["peak_rss_mb"] == 103.0
    assert b["variants"]["x"] == {"status": "error", "reason": "boom"}
    assert b["variants"]["y"]["times"] == [1.0, 2.0]


def test_w3_scaling_targets_compare_per_sample_times():
    from benchmarks.report import _scaling_targets

    def row(variant, samples, median, fastest):
        return {
            "workload": "W3",
            "contender": "deepgrad fit",
            "status": "ok",
            "variant": variant,
            "samples": samples,
            "median_s": median,
            "min_s": fastest,
        }

    rows = [
        row("10,000 samples", 10_000, 1.0, 0.9),
        row("240,000 samples", 240_000, 36.0, 19.2),  # 1.5x dearer per sample
        row("batch 1", 100, 1.0, 1.0),
        row("batch 32", 100, 0.5, 0.5),
        row("batch 128", 100, 0.55, 0.5),  # a 10% rise over batch 32
    ]
    linear, batches = _scaling_targets(rows)

    assert linear["value"] == pytest.approx(1.5) and linear["met"] is False
    assert linear["value_fastest"] == pytest.approx(19.2 / 24 / 0.9)
    assert linear["met_fastest"] is True
    assert batches["value"] == pytest.approx(1.1) and batches["met"] is False
    assert batches["value_fastest"] == pytest.approx(1.0)
    assert batches["met_fastest"] is True
