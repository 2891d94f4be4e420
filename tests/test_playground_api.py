"""The playground's HTTP and WebSocket API, through FastAPI's TestClient.

Every route and every message the page sends, bad input and each limit: a
request past a limit or with bad data gets one clear line, and the session
goes on serving. The numbers are the library's: the inspector's gradients are
``deepgrad.explain``'s for the same weights, and the copied Python and
``deepgrad train`` command give the page's loss curve.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shlex
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

import deepgrad as dg  # noqa: E402
from cli_helpers import run  # noqa: E402
from deepgrad import explain  # noqa: E402
from deepgrad.io import load_checkpoint  # noqa: E402
from deepgrad.playground import Limits, create_app  # noqa: E402
from deepgrad.playground.config import (  # noqa: E402
    RunConfig,
    _momentum_problem,
    check_fields,
    default_config,
    parse_config,
)
from test_playground_server import NETWORK  # noqa: E402


def copied_losses(script: Any) -> list[float]:
    """The loss curve of a copied Python script run alone, in a fresh interpreter
    in its folder: no session thread left by another test can draw from the
    process-wide random stream while it runs (in-process, one did, under load)."""
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    code = (
        "import json, runpy\n"
        f"history = runpy.run_path({str(script)!r})['history']\n"
        "print(json.dumps(history.history['loss']))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        cwd=os.path.dirname(script), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# the load test's 2-8-8-1 moons run, smaller and shorter
MOONS = {**NETWORK, "samples": 300, "epochs": 200}


@contextmanager
def client(**limits: Any):
    with TestClient(create_app(Limits(**limits))) as test_client:
        yield test_client


def receive(ws, kind: str) -> dict[str, Any]:
    """The next message of type ``kind``; an error on the way fails the test."""
    while True:
        message = ws.receive_json()
        if message["type"] == kind:
            return message
        assert message["type"] != "error" or kind == "error", message["message"]


def start(ws, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send a config; (the ready message, the first frame)."""
    ws.send_json({"type": "config", "config": config})
    return receive(ws, "ready"), receive(ws, "frame")


def train_to_the_end(ws) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Play until the run finishes; (the history of every frame, the last frame)."""
    ws.send_json({"type": "play"})
    history: dict[str, list[Any]] = {}
    while True:
        frame = receive(ws, "frame")
        for key, values in frame["history"].items():
            history.setdefault(key, []).extend(values)
        if frame["state"] == "finished":
            return history, frame


def error_of(ws) -> str:
    """The error line that must be the next message."""
    message = ws.receive_json()
    assert message["type"] == "error", message
    return message["message"]


@pytest.fixture
def app_client():
    with client() as test_client:
        yield test_client


def test_the_page_and_its_modules_are_served(app_client):
    page = app_client.get("/")
    assert page.status_code == 200
    for testid in ("dataset", "lr", "play", "pause", "step", "reset", "epoch",
                   "train-loss", "test-loss", "boundary", "add-layer", "copy-code",
                   "code-text", "csv-upload", "inspector", "error"):  # fmt: skip
        assert f'data-testid="{testid}"' in page.text
    script = app_client.get("/static/js/main.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert app_client.get("/static/nothing.js").status_code == 404


def test_options_list_the_datasets_choices_and_limits():
    with client(max_sessions=3) as test_client:
        options = test_client.get("/api/options").json()
    names = [entry["name"] for entry in options["datasets"]]
    for name in ("xor", "and", "or", "circles", "moons", "spirals", "gauss", "blobs",
                 "sine", "cubic", "abs", "iris", "custom", "csv"):  # fmt: skip
        assert name in names
    assert options["optimizers"]["adam"] == 0.01
    assert options["limits"]["max_sessions"] == 3


def test_playing_the_lab_gives_the_command_lines_log(app_client):
    with app_client.websocket_connect("/ws") as ws:
        hello = receive(ws, "hello")
        ready, first = start(ws, {"dataset": "xor", "init": "normal", "epochs": 5000})
        assert ready["network"]["widths"] == [2, 4, 4, 1]
        assert first["epoch"] == 0 and first["state"] == "paused"
        history, last = train_to_the_end(ws)
        # every epoch arrives once, in order, however the frames coalesced
        assert history["epoch"] == list(range(1, 5001))
        assert last["epoch"] == 5000 and last["stopped_reason"] == "trained 5000 epochs"
        # the README's log of `deepgrad train xor ... --seed 42`
        assert round(history["loss"][0], 4) == 0.7198
        assert round(history["loss"][-1], 4) == 0.0134
        assert hello["session"] == ready["session"]


def test_frames_draw_the_boundary_the_neurons_and_the_weights(app_client):
    with app_client.websocket_connect("/ws") as ws:
        ready, first = start(ws, MOONS)
        assert ready["data"]["n_test"] == 60 and sum(ready["data"]["test"]) == 60
        assert first["boundary"]["size"] == 48
        assert [len(layer) for layer in first["neurons"]] == [8, 8, 1]
        assert [len(layer["weight"]) for layer in first["weights"]] == [8, 8, 1]
        _, last = train_to_the_end(ws)
        assert last["boundary"]["values"] != first["boundary"]["values"]


def test_step_epoch_step_batch_pause_and_reset(app_client):
    config = {**MOONS, "batch_size": 32}
    with app_client.websocket_connect("/ws") as ws:
        _, first = start(ws, config)
        ws.send_json({"type": "step", "unit": "batch"})
        frame = receive(ws, "frame")
        assert (frame["epoch"], frame["batch"], frame["state"]) == (0, 1, "paused")
        assert frame["batch_loss"] > 0
        ws.send_json({"type": "step", "unit": "epoch"})
        frame = receive(ws, "frame")
        assert (frame["epoch"], frame["batch"]) == (1, 0)
        assert frame["history"]["epoch"] == [1]
        ws.send_json({"type": "step"})
        assert receive(ws, "frame")["epoch"] == 2
        ws.send_json({"type": "pause"})
        assert receive(ws, "frame")["state"] == "paused"
        ws.send_json({"type": "reset"})
        receive(ws, "ready")
        again = receive(ws, "frame")
        # the same seed: the same first weights
        assert again["epoch"] == 0 and again["weights"] == first["weights"]


def test_speed_limits_the_epochs_per_second(app_client):
    with app_client.websocket_connect("/ws") as ws:
        start(ws, MOONS)
        ws.send_json({"type": "speed", "value": 20})
        ws.send_json({"type": "play"})
        started = time.monotonic()
        while receive(ws, "frame")["epoch"] < 10:
            pass
        assert time.monotonic() - started >= 0.4  # 10 epochs at 20 a second
        ws.send_json({"type": "speed", "value": 7})
        assert "speed: expected one of" in receive(ws, "error")["message"]


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"lr": "fast"}, "lr", "lr: expected a number, received: 'fast'"),
        ({"lr": -1}, "lr", "lr: expected a number from 1e-07 to 100"),
        ({"dataset": "mnist"}, "dataset", "dataset: expected one of xor"),
        (
            {"hidden": [4, 0]},
            "hidden",
            "hidden layer 2: expected an integer from 1 to 32",
        ),
        ({"colour": "red"}, "colour", "config: unknown option colour"),
        (
            {"optimizer": "adam", "momentum": 0.9},
            "momentum",
            "momentum: adam takes no momentum",
        ),
    ],
)
def test_a_bad_field_gets_its_line_and_the_rest_of_the_config_applies(
    app_client, config, field, message
):
    """One unusable field does not hold back the others: the run starts with
    the rest (activation tanh) and that field at its default, then one error
    whose ``fields`` give the field's line and the value the run uses."""
    with app_client.websocket_connect("/ws") as ws:
        receive(ws, "hello")
        ready, _ = start(ws, {**config, "activation": "tanh"})
        assert ready["config"]["activation"] == "tanh"
        defaults = RunConfig(epochs=Limits().max_epochs).as_dict()
        if field in defaults:
            assert ready["config"][field] == defaults[field]
        error = receive(ws, "error")
        assert list(error["fields"]) == [field]
        assert message in error["fields"][field] and message in error["message"]
        shown = {"lr": "0.1", "dataset": "xor", "hidden": "4,4", "momentum": "0.0"}
        tail = f"(not applied: the run uses {shown[field]})" if field in shown else ""
        assert error["fields"][field].endswith(tail or "(ignored)")
        # the session goes on: a good config still builds
        ready, _ = start(ws, {"dataset": "xor"})
        assert ready["config"]["dataset"] == "xor"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"dataset": "custom", "points": [[0, 0, 0]]}, "click at least 4 points"),
        ({"dataset": "csv"}, "csv: upload a CSV file first"),
        ({"dataset": "xor", "test_ratio": 0.9}, "Cannot split 4 samples"),
    ],
)
def test_a_config_that_cannot_be_built_gets_one_line(app_client, config, message):
    """Data the fields allow but the run cannot use: refused whole, one line."""
    with app_client.websocket_connect("/ws") as ws:
        receive(ws, "hello")
        ws.send_json({"type": "config", "config": config})
        assert message in error_of(ws)
        # the session goes on: a good config still builds
        ready, _ = start(ws, {"dataset": "xor"})
        assert ready["config"]["dataset"] == "xor"


def test_a_refused_field_alone_keeps_the_run_and_a_fixed_one_applies():
    """Epochs past the limit with nothing else changed: one error, and the run
    goes on where it was (not restarted). With a layer added too, the run is
    rebuilt with the layer and the epochs in use, the refusal repeated. Fixed
    epochs apply and bring no error."""
    with client(max_epochs=1000) as test_client:
        with test_client.websocket_connect("/ws") as ws:
            base = {"dataset": "xor", "init": "normal", "epochs": 300}
            start(ws, base)
            for epoch in (1, 2):
                ws.send_json({"type": "step", "unit": "epoch"})
                assert receive(ws, "frame")["epoch"] == epoch
            ws.send_json({"type": "config", "config": {**base, "epochs": 3000}})
            error = error_of(ws)
            assert "from 1 to 1000, received: 3000" in error
            assert "(not applied: the run uses 300)" in error
            ws.send_json({"type": "pause"})
            paused = ws.receive_json()  # the next message: no ready, no restart
            assert paused["type"] == "frame" and paused["epoch"] == 2

            grown = {**base, "epochs": 3000, "hidden": [4, 4, 4]}
            ready, frame = start(ws, grown)
            assert ready["network"]["widths"] == [2, 4, 4, 4, 1]
            assert ready["config"]["epochs"] == 300 and frame["epochs"] == 300
            assert list(receive(ws, "error")["fields"]) == ["epochs"]

            ready, frame = start(ws, {**grown, "epochs": 500})
            assert ready["config"]["epochs"] == 500 and frame["epochs"] == 500
            assert ready["network"]["widths"] == [2, 4, 4, 4, 1]
            ws.send_json({"type": "pause"})
            receive(ws, "frame")  # fails on an error on the way


def test_a_field_the_run_cannot_build_with_is_refused_and_the_rest_applies(
    app_client,
):
    """A test ratio the checks allow but 4 points cannot split: that field is
    refused (named, with the value in use) and, alone, restarts nothing; sent
    again with a third layer, the layer applies and the ratio stays refused."""
    with app_client.websocket_connect("/ws") as ws:
        base = {"dataset": "xor", "epochs": 300}
        start(ws, base)
        ws.send_json({"type": "step", "unit": "epoch"})
        receive(ws, "frame")
        ws.send_json({"type": "config", "config": {**base, "test_ratio": 0.9}})
        error = ws.receive_json()
        assert error["type"] == "error" and list(error["fields"]) == ["test_ratio"]
        line = error["fields"]["test_ratio"]
        assert line.startswith("test_ratio: Cannot split 4 samples")
        assert line.endswith("(not applied: the run uses 0.0)")
        ws.send_json({"type": "pause"})
        paused = ws.receive_json()
        assert paused["type"] == "frame" and paused["epoch"] == 1  # not restarted

        grown = {**base, "test_ratio": 0.9, "hidden": [4, 4, 4]}
        ready, _ = start(ws, grown)
        assert ready["network"]["widths"] == [2, 4, 4, 4, 1]
        assert ready["config"]["test_ratio"] == 0.0
        assert list(receive(ws, "error")["fields"]) == ["test_ratio"]


def test_a_config_refused_whole_says_the_run_keeps_its_configuration():
    """Once a run is in use, a config that no single field explains (3 clicked
    points of one class, and 8-8 layers past a 100-parameter limit: putting back
    the dataset, the points or the layers leaves it unbuildable) says that
    nothing of it applied, and the run goes on as it was."""
    with (
        client(max_parameters=100) as test_client,
        test_client.websocket_connect("/ws") as ws,
    ):
        start(ws, {"dataset": "xor", "epochs": 300})
        ws.send_json({"type": "step", "unit": "epoch"})
        receive(ws, "frame")
        config = {"dataset": "custom", "points": [[0, 0, 0], [1, 1, 0], [0, 1, 0]],
                  "hidden": [8, 8], "epochs": 300}  # fmt: skip
        ws.send_json({"type": "config", "config": config})
        message = error_of(ws)
        assert "click at least 4 points" in message
        assert "(nothing applied: the run keeps its configuration)" in message
        ws.send_json({"type": "pause"})
        frame = receive(ws, "frame")
        assert frame["epoch"] == 1 and frame["epochs"] == 300


@pytest.mark.parametrize(
    ("in_use", "values", "refused", "momentum", "nesterov"),
    [
        # adam takes neither: both refused, and their values in use do not fit
        # adam either, so both fall to RunConfig's (0, off)
        ({"momentum": 0.9, "nesterov": True}, {"optimizer": "adam"},
         ["momentum", "nesterov"], 0.0, False),
        # rmsprop keeps the momentum; Nesterov's needs sgd
        ({"momentum": 0.9, "nesterov": True}, {"optimizer": "rmsprop"},
         ["nesterov"], 0.9, False),
        # a momentum adam cannot take keeps the one in use
        ({"optimizer": "adam"}, {"momentum": 0.5}, ["momentum"], 0.0, False),
        # nesterov without momentum keeps the value in use, off
        ({}, {"nesterov": True}, ["nesterov"], 0.0, False),
    ],
)  # fmt: skip
def test_check_fields_gives_momentum_and_nesterov_a_value_that_fits(
    in_use, values, refused, momentum, nesterov
):
    """The cross-field rule (momentum for the optimizer, Nesterov's for SGD's
    momentum) refuses the field it names; the run gets a value that fits."""
    limits = Limits()
    config, lines = check_fields(
        {**values, "lr": 0.5}, limits, replace(default_config(limits), **in_use)
    )
    assert sorted(lines) == refused
    assert (config.momentum, config.nesterov, config.lr) == (momentum, nesterov, 0.5)
    assert _momentum_problem(config) is None
    # parse_config, all or nothing, raises the first of those lines
    whole = {**replace(default_config(limits), **in_use).as_dict(), **values}
    with pytest.raises(ValueError) as raised:
        parse_config(whole, limits)
    assert str(raised.value) == lines[refused[0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "a message must be JSON"),
        ('["play"]', "a message must be an object with a type"),
        ('{"type": "fly"}', "unknown message type 'fly'"),
        ('{"type": "inspect", "layer": 9, "unit": 0}', "inspect: layer must be 1 to 3"),
        ('{"type": "inspect", "layer": 1, "unit": 99}', "layer 1 has units 0 to 3"),
        (
            '{"type": "race", "rates": []}',
            "race: expected 1 to 6 different learning rates",
        ),
        (
            '{"type": "race", "option": "optimizer", "values": ["sgd", "lbfgs"]}',
            "race: expected 1 to 6 different optimizers among sgd, adam",
        ),
        (
            '{"type": "race", "option": "batch_size", "values": [0]}',
            "race: expected 1 to 6 different batch sizes",
        ),
        (
            '{"type": "race", "option": "seed", "values": [1]}',
            "race: option must be one of",
        ),
        ('{"type": "step", "unit": "week"}', "step: unit must be epoch or batch"),
    ],
)
def test_a_bad_message_gets_one_line(app_client, text, message):
    with app_client.websocket_connect("/ws") as ws:
        start(ws, {"dataset": "xor"})
        ws.send_text(text)
        assert message in error_of(ws)


def test_a_question_before_any_run_says_what_to_do_first(app_client):
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        ws.send_json({"type": "play"})
        assert "choose a dataset and a network first" in error_of(ws)
        answer = app_client.get(f"/api/sessions/{session}/model")
        assert answer.status_code == 400
        assert "choose a dataset" in answer.json()["detail"]


def test_limits_refuse_with_the_option_that_raises_them():
    with client(
        max_sessions=1, max_parameters=100, max_samples=500, max_epochs=1000
    ) as test_client:
        with test_client.websocket_connect("/ws") as ws:
            receive(ws, "hello")
            with test_client.websocket_connect("/ws") as second:
                assert "--max-sessions 1" in error_of(second)
            for config, option in (
                ({"hidden": [8, 8]}, "--max-parameters"),
                ({"dataset": "moons", "samples": 501}, "from 4 to 500"),
                ({"dataset": "digits"}, "--max-samples"),
                ({"epochs": 1001}, "from 1 to 1000"),
            ):
                ws.send_json({"type": "config", "config": config})
                # a refused field comes after the run built with the rest
                assert option in receive(ws, "error")["message"]
            start(ws, {"dataset": "xor"})


def test_idle_sessions_are_freed_with_a_message():
    with client(idle_timeout=0.3) as test_client:
        with test_client.websocket_connect("/ws") as ws:
            session = receive(ws, "hello")["session"]
            closed = receive(ws, "closed")
            assert "without activity" in closed["message"]
        assert test_client.get(f"/api/sessions/{session}/model").status_code == 404
        assert len(test_client.app.state.sessions) == 0


def test_a_closed_tab_frees_its_session(app_client):
    with app_client.websocket_connect("/ws") as ws:
        start(ws, MOONS)
        ws.send_json({"type": "play"})
        receive(ws, "frame")
    deadline = time.monotonic() + 5
    while len(app_client.app.state.sessions) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(app_client.app.state.sessions) == 0


def test_the_inspector_shows_explains_numbers_for_the_same_weights(app_client):
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        start(ws, {**MOONS, "test_ratio": 0})
        for _ in range(3):
            ws.send_json({"type": "step"})
            receive(ws, "frame")
        ws.send_json({"type": "inspect", "layer": 2, "unit": 5})
        answer = receive(ws, "inspect")
        model_file = app_client.get(f"/api/sessions/{session}/model")
    assert answer["epoch"] == 3 and answer["samples"] == 300
    quantities = {q["key"]: q for q in answer["quantities"]}
    assert quantities["dW"]["formula"] == "(dL/dZ2)^T · A1"
    assert quantities["dZ"]["formula"] == "dL/dA2 * tanh'(Z2)"
    assert all(
        q["residual"] is None or q["residual"] < 1e-5 for q in quantities.values()
    )
    assert [row["symbol"] for row in answer["gradcheck"]] == ["W2", "b2"]
    assert all(row["ok"] for row in answer["gradcheck"])

    # the same weights, loaded from the model file, traced by deepgrad.explain
    path = _write(model_file.content)
    classifier = dg.load(path)
    dataset = dg.data.load_dataset("moons", n_samples=300, noise=0.1, seed=0)
    features = classifier.standardizer.transform(dataset.X).astype(np.float32)
    trace = explain.trace(classifier.model, features, dataset.y, classifier.loss_fn)
    np.testing.assert_allclose(
        quantities["dW"]["values"], trace.layers[1].dW[5], rtol=1e-6
    )
    np.testing.assert_allclose(
        quantities["db"]["values"], [trace.layers[1].db[5]], rtol=1e-6
    )
    np.testing.assert_allclose(
        quantities["Z"]["values"], trace.layers[1].Z[:8, 5], rtol=1e-6
    )


def test_a_clicked_weight_shows_its_chain_rule_sum_and_numeric_check(app_client):
    """Clicking weight W2[5, 3] shows dL/dW2[5, 3] as the sum over samples of
    dL/dZ2[n, 5] * A1[n, 3]: the terms add up to backprop's value, which equals
    explain's dW for the same weights and the central difference of the loss
    (float64) in that one weight."""
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        start(ws, {**MOONS, "test_ratio": 0})
        for _ in range(2):
            ws.send_json({"type": "step"})
            receive(ws, "frame")
        ws.send_json({"type": "inspect", "layer": 2, "unit": 5, "weight": 3})
        answer = receive(ws, "inspect")
        ws.send_json({"type": "inspect", "layer": 2, "unit": 5, "weight": 8})
        too_far = error_of(ws)
        model_file = app_client.get(f"/api/sessions/{session}/model")
    detail = answer["weight"]
    assert detail["symbol"] == "W2[5, 3]" and detail["count"] == 300
    assert detail["formula"] == "dL/dW2[5, 3] = Σₙ dL/dZ2[n, 5] · A1[n, 3]"
    assert len(detail["terms"]) == 8
    np.testing.assert_allclose(detail["sum"], detail["backprop"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(
        detail["numeric"], detail["backprop"], rtol=1e-3, atol=1e-6
    )
    assert "incoming weights 0 to 7, received: 8" in too_far

    classifier = dg.load(_write(model_file.content))
    dataset = dg.data.load_dataset("moons", n_samples=300, noise=0.1, seed=0)
    features = classifier.standardizer.transform(dataset.X).astype(np.float32)
    trace = explain.trace(classifier.model, features, dataset.y, classifier.loss_fn)
    assert detail["value"] == pytest.approx(
        float(classifier.model[2].weight.array[5, 3])
    )
    np.testing.assert_allclose(detail["backprop"], trace.layers[1].dW[5, 3], rtol=1e-6)
    terms = trace.layers[1].dZ[:, 5].astype(np.float64) * trace.layers[0].A[:, 3]
    np.testing.assert_allclose(detail["terms"], terms[:8], rtol=1e-6)


def _write(content: bytes, suffix: str = ".dg") -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)
    handle.write(content)
    handle.close()
    return handle.name


def _history_loss(csv_text: str) -> list[float]:
    return [float(row["loss"]) for row in csv.DictReader(io.StringIO(csv_text))]


@pytest.mark.parametrize(
    "config",
    [
        {**MOONS, "epochs": 60},  # generated: the command reads the data CSV
        {"dataset": "xor", "init": "normal", "epochs": 300},  # built-in by name
        {
            "dataset": "sine",
            "hidden": [6],
            "optimizer": "adam",
            "lr": 0.01,
            "batch_size": 50,
            "epochs": 20,
            "test_ratio": 0.25,
        },  # fmt: skip
        {
            "dataset": "circles",
            "hidden": [6],
            "activation": "tanh",
            "momentum": 0.9,
            "nesterov": True,
            "l1": 0.01,
            "epochs": 40,
        },  # Nesterov and L1: train and the copied code take them too
    ],
)
def test_copied_python_and_command_give_the_pages_loss_curve(
    app_client, tmp_path, monkeypatch, config
):
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        start(ws, config)
        history, _ = train_to_the_end(ws)
        ws.send_json({"type": "code"})
        code = receive(ws, "code")
        page_csv = app_client.get(f"/api/sessions/{session}/history.csv").text
        data_csv = app_client.get(f"/api/sessions/{session}/data.csv").text
    page = _history_loss(page_csv)
    np.testing.assert_allclose(page, history["loss"], rtol=1e-12)

    monkeypatch.chdir(tmp_path)
    script = tmp_path / "run.py"
    script.write_text(code["python"])
    copied = copied_losses(script)
    np.testing.assert_allclose(copied, page, atol=1e-6)

    if code["data_file"]:
        (tmp_path / code["data_file"]).write_text(data_csv)
    words = shlex.split(code["command"])
    assert words[:2] == ["deepgrad", "train"]
    result = run(*words[1:], "--verbose", "0")
    assert result.exit_code == 0, result.output
    saved = load_checkpoint("model.dg").training_state["history"]
    command_loss = saved["history"]["loss"]
    np.testing.assert_allclose(command_loss, page, atol=1e-6)


def test_the_model_file_loads_and_predicts(app_client, tmp_path):
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        start(ws, {**MOONS, "epochs": 50})
        train_to_the_end(ws)
        response = app_client.get(f"/api/sessions/{session}/model")
    assert response.headers["content-disposition"].endswith('"playground-model.dg"')
    path = tmp_path / "model.dg"
    path.write_bytes(response.content)
    classifier = dg.load(path)
    assert list(classifier.predict(np.array([[0.0, 1.0], [2.0, 0.0]], np.float32))) == [
        "0",
        "1",
    ]
    assert run("predict", path, "moons").exit_code == 0


def test_the_data_csv_reads_back_to_the_same_points(app_client, tmp_path):
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        start(ws, {"dataset": "spirals", "samples": 120, "noise": 0.2, "data_seed": 3})
        text = app_client.get(f"/api/sessions/{session}/data.csv").text
    (tmp_path / "data.csv").write_text(text)
    read = dg.data.load_csv(tmp_path / "data.csv", "label")
    made = dg.data.load_dataset("spirals", n_samples=120, noise=0.2, seed=3)
    np.testing.assert_array_equal(read.X, made.X)
    np.testing.assert_array_equal(read.y, made.y)


def test_an_uploaded_csv_trains_and_a_bad_one_names_column_and_line(app_client):
    rows = "\n".join(
        f"{i % 7},{(i * 3) % 5},{'cat' if i % 2 else 'dog'}" for i in range(40)
    )
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        url = f"/api/sessions/{session}/upload?filename=pets.csv"
        answer = app_client.post(url, content=f"weight,height,kind\n{rows}\n").json()
        assert answer == {"filename": "pets.csv", "columns": ["weight", "height", "kind"],
                          "target": "kind"}  # fmt: skip
        ready, _ = start(ws, {"dataset": "csv", "hidden": [4]})
        assert ready["data"]["class_names"] == ["cat", "dog"]
        assert (
            ready["config"]["target"] == "kind"
            and ready["config"]["file"] == "pets.csv"
        )

        # the header is fine: the cells are read when the config is applied
        bad = app_client.post(url, content="weight,height,kind\n4,30,cat\n5,tall,dog\n")
        assert bad.status_code == 200
        ws.send_json({"type": "config", "config": {"dataset": "csv"}})
        message = error_of(ws)
        assert "height" in message and "line 3" in message

        ws.send_json(
            {"type": "config", "config": {"dataset": "csv", "target": "colour"}}
        )
        assert "colour" in error_of(ws)


def test_an_uploaded_regression_csv_draws_a_surface(app_client):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(60, 2))
    lines = [f"{a:.5f},{b:.5f},{a * a + b + 0.123:.5f}" for a, b in X]
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        app_client.post(
            f"/api/sessions/{session}/upload", content="a,b,value\n" + "\n".join(lines)
        )
        ready, frame = start(ws, {"dataset": "csv", "hidden": [8], "optimizer": "adam",
                                  "lr": 0.01})  # fmt: skip
    assert ready["data"]["task"] == "regression" and ready["network"]["loss"] == "mse"
    assert frame["boundary"]["kind"] == "regression"


def test_uploads_past_the_limit_or_not_csv_are_refused():
    with client(max_upload_bytes=100) as test_client:
        with test_client.websocket_connect("/ws") as ws:
            session = receive(ws, "hello")["session"]
            url = f"/api/sessions/{session}/upload?filename=big.csv"
            big = test_client.post(url, content="a,b\n" + "1,2\n" * 50)
            assert big.status_code == 413
            assert "--max-upload-bytes" in big.json()["detail"]
            binary = test_client.post(url, content=b"\xff\xfe\x00a,b")
            assert "not UTF-8 text" in binary.json()["detail"]
            one_column = test_client.post(url, content="a\n1\n")
            assert "name the columns" in one_column.json()["detail"]
        missing = test_client.post("/api/sessions/nobody/upload", content="a,b\n1,2\n")
        assert (
            missing.status_code == 404 and "reload the page" in missing.json()["detail"]
        )


def test_clicked_points_and_projected_data_build(app_client):
    points = [[0.1, 0.2, 0], [0.5, 0.1, 0], [-0.3, 0.8, 1], [-0.7, 0.4, 1], [0, 0, 2]]
    with app_client.websocket_connect("/ws") as ws:
        ready, frame = start(ws, {"dataset": "custom", "points": points, "hidden": [3]})
        assert ready["data"]["class_names"] == ["0", "1", "2"]
        assert frame["boundary"]["kind"] == "multiclass"
        ready, _ = start(ws, {"dataset": "iris", "hidden": [4]})
        assert ready["data"]["projected"] and ready["data"]["axes"][0].startswith("PC1")
        assert ready["network"]["widths"] == [4, 4, 3]


def test_a_race_trains_each_rate_from_the_same_weights(app_client):
    with app_client.websocket_connect("/ws") as ws:
        start(ws, {"dataset": "xor", "init": "normal", "epochs": 300})
        ws.send_json({"type": "race", "rates": [0.1, 1.0, 80.0]})
        race = receive(ws, "race")
    assert [run["label"] for run in race["runs"]] == ["lr=0.1", "lr=1", "lr=80"]
    slow, fast, huge = race["runs"]
    assert slow["loss"][0] == pytest.approx(fast["loss"][0], abs=1e-6)  # same start
    assert fast["final_loss"] < slow["final_loss"]
    assert huge["diverged"] and not slow["diverged"]


def race_with_progress(ws, race: dict[str, Any]) -> tuple[list[dict], dict]:
    """Send a race; (the race-run messages in arrival order, the final answer)."""
    ws.send_json({"type": "race", **race})
    progress = []
    while True:
        message = ws.receive_json()
        assert message["type"] != "error", message["message"]
        if message["type"] == "race-run":
            progress.append(message)
        elif message["type"] == "race":
            return progress, message


def test_a_race_of_optimizers_posts_each_run_as_it_finishes(app_client):
    """Optimizers race from the same first weights (equal first losses), each at
    its default rate; each run reaches the page before the race ends, equal to
    its row of the final answer, which run_sweep computed."""
    from deepgrad.sweep import run_sweep

    with app_client.websocket_connect("/ws") as ws:
        start(ws, {"dataset": "xor", "init": "normal", "epochs": 300, "momentum": 0.9})
        progress, race = race_with_progress(
            ws, {"option": "optimizer", "values": ["sgd", "adam", "rmsprop"]}
        )
    labels = ["optimizer=sgd", "optimizer=adam", "optimizer=rmsprop"]
    assert [run["label"] for run in race["runs"]] == labels
    assert [(m["index"], m["of"]) for m in progress] == [(0, 3), (1, 3), (2, 3)]
    for message, row in zip(progress, race["runs"], strict=True):
        assert message["loss"] == row["loss"]
    first = {run["loss"][0] for run in race["runs"]}
    assert max(first) - min(first) < 1e-6  # same initial weights
    assert "default learning rate" in race["note"]
    expected = run_sweep(
        {"data": "xor", "init": "normal", "epochs": 300, "loss": "bce"},
        {"optimizer": ["adam"]},
        n_jobs=1,
        seed=42,
    )[0]
    np.testing.assert_allclose(race["runs"][1]["loss"], expected["loss"], rtol=1e-6)


def test_a_race_of_batch_sizes_takes_more_steps_for_smaller_batches(app_client):
    """Per-sample SGD (batch 1) takes 4 steps an epoch on xor and gets ahead of
    full-batch SGD at the same rate after the same number of epochs."""
    with app_client.websocket_connect("/ws") as ws:
        start(ws, {"dataset": "xor", "init": "normal", "epochs": 400, "lr": 0.5})
        _, race = race_with_progress(
            ws, {"option": "batch_size", "values": [1, "full"]}
        )
    one, full = race["runs"]
    assert [one["label"], full["label"]] == ["batch_size=1", "batch_size=full"]
    assert one["final_loss"] < full["final_loss"]


def test_inspecting_a_network_with_dropout_says_why_not(app_client):
    with app_client.websocket_connect("/ws") as ws:
        start(ws, {"dataset": "xor", "dropout": 0.2})
        ws.send_json({"type": "inspect", "layer": 1, "unit": 0})
        assert "the inspector follows Linear layers and activations" in error_of(ws)


def test_the_outbox_coalesces_frames_but_never_across_another_message():
    from deepgrad.playground.sessions import Outbox

    def frame(epochs: list[int]) -> dict[str, Any]:
        return {"type": "frame", "history": {"epoch": epochs}, "log": [f"{epochs}"]}

    async def sent() -> list[dict[str, Any]]:
        outbox = Outbox(asyncio.get_running_loop())
        for message in (frame([1]), frame([2, 3]), {"type": "ready"}, frame([1])):
            outbox.post(message)
        await asyncio.sleep(0)  # post() hands each message to the loop
        return [await outbox.next() for _ in range(3)]

    first, ready, second = asyncio.run(sent())
    assert first["history"]["epoch"] == [1, 2, 3] and first["log"] == ["[1]", "[2, 3]"]
    assert ready == {"type": "ready"}
    assert second["history"]["epoch"] == [1]


def test_dropout_runs_in_two_tabs_at_once_each_give_their_copied_codes_curve(
    app_client, tmp_path, monkeypatch
):
    """Dropout draws its masks from the process-wide generator; each tab trains
    with its own stream in its turns, so two tabs training at once each get the
    loss curve of their copied code run alone."""
    import threading

    configs = [
        {**MOONS, "dropout": 0.2, "epochs": 40, "seed": 1},
        {**MOONS, "dropout": 0.3, "epochs": 40, "seed": 2, "hidden": [6]},
    ]
    results: list[Any] = [None, None]

    def tab(index: int) -> None:
        with app_client.websocket_connect("/ws") as ws:
            receive(ws, "hello")
            start(ws, configs[index])
            history, _ = train_to_the_end(ws)
            ws.send_json({"type": "code"})
            results[index] = (history["loss"], receive(ws, "code"))

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    monkeypatch.chdir(tmp_path)
    for index, (page_loss, code) in enumerate(results):
        script = tmp_path / f"tab{index}.py"
        script.write_text(code["python"])
        copied = copied_losses(script)
        np.testing.assert_allclose(copied, page_loss, atol=1e-6, err_msg=f"tab {index}")


def test_a_regression_csvs_copied_python_and_command_give_the_pages_curve(
    app_client, tmp_path, monkeypatch
):
    """A regression learns standardised targets on the page, as deepgrad train
    does: the copied Python (target_standardizer) and the copied command on the
    uploaded file both give the page's loss curve."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, size=(80, 2))
    y = 3 * X[:, 0] - X[:, 1] ** 2 + 20 + rng.normal(scale=0.3, size=80)
    text = "a,b,price\n" + "\n".join(
        f"{a:.5f},{b:.5f},{t:.5f}" for (a, b), t in zip(X, y, strict=True)
    )
    with app_client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        app_client.post(
            f"/api/sessions/{session}/upload?filename=prices.csv", content=text
        )
        start(ws, {"dataset": "csv", "hidden": [6], "activation": "tanh",
                   "optimizer": "adam", "lr": 0.01, "batch_size": 16,
                   "epochs": 30, "test_ratio": 0.25})  # fmt: skip
        history, _ = train_to_the_end(ws)
        ws.send_json({"type": "code"})
        code = receive(ws, "code")
    assert history["loss"][0] < 2  # standardised targets: the first loss is ~1, not ~40
    assert "target_standardizer=Standardizer()" in code["python"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prices.csv").write_text(text + "\n")  # the user's own file
    script = tmp_path / "run.py"
    script.write_text(code["python"])
    copied = copied_losses(script)
    np.testing.assert_allclose(copied, history["loss"], atol=1e-6)
    words = shlex.split(code["command"])
    result = run(*words[1:], "--verbose", "0")
    assert result.exit_code == 0, result.output
    command_loss = load_checkpoint("model.dg").training_state["history"]["history"][
        "loss"
    ]
    np.testing.assert_allclose(command_loss, history["loss"], atol=1e-6)
