"""Sweeps on Dask (the ``dask`` extra): ``run_sweep(..., executor=)`` and
``deepgrad sweep --scheduler``.

One LocalCluster of 2 single-threaded worker processes serves the module: a Dask
sweep gives the local pool's results bit for bit, a worker killed mid-sweep has
its run trained again with the same results, and the command line reports
progress, an unreachable scheduler and a missing extra in one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np
import pytest
from distributed import Client, KilledWorker, LocalCluster
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from deepgrad import cli, sweep
from deepgrad.sweep import run_sweep

runner = CliRunner()

# every result key that does not depend on where or how fast the run trained
_SAME_EVERYWHERE = (
    "label",
    "options",
    "final_loss",
    "final_accuracy",
    "epochs_to_threshold",
    "diverged",
    "stopped_reason",
)


def assert_bit_for_bit(results, expected):
    """Every run's loss and accuracy curves equal, bit for bit, in the grid's order."""
    assert [result["label"] for result in results] == [r["label"] for r in expected]
    for result, other in zip(results, expected, strict=True):
        assert np.array_equal(result["loss"], other["loss"]), result["label"]
        if other["accuracy"] is None:
            assert result["accuracy"] is None
        else:
            assert np.array_equal(result["accuracy"], other["accuracy"])
        for key in _SAME_EVERYWHERE:
            assert result[key] == other[key] or (
                result[key] != result[key] and other[key] != other[key]  # NaN
            ), key


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with Client(cluster) as client:
        yield client


def _runs_lost_with(client, address: str) -> set[str]:
    """The sweep runs the scheduler had on the worker at ``address`` when it died
    unexpectedly (and so ran again elsewhere)."""
    return {
        key
        for _, event in client.get_events(address)
        if event.get("action") == "remove-worker" and not event["expected"]
        for key in event["processing-tasks"]
        if key.startswith("_train_run-")
    }


# -- the Python API --------------------------------------------------------------------
def test_a_dask_sweep_gives_the_local_process_pools_results_bit_for_bit(client):
    """Each run is one task of the cluster, and its curves are those of the local
    pool, to the last bit: mini-batch runs shuffle and drop units from their seed,
    wherever they train. on_result sees every result once, as the tasks finish."""
    grid = {"lr": [0.5, 2.0], "batch_size": [2, "full"]}
    base = {"epochs": 60, "dropout": 0.1}
    seen = []
    on_dask = run_sweep(base, grid, executor=client, on_result=seen.append)
    in_pool = run_sweep(base, grid, n_jobs=2)

    assert_bit_for_bit(on_dask, in_pool)
    assert on_dask[0]["loss"] != on_dask[1]["loss"]  # the runs differ from each other
    assert sorted(id(result) for result in seen) == sorted(map(id, on_dask))


def test_runs_train_on_one_blas_thread_wherever_they_run(client):
    """OpenBLAS sums a 256x128 @ 128x128 product (the 128-128 layer's, a batch of
    256) in another order on two threads (checked here), so a run in a process
    with two BLAS threads would differ in the last bits from the same run on a
    single-threaded Dask worker; each run limits BLAS to one thread, and the two
    agree."""
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(256, 128)).astype(np.float32)
    weights = rng.normal(size=(128, 128)).astype(np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        one_thread = hidden @ weights
    with threadpool_limits(limits=2, user_api="blas"):
        two_threads = hidden @ weights
    assert not np.array_equal(one_thread, two_threads)

    X = rng.normal(size=(256, 64)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    base = {"data": (X, y), "hidden": [128, 128], "activation": "relu", "epochs": 5}
    grid = {"lr": [0.1, 0.5]}
    with threadpool_limits(limits=2, user_api="blas"):
        here = run_sweep(base, grid, n_jobs=1)
    assert_bit_for_bit(run_sweep(base, grid, executor=client), here)


def test_a_worker_killed_mid_sweep_has_its_run_trained_again_with_the_same_results(
    client,
):
    """A worker process killed while it trains a run (SIGKILL, as the OOM killer
    would) loses nothing: the scheduler runs that task again on a live worker,
    the sweep completes, and every result equals a serial sweep's bit for bit."""
    base = {"epochs": 1000, "batch_size": 2}  # about a second or two a run
    grid = {"lr": [0.1, 1.0, 2.0]}
    expected = run_sweep(base, grid, n_jobs=1)

    pids = client.run(os.getpid)  # worker address -> its process id
    finished = {}
    sweeping = threading.Thread(
        target=lambda: finished.update(results=run_sweep(base, grid, executor=client))
    )
    sweeping.start()
    deadline = time.monotonic() + 30
    busy: list[str] = []
    while not busy and time.monotonic() < deadline:
        busy = [address for address, keys in client.processing().items() if keys]
        time.sleep(0.05)
    assert busy, "no worker started a run within 30 s"
    os.kill(pids[busy[0]], signal.SIGKILL)
    sweeping.join(timeout=120)

    assert not sweeping.is_alive()
    # the worker died while it held a sweep run, which the scheduler ran again
    assert _runs_lost_with(client, busy[0])
    assert_bit_for_bit(finished["results"], expected)


def test_any_concurrent_futures_executor_runs_the_sweep_with_the_same_results():
    """An Executor's workers may be threads of this process, which share
    deepgrad's random generator: runs take turns in a process, so dropout's draws
    are those of a serial sweep."""
    grid = {"lr": [0.5, 2.0], "batch_size": [2, "full"]}
    base = {"epochs": 40, "dropout": 0.2}
    with ThreadPoolExecutor(max_workers=4) as executor:
        threaded = run_sweep(base, grid, executor=executor)
    assert_bit_for_bit(threaded, run_sweep(base, grid, n_jobs=1))


def test_an_executor_with_n_jobs_or_of_the_wrong_type_is_refused():
    """n_jobs sizes the local pool, so it cannot come with an executor; anything
    that is neither an Executor nor a Client is named in a TypeError."""
    with (
        ThreadPoolExecutor(max_workers=1) as executor,
        pytest.raises(ValueError, match="n_jobs sizes the local process pool"),
    ):
        run_sweep({"epochs": 1}, {"lr": [0.1]}, n_jobs=2, executor=executor)
    with pytest.raises(TypeError, match="Executor or a dask.distributed Client.*str"):
        run_sweep({"epochs": 1}, {"lr": [0.1]}, executor="tcp://localhost:8786")


def test_importing_deepgrad_and_its_sweeps_does_not_import_dask():
    """dask is an extra: only a Dask sweep imports it."""
    code = (
        "import sys, deepgrad, deepgrad.sweep, deepgrad.cli;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# -- the command line ------------------------------------------------------------------
def _error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def test_sweep_command_runs_on_the_cluster_at_an_address_with_a_line_per_finished_run(
    cluster,
):
    """--scheduler tcp://HOST:PORT sends the runs to that cluster, prints one
    progress line per run as it finishes, then the table in the grid's order."""
    result = runner.invoke(
        cli.app,
        ["sweep", "xor", "--lr", "0.5,2,1e4", "--epochs", "200"]
        + ["--scheduler", cluster.scheduler_address],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"the Dask cluster at {cluster.scheduler_address}" in lines[0]
    progress = [line for line in lines if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == ["[1/3", "[2/3", "[3/3"]
    assert sorted(line.split("] ")[1].split(":")[0] for line in progress) == [
        "lr=0.5",
        "lr=10000",
        "lr=2",
    ]
    assert any(line.startswith("[") and "lr=10000: diverged" in line for line in lines)
    rows = [line for line in lines if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == ["0.5", "2", "10000"]


def test_sweep_command_with_scheduler_local_starts_and_closes_a_cluster(
    cluster, monkeypatch
):
    """--scheduler local runs the sweep on a LocalCluster of --jobs processes,
    with a serial sweep's numbers, and shuts it down afterwards."""
    import distributed

    started = []  # held here: LocalCluster._instances forgets a closed cluster

    class Recorded(distributed.LocalCluster):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(distributed, "LocalCluster", Recorded)
    args = ["sweep", "xor", "--lr", "0.5,2", "--epochs", "100"]
    result = runner.invoke(cli.app, [*args, "--jobs", "2", "--scheduler", "local"])
    serial = runner.invoke(cli.app, [*args, "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "a local Dask cluster of 2 processes" in result.stdout.splitlines()[0]
    table = [line for line in result.stdout.splitlines() if line.startswith("│")]
    same = [line for line in serial.stdout.splitlines() if line.startswith("│")]
    # every column but the time
    assert [row.split("│")[1:6] for row in table] == [
        row.split("│")[1:6] for row in same
    ]
    from distributed.core import Status

    assert [c.status for c in started] == [Status.closed]


def test_sweep_command_reports_an_unreachable_scheduler_in_one_line(monkeypatch):
    """Nothing listens at the address: after the connection timeout, one line
    names the address and what to do, exit code 2, and no run starts."""
    monkeypatch.setattr(sweep, "DASK_CONNECT_TIMEOUT", 1.0)
    started = time.monotonic()
    result = runner.invoke(
        cli.app,
        ["sweep", "xor", "--lr", "0.5,2", "--scheduler", "tcp://127.0.0.1:9"],
    )
    assert result.exit_code == 2
    line = _error_line(result)
    assert "no Dask scheduler answered at tcp://127.0.0.1:9" in line
    assert "dask scheduler" in line and "'local'" in line
    assert "Sweeping" not in result.stdout
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("scheduler", "jobs", "named"),
    [
        ("localhost:8786", [], "a Dask scheduler is 'local' or an address"),
        ("tcp://127.0.0.1:9", ["--jobs", "2"], "leave --jobs out"),
    ],
)
def test_sweep_command_refuses_a_bad_scheduler_option_in_one_line(
    scheduler, jobs, named
):
    """An address without its protocol, or --jobs for a cluster that has its own
    workers, is bad input: one line, exit code 2."""
    result = runner.invoke(
        cli.app, ["sweep", "xor", "--lr", "0.5,2", "--scheduler", scheduler, *jobs]
    )
    assert result.exit_code == 2
    assert named in _error_line(result)


def test_sweep_command_without_the_dask_extra_names_the_pip_command(monkeypatch):
    """Without dask.distributed installed, --scheduler says how to install it
    in one line (exit code 2); sweeps without it do not need it."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    result = runner.invoke(
        cli.app, ["sweep", "xor", "--lr", "0.5,2", "--scheduler", "local"]
    )
    assert result.exit_code == 2
    assert _error_line(result) == (
        "Error: this needs distributed, which is not installed: "
        "pip install 'deepgrad[dask]'"
    )
    local = runner.invoke(cli.app, ["sweep", "xor", "--lr", "0.5", "--epochs", "5"])
    assert local.exit_code == 0, local.output


def test_sweep_command_reports_a_run_that_kept_killing_its_workers_in_one_line(
    monkeypatch,
):
    """A run whose workers all died (Dask gave it up with KilledWorker after
    allowed-failures) fails the sweep: one line, exit code 1, no traceback."""

    @contextmanager
    def cluster_of_one(scheduler, n_workers=None):
        yield SimpleNamespace()

    def workers_die(*args, **kwargs):
        worker = SimpleNamespace(address="tcp://10.0.0.7:40000")
        raise KilledWorker("_train_run-1", worker, 3)

    monkeypatch.setattr(sweep, "dask_client", cluster_of_one)
    monkeypatch.setattr(sweep, "run_sweep", workers_die)
    result = runner.invoke(
        cli.app, ["sweep", "xor", "--lr", "0.5,2", "--scheduler", "tcp://HOST:8786"]
    )
    assert result.exit_code == 1
    assert _error_line(result) == (
        "Error: sweep: 4 Dask workers died in turn while training one run (the "
        "last at tcp://10.0.0.7:40000); their logs say why (out of memory?)"
    )
