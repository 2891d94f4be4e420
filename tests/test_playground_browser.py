"""The playground in a real headless browser: Playwright driving Debian's chromium
against `deepgrad serve` on a free 127.0.0.1 port.

The page is driven through its ``data-testid`` hooks only. Screenshots of the main
views are saved (see SHOTS; docs/playground/ holds the README's). Skipped, with the reason,
where no chromium binary exists (`apt-get install -y chromium`; .ci/run does it).
"""

from __future__ import annotations

import os
import runpy
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary (apt-get install -y chromium): the browser tests "
    "drive Debian's chromium, Playwright's own download does not work here",
)
pytest.importorskip("playwright")
pytest.importorskip("fastapi")

import deepgrad as dg  # noqa: E402
from deepgrad import explain  # noqa: E402
from test_playground_server import NETWORK, playground_server  # noqa: E402, F401

# Screenshots go to a temporary folder; DEEPGRAD_SCREENSHOTS=docs/playground
# python -m pytest tests/test_playground_browser.py refreshes the README's.
SHOTS = Path(
    os.environ.get("DEEPGRAD_SCREENSHOTS")
    or tempfile.mkdtemp(prefix="deepgrad-playground-shots-")
)
MOONS_500 = {**NETWORK, "hidden": "8,8"}  # 2-8-8-1 on 500 points, as the URL holds it


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser, playground_server):  # noqa: F811 - the imported fixture
    context = browser.new_context(viewport={"width": 1400, "height": 980})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.base_url = playground_server  # type: ignore[attr-defined]
    yield opened
    context.close()
    assert errors == [], errors  # no script error on the page


def open_page(page, config: dict[str, Any] | None = None) -> None:
    query = f"?{urlencode(config)}" if config else ""
    page.goto(page.base_url + "/" + query)
    page.wait_for_function("() => window.playground.frame !== null")


def by_testid(page, name: str):
    return page.locator(f"[data-testid={name}]")


def number(page, name: str) -> float:
    return float(by_testid(page, name).text_content())


def boundary_pixels(page) -> str:
    return page.evaluate(
        "() => document.querySelector('[data-testid=boundary]').toDataURL()"
    )


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def play_until(page, condition: str, timeout: float = 60_000) -> None:
    by_testid(page, "play").click()
    page.wait_for_function(condition, timeout=timeout)
    by_testid(page, "pause").click()


def test_xor_trains_below_0_1_and_the_boundary_changes(page):
    open_page(page)
    by_testid(page, "dataset").select_option("moons")
    page.wait_for_function("() => window.playground.data.name === 'moons'")
    by_testid(page, "dataset").select_option("xor")
    page.wait_for_function("() => window.playground.data.name === 'xor'")
    before = boundary_pixels(page)
    play_until(
        page,
        "() => Number(document.querySelector('[data-testid=train-loss]')"
        ".textContent || 1) < 0.1",
    )
    assert number(page, "train-loss") < 0.1
    assert number(page, "epoch") > 0
    assert boundary_pixels(page) != before
    # PyTorch's lab notebook prints the same (tests/test_lab_xor.py)
    assert "Epoch 500/5000 - loss: 0.6869" in page.locator("#lab-log").text_content()
    shoot(page, "xor.png")


def test_frame_rate_of_a_2_8_8_1_network_on_500_points(page, record_property):
    open_page(page, MOONS_500)
    by_testid(page, "play").click()
    page.wait_for_timeout(1000)
    first = page.evaluate("() => window.playground.framesDrawn")
    page.wait_for_timeout(3000)
    frames = page.evaluate("() => window.playground.framesDrawn") - first
    by_testid(page, "pause").click()
    fps = frames / 3
    record_property("frames_per_second", fps)
    print(f"\n2-8-8-1 on 500 points: {fps:.1f} frames per second drawn in chromium")
    assert fps >= 5  # a sane floor; docs/performance.md records the measured figure
    shoot(page, "moons.png")


def test_spirals_train_and_the_neurons_show_their_maps(page):
    open_page(page, {"dataset": "spirals", "noise": 0.05, "hidden": "8,8,8",
                     "activation": "tanh", "optimizer": "adam", "lr": 0.03,
                     "batch_size": 32, "test_ratio": 0.2, "epochs": 400})  # fmt: skip
    play_until(page, "() => window.playground.frame?.state === 'finished'")
    assert page.locator(".neuron").count() == 2 + 8 + 8 + 8 + 1
    # 160 training points: it fits them; the 40 test points it can only approach
    assert number(page, "train-loss") < 0.3
    first_test_loss = page.evaluate("() => window.playground.history.val_loss[0]")
    assert number(page, "test-loss") < first_test_loss
    shoot(page, "spirals.png")


def test_a_csv_upload_trains_and_a_bad_one_names_the_column_and_line(page, tmp_path):
    open_page(page)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    rows = [f"{a:.4f},{b:.4f},{'big' if a + b > 0 else 'small'}" for a, b in X]
    good = tmp_path / "sizes.csv"
    good.write_text("width,height,size\n" + "\n".join(rows) + "\n")
    by_testid(page, "csv-upload").set_input_files(str(good))
    page.wait_for_function("() => window.playground.data.name === 'sizes'")
    assert page.evaluate("() => window.playground.data.class_names") == ["big", "small"]
    assert "size" in page.locator("#target").input_value()
    assert by_testid(page, "error").is_hidden()

    bad = tmp_path / "broken.csv"
    bad.write_text("width,height,size\n1.0,2.0,big\n3.0,oops,small\n")
    by_testid(page, "csv-upload").set_input_files(str(bad))
    by_testid(page, "error").wait_for(state="visible")
    message = by_testid(page, "error").text_content()
    assert "height" in message and "line 3" in message and "oops" in message
    shoot(page, "csv-error.png")


def test_adding_a_layer_rebuilds_the_network(page):
    open_page(page)
    assert page.evaluate("() => window.playground.network.widths") == [2, 4, 4, 1]
    by_testid(page, "add-layer").click()
    page.wait_for_function("() => window.playground.network.widths.length === 5")
    assert page.evaluate("() => window.playground.network.widths") == [2, 4, 4, 4, 1]
    assert page.locator(".neuron").count() == 2 + 4 + 4 + 4 + 1
    assert "hidden=4%2C4%2C4" in page.url or "hidden=4,4,4" in page.url


def test_the_inspector_shows_explains_dl_dw_for_the_same_weights(page, tmp_path):
    open_page(page, {"dataset": "xor", "init": "normal", "epochs": 5000})
    for epoch in (1, 2, 3):
        by_testid(page, "step").click()
        page.wait_for_function("n => window.playground.frame.epoch === n", arg=epoch)
    page.locator('.neuron[data-layer="2"][data-unit="1"]').click()
    inspector = by_testid(page, "inspector")
    inspector.wait_for(state="visible")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=inspector]').dataset.dw"
    )
    shown = page.evaluate(
        "() => JSON.parse(document.querySelector('[data-testid=inspector]').dataset.dw)"
    )
    assert "dL/dW2[1, :]" in inspector.text_content()
    assert "(dL/dZ2)^T · A1" in inspector.text_content()

    session = page.evaluate("() => window.playground.session")
    model = page.request.get(f"{page.base_url}/api/sessions/{session}/model")
    path = tmp_path / "model.dg"
    path.write_bytes(model.body())
    classifier = dg.load(path)
    dataset = dg.data.load_dataset("xor")
    trace = explain.trace(classifier.model, dataset.X, dataset.y, classifier.loss_fn)
    np.testing.assert_allclose(shown, trace.layers[1].dW[1], rtol=1e-6)
    shoot(page, "inspector.png")


def test_a_shared_url_gives_the_same_configuration(page, browser):
    open_page(page)
    by_testid(page, "dataset").select_option("circles")
    page.wait_for_function("() => window.playground.data.name === 'circles'")
    by_testid(page, "lr").fill("0.5")
    by_testid(page, "lr").press("Enter")
    page.locator("#activation").select_option("tanh")
    by_testid(page, "add-layer").click()
    page.wait_for_function("() => window.playground.network.widths.length === 5")
    config = page.evaluate("() => window.playground.config")
    shared = page.url

    other = browser.new_page()
    other.goto(shared)
    other.wait_for_function("() => window.playground.frame !== null")
    assert other.evaluate("() => window.playground.config") == config
    assert other.locator("[data-testid=lr]").input_value() == "0.5"
    assert other.evaluate("() => window.playground.network.widths") == [2, 4, 4, 4, 1]
    assert other.evaluate("() => window.playground.data.name") == "circles"
    other.close()


def test_the_copied_python_gives_the_pages_loss_curve(page, tmp_path, monkeypatch):
    open_page(page, {"dataset": "moons", "samples": 200, "hidden": "8",
                     "activation": "relu", "test_ratio": 0.25, "epochs": 150})  # fmt: skip
    play_until(page, "() => window.playground.frame?.state === 'finished'")
    by_testid(page, "copy-code").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=code-text]').textContent"
    )
    code = by_testid(page, "code-text").text_content()
    page_loss = page.evaluate("() => window.playground.history.loss")
    assert len(page_loss) == 150
    monkeypatch.chdir(tmp_path)
    (tmp_path / "copied.py").write_text(code)
    copied = runpy.run_path(str(tmp_path / "copied.py"))["history"].history["loss"]
    np.testing.assert_allclose(copied, page_loss, atol=1e-6)
    # moons at the command line's defaults: the command names it
    assert (
        by_testid(page, "code-command")
        .text_content()
        .startswith("deepgrad train moons --hidden 8 --activation relu")
    )


def test_clicked_points_train(page):
    """Clicked points: until there are points of 2 classes, the dataset field is
    marked as refused and the xor run in use goes on (its epoch count stays);
    6 points then build a run of those 6, with no error and no mark left."""
    open_page(page)
    by_testid(page, "dataset").select_option("custom")
    by_testid(page, "refused-dataset").wait_for(state="visible")
    by_testid(page, "step").click()
    page.wait_for_function("() => window.playground.frame.epoch === 1")
    canvas = by_testid(page, "boundary")
    for x, y in ((60, 60), (120, 80), (80, 140)):
        canvas.click(position={"x": x, "y": y})
    # 3 points of one class are not a dataset yet: the dataset is marked as
    # refused, and the run in use (xor) is not restarted by each click
    page.wait_for_function(
        "() => document.querySelector('[data-testid=refused-dataset]')"
        "?.textContent.includes('click at least 4 points (2 classes), received: 3')"
    )
    assert "the run uses xor" in by_testid(page, "refused-dataset").text_content()
    assert page.evaluate("() => window.playground.data.name") == "xor"
    assert page.evaluate("() => window.playground.frame.epoch") == 1
    for x, y in ((320, 320), (280, 340), (340, 260)):
        canvas.click(position={"x": x, "y": y}, button="right")
    # each click sends a config, and 4 points of 2 classes already build a run:
    # wait for the run of all 6 (a run of 4 or 5 may come first)
    page.wait_for_function(
        "() => window.playground.data?.name === 'points'"
        " && window.playground.data.points.length === 6"
    )
    assert len(page.evaluate("() => window.playground.inUse.points")) == 6
    assert by_testid(page, "error").is_hidden()
    assert page.locator(".refused").count() == 0


def test_racing_learning_rates_marks_the_divergent_one(page):
    open_page(page, {"dataset": "xor", "init": "normal", "epochs": 2000})
    page.locator("#race-panel summary").click()
    by_testid(page, "race-values").fill("0.1,1,5,80")
    by_testid(page, "race").click()
    page.wait_for_function(
        "() => document.querySelector('#race-legend').textContent.includes('epochs each')"
    )
    legend = page.locator("#race-legend").text_content()
    assert "lr=80: diverged" in legend and "lr=5: loss" in legend
    shoot(page, "race.png")


def test_racing_optimizers_draws_each_run_as_it_finishes(page):
    """The legend grows run by run ('still training') before the race ends;
    each optimizer then has its final loss and the note says how they were set."""
    open_page(page, {"dataset": "xor", "init": "normal", "epochs": 2000})
    page.locator("#race-panel summary").click()
    by_testid(page, "race-option").select_option("optimizer")
    assert by_testid(page, "race-values").input_value() == "sgd,adam,rmsprop,adagrad"
    page.evaluate(
        """() => { window.legends = [];
        new MutationObserver(() => window.legends.push(
          document.querySelector('#race-legend').textContent))
        .observe(document.querySelector('#race-legend'),
                 {childList: true, characterData: true, subtree: true}); }"""
    )
    by_testid(page, "race").click()
    page.wait_for_function(
        "() => document.querySelector('#race-legend').textContent.includes('epochs each')"
    )
    legends = page.evaluate("() => window.legends")
    assert any("3 still training" in text for text in legends)
    legend = page.locator("#race-legend").text_content()
    for name in ("sgd", "adam", "rmsprop", "adagrad"):
        assert f"optimizer={name}: loss" in legend
    assert "default learning rate" in legend
    shoot(page, "race-optimizers.png")


def test_clicking_a_weight_shows_its_gradient_as_explain_computes_it(page, tmp_path):
    """A click on the line from neuron 0 of layer 1 to neuron 1 of layer 2 opens
    W2[1, 0]: its dL/dW equals explain's for the session's weights, and the
    sum of its terms and the central difference agree with it."""
    open_page(page, {"dataset": "xor", "init": "normal", "epochs": 5000})
    for epoch in (1, 2):
        by_testid(page, "step").click()
        page.wait_for_function("n => window.playground.frame.epoch === n", arg=epoch)
    source, target = page.evaluate(
        "() => [window.playground.positions[1][0], window.playground.positions[2][1]]"
    )
    # a quarter of the way along: the middle is where W2[0, 1] crosses it
    x = source["x"] + source["size"] + (target["x"] - source["x"] - source["size"]) / 4
    y = source["y"] + source["size"] / 2 + (target["y"] - source["y"]) / 4
    by_testid(page, "network-lines").click(position={"x": x, "y": y})
    detail = by_testid(page, "weight-detail")
    detail.wait_for(state="visible")
    assert "W2[1, 0]" in detail.text_content()
    assert "Σₙ dL/dZ2[n, 1] · A1[n, 0]" in detail.text_content()
    shown = float(by_testid(page, "weight-grad").text_content())

    session = page.evaluate("() => window.playground.session")
    model = page.request.get(f"{page.base_url}/api/sessions/{session}/model")
    path = tmp_path / "model.dg"
    path.write_bytes(model.body())
    classifier = dg.load(path)
    dataset = dg.data.load_dataset("xor")
    trace = explain.trace(classifier.model, dataset.X, dataset.y, classifier.loss_fn)
    assert shown == pytest.approx(float(trace.layers[1].dW[1, 0]), rel=1e-5)
    shoot(page, "inspector-weight.png")


def test_iris_trains_as_three_classes_drawn_on_its_principal_components(page):
    """A multiclass set through a 2-D projection: 4 inputs, 3 outputs, the
    plane labelled PC1/PC2, the loss falls and the log's title names it."""
    open_page(page, {"dataset": "iris", "hidden": "8", "activation": "relu",
                     "optimizer": "adam", "lr": 0.02, "batch_size": 16,
                     "test_ratio": 0.3, "epochs": 100})  # fmt: skip
    assert page.evaluate("() => window.playground.network.widths") == [4, 8, 3]
    assert page.evaluate("() => window.playground.data.axes[0]").startswith("PC1")
    assert "iris" in by_testid(page, "log-title").text_content()
    play_until(page, "() => window.playground.frame?.state === 'finished'")
    assert number(page, "test-loss") < 0.3
    assert float(page.locator("#accuracy").text_content()) > 0.9
    shoot(page, "iris.png")


def test_a_regression_csv_trains_to_its_noise_floor(page, tmp_path):
    """A numeric target with many values is a regression: one output, no
    accuracy, and the test loss (the MSE of standardised targets, as deepgrad
    train learns them) falls from about 1 to within 1.5x of the noise's share
    of the target's variance."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, size=(300, 2))
    y = 3 * X[:, 0] - 2 * X[:, 1] + rng.normal(scale=0.5, size=300)
    rows = [f"{a:.4f},{b:.4f},{t:.4f}" for (a, b), t in zip(X, y, strict=True)]
    path = tmp_path / "prices.csv"
    path.write_text("size,age,price\n" + "\n".join(rows) + "\n")
    open_page(page)
    by_testid(page, "csv-upload").set_input_files(str(path))
    page.wait_for_function("() => window.playground.data.name === 'prices'")
    assert page.evaluate("() => window.playground.data.task") == "regression"
    assert page.evaluate("() => window.playground.network.widths")[-1] == 1
    page.locator("#activation").select_option("tanh")
    page.locator("#optimizer").select_option("adam")
    for field, value in (
        ("batch_size", "32"),
        ("test_ratio", "0.2"),
        ("epochs", "200"),
    ):
        page.locator(f"#{field}").fill(value)
        page.locator(f"#{field}").press("Enter")
    page.wait_for_function("() => window.playground.config.epochs === 200")
    play_until(page, "() => window.playground.frame?.state === 'finished'")
    first = page.evaluate("() => window.playground.history.val_loss[0]")
    noise_share = 0.25 / np.var(y)  # noise variance 0.25 over the target's
    assert first > 0.5 and number(page, "test-loss") < 1.5 * noise_share
    assert page.locator("#accuracy").text_content() == ""
    shoot(page, "regression.png")


def test_the_page_fits_a_1024_pixel_window_without_overlaps(page):
    """At 1024 px the output panel moves under the others: no field of the
    network form lies over the loss chart, and nothing scrolls sideways."""
    page.set_viewport_size({"width": 1024, "height": 900})
    open_page(page)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1024
    form = page.locator(".grid-form").bounding_box()
    chart = by_testid(page, "loss-chart").bounding_box()
    assert (
        form["y"] + form["height"] <= chart["y"]
        or chart["x"] >= form["x"] + form["width"]
    )
    shoot(page, "narrow-1024.png")


def test_a_csv_of_another_task_after_the_lab_trains_with_its_own_loss(page, tmp_path):
    """The lab's preset sets BCE; uploading a regression CSV (of one feature,
    drawn across the plane) afterwards lets the loss follow the data (mse)
    instead of refusing it."""
    open_page(page)
    by_testid(page, "preset-lab").click()
    page.wait_for_function("() => window.playground.config.loss === 'bce'")
    rng = np.random.default_rng(2)
    rows = [f"{a:.3f},{3 * a + rng.normal():.3f}" for a in rng.uniform(-1, 1, 60)]
    path = tmp_path / "lengths.csv"
    path.write_text("x,length\n" + "\n".join(rows) + "\n")
    by_testid(page, "csv-upload").set_input_files(str(path))
    page.wait_for_function("() => window.playground.data?.name === 'lengths'")
    assert page.evaluate("() => window.playground.network.loss") == "mse"
    assert by_testid(page, "error").is_hidden()


def test_a_refused_field_leaves_the_other_changes_applied(page, tmp_path):
    """Epochs above the server's limit (20,000) are refused on their own: the
    field is marked with the server's line, which names the limit and the value
    the run uses; '+ layer' afterwards is applied all the same (the network the
    server built and saved has the added layer) and so is a new activation;
    once the epochs are fixed, they apply and the marks go."""
    open_page(page)
    epochs = page.locator("#epochs")
    epochs.fill("50000")
    epochs.press("Enter")
    refusal = by_testid(page, "refused-epochs")
    refusal.wait_for(state="visible")
    assert "from 1 to 20000, received: 50000" in refusal.text_content()
    assert "the run uses 5000" in refusal.text_content()
    assert epochs.get_attribute("aria-invalid") == "true"
    assert "epochs" in by_testid(page, "error").text_content()

    by_testid(page, "add-layer").click()
    page.wait_for_function("() => window.playground.network.widths.length === 5")
    page.locator("#activation").select_option("tanh")
    page.wait_for_function("() => window.playground.inUse.activation === 'tanh'")
    refusal.wait_for(state="visible")  # still refused, still marked
    assert page.evaluate("() => window.playground.network.widths") == [2, 4, 4, 4, 1]
    assert page.locator(".neuron").count() == 2 + 4 + 4 + 4 + 1
    by_testid(page, "step").click()
    page.wait_for_function("() => window.playground.frame.epoch === 1")
    assert page.evaluate("() => window.playground.frame.epochs") == 5000
    shoot(page, "refused-field.png")
    session = page.evaluate("() => window.playground.session")
    model = page.request.get(f"{page.base_url}/api/sessions/{session}/model")
    path = tmp_path / "model.dg"
    path.write_bytes(model.body())
    trained = dg.load(path).model
    linear = [m for m in trained.children() if isinstance(m, dg.nn.Linear)]
    assert [m.out_features for m in linear] == [4, 4, 4, 1]
    assert any(isinstance(m, dg.nn.Tanh) for m in trained.children())

    epochs.fill("300")
    epochs.press("Enter")
    page.wait_for_function("() => window.playground.inUse.epochs === 300")
    by_testid(page, "error").wait_for(state="hidden")
    assert page.locator(".refused, .refusal, [aria-invalid]").count() == 0
    assert page.evaluate("() => window.playground.network.widths") == [2, 4, 4, 4, 1]
    assert page.evaluate("() => window.playground.inUse.activation") == "tanh"
    assert page.evaluate("() => window.playground.frame.epochs") == 300


def test_copy_as_code_opens_a_wide_box_and_copies_python_and_command_apart(page):
    """'Copy as code' opens a dialog at least 500 px wide (the column held
    230 px), in a monospace font, the Python unwrapped and the command wrapped
    between its words only; 'Copy Python' puts
    exactly the Python into the clipboard and 'Copy command' exactly the
    `deepgrad train` command, as the server wrote them."""
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=page.base_url
    )
    open_page(page, {"dataset": "moons", "hidden": "8", "epochs": 50})
    by_testid(page, "copy-code").click()
    dialog = by_testid(page, "code-dialog")
    dialog.wait_for(state="visible")
    page.wait_for_function("() => window.playground.code !== null")
    code = page.evaluate("() => window.playground.code")
    python = by_testid(page, "code-text")
    box = python.bounding_box()
    assert box is not None and box["width"] >= 500
    style = python.evaluate(
        "node => [getComputedStyle(node).fontFamily, getComputedStyle(node).whiteSpace]"
    )
    assert "mono" in style[0].lower() and style[1] == "pre"
    assert python.text_content() == code["python"]
    assert by_testid(page, "code-command").text_content() == code["command"]
    assert code["command"].startswith("deepgrad train moons --hidden 8")
    # the command wraps between words only: no word (--batch-size...) is split
    assert page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=code-command] .word')]"
        ".every((word) => word.getClientRects().length === 1)"
    )

    by_testid(page, "copy-python").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=copy-status]').textContent"
    )
    assert "clipboard" in by_testid(page, "copy-status").text_content()
    assert page.evaluate("() => navigator.clipboard.readText()") == code["python"]
    by_testid(page, "copy-command").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=copy-status]')"
        ".textContent.startsWith('The command')"
    )
    assert page.evaluate("() => navigator.clipboard.readText()") == code["command"]
    shoot(page, "copy-as-code.png")
    by_testid(page, "code-close").click()
    dialog.wait_for(state="hidden")


def test_a_shared_url_with_a_refused_field_opens_with_the_rest_applied(page):
    """A URL written for a server with higher limits, plus an unknown key: the
    page opens with its network and dataset; the epochs are marked as refused,
    and the unknown key is dropped from the page's config and its URL, so it
    is not sent again."""
    open_page(page, {"dataset": "circles", "hidden": "8", "epochs": 50000,
                     "colour": "red"})  # fmt: skip
    by_testid(page, "refused-epochs").wait_for(state="visible")
    assert page.evaluate("() => window.playground.network.widths") == [2, 8, 1]
    assert page.evaluate("() => window.playground.inUse.dataset") == "circles"
    assert page.locator("#epochs").input_value() == "50000"
    assert "colour" in by_testid(page, "error").text_content()
    assert "colour" not in page.evaluate("() => window.playground.config")
    assert "colour" not in page.url and "epochs=50000" in page.url
