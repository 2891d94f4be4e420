"""`deepgrad serve` as a process: what it says at start-up, Ctrl-C, and a bounded
load test of 20 tabs training at once over the WebSocket API (loopback only).

``playground_server`` starts the command on a free 127.0.0.1 port; the browser
tests (tests/test_playground_browser.py) use it too.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

LOAD_SESSIONS = 20
LOAD_SECONDS = 4.0
# 2-8-8-1 on 500 points, as the frame-rate target names it
NETWORK = {
    "dataset": "moons",
    "samples": 500,
    "noise": 0.1,
    "hidden": [8, 8],
    "activation": "tanh",
    "lr": 0.3,
    "test_ratio": 0.2,
    "epochs": 20000,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(*options: str) -> tuple[subprocess.Popen[str], str]:
    """``deepgrad serve`` on a free port; (the process, its URL) once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "deepgrad", "serve", "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"deepgrad serve stopped: {process.communicate()}")
        try:
            urllib.request.urlopen(f"{url}/api/options", timeout=1).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("deepgrad serve did not answer within 30 s")


def stop_server(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Ctrl-C (SIGINT); (the exit code, stdout, stderr)."""
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"deepgrad serve ignored Ctrl-C: {out}{err}") from None
    return process.returncode, out, err


@pytest.fixture(scope="module")
def playground_server() -> Iterator[str]:
    process, url = start_server("--max-sessions", "40")
    yield url
    code, out, err = stop_server(process)
    assert code == 0, out + err


def test_import_deepgrad_and_help_never_import_the_web_framework():
    script = (
        "import sys, deepgrad, deepgrad.cli, deepgrad.playground, deepgrad.playground.data;"
        "from typer.testing import CliRunner;"
        "result = CliRunner().invoke(deepgrad.cli.app, ['--help']);"
        "assert 'serve' in result.output, result.output;"
        "print(sorted(m for m in ('fastapi', 'starlette', 'uvicorn') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_serve_says_where_it_listens_and_ctrl_c_stops_it_with_exit_0():
    process, url = start_server()
    code, out, err = stop_server(process)
    assert code == 0
    assert f"deepgrad playground on {url}/ (listening on 127.0.0.1" in out
    assert "Stopped the playground." in out
    assert "Warning" not in err and "Traceback" not in err


def test_serve_on_every_interface_warns():
    process, _ = start_server("--host", "0.0.0.0")
    code, _, err = stop_server(process)
    assert code == 0
    assert "Warning: --host 0.0.0.0 lets other machines reach the playground" in err


async def _tab(url: str, seconds: float) -> dict[str, float | int]:
    """One tab: build the 2-8-8-1 run, play, count frames for ``seconds``."""
    import websockets

    frames = errors = 0
    async with websockets.connect(url.replace("http", "ws") + "/ws") as ws:
        await ws.send(json.dumps({"type": "config", "config": NETWORK}))
        await ws.send(json.dumps({"type": "play"}))
        started = time.monotonic()
        epoch = 0
        while (left := seconds - (time.monotonic() - started)) > 0:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), left))
            except asyncio.TimeoutError:
                break
            if message["type"] == "error":
                errors += 1
            if message["type"] == "frame" and message["state"] == "playing":
                frames += 1
                epoch = message["epoch"]
    return {"fps": frames / seconds, "errors": errors, "epochs": epoch}


def test_twenty_tabs_training_at_once_each_keep_receiving_frames(playground_server):
    async def tabs() -> list[dict[str, float | int]]:
        return await asyncio.gather(
            *(_tab(playground_server, LOAD_SECONDS) for _ in range(LOAD_SESSIONS))
        )

    results = asyncio.run(tabs())
    rates = sorted(result["fps"] for result in results)
    print(
        f"\n{LOAD_SESSIONS} tabs, {LOAD_SECONDS:g} s: frames/s per tab min "
        f"{rates[0]:.1f}, median {rates[len(rates) // 2]:.1f}, max {rates[-1]:.1f}; "
        f"epochs per tab min {min(r['epochs'] for r in results)}"
    )
    assert all(result["errors"] == 0 for result in results)
    # a sane floor, not a timing target (docs/performance.md records the figures)
    assert rates[0] >= 1.0
    assert all(result["epochs"] > 0 for result in results)


def test_ctrl_c_while_tabs_train_stops_cleanly():
    process, url = start_server()

    async def open_tabs() -> None:
        import websockets

        sockets = [
            await websockets.connect(url.replace("http", "ws") + "/ws")
            for _ in range(3)
        ]
        for ws in sockets:
            await ws.send(json.dumps({"type": "config", "config": NETWORK}))
            await ws.send(json.dumps({"type": "play"}))
        await asyncio.sleep(1.0)
        code, out, err = stop_server(process)
        assert code == 0, out + err
        assert "Traceback" not in err

    asyncio.run(open_tabs())
    # the training threads went with the process: nothing is left of it
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
