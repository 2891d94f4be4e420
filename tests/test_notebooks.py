"""The example notebooks run headless from top to bottom and show what they promise.

Every notebook in examples/ is executed once per test session, all of them at the
same time (one kernel each), in a temporary working directory. The kernel is
ipykernel's built-in ``python3`` spec, which starts the interpreter running these
tests, whatever kernel specs the machine has installed.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(path.stem for path in EXAMPLES.glob("*.ipynb"))
CELL_TIMEOUT_S = 120


def _kernel_specs() -> KernelSpecManager:
    # no kernel directories: only ipykernel's own spec, which runs sys.executable
    return KernelSpecManager(kernel_dirs=[])


async def _execute(path: Path, cwd: Path) -> Any:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        km=AsyncKernelManager(
            kernel_name="python3", kernel_spec_manager=_kernel_specs()
        ),
        timeout=CELL_TIMEOUT_S,
        coalesce_streams=True,  # one stdout output per cell, as the saved notebooks
        resources={"metadata": {"path": str(cwd)}},
    )
    await client.async_execute()
    return notebook


async def _execute_all(folders: dict[str, Path]) -> dict[str, Any]:
    results = await asyncio.gather(
        *(_execute(EXAMPLES / f"{name}.ipynb", cwd) for name, cwd in folders.items()),
        return_exceptions=True,
    )
    return dict(zip(folders, results, strict=True))


class Runs(NamedTuple):
    notebooks: dict[str, Any]  # name -> the executed notebook, or what it raised
    folders: dict[str, Path]  # name -> its working directory


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    folders = {name: tmp_path_factory.mktemp(name) for name in NOTEBOOKS}
    return Runs(asyncio.run(_execute_all(folders)), folders)


def _notebook(executed: Runs, name: str) -> Any:
    result = executed.notebooks[name]
    if isinstance(result, BaseException):
        raise result
    return result


def _code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _outputs(notebook: Any, output_type: str | None = None) -> list[Any]:
    return [
        output
        for cell in _code_cells(notebook)
        for output in cell.outputs
        if output_type is None or output.output_type == output_type
    ]


def _stdout(notebook: Any) -> str:
    return "".join(
        output.text
        for output in _outputs(notebook, "stream")
        if output.name == "stdout"
    )


def _cell_stdout(notebook: Any, source_start: str) -> str:
    cells = [
        cell for cell in _code_cells(notebook) if cell.source.startswith(source_start)
    ]
    assert len(cells) == 1, f"expected one code cell starting {source_start!r}"
    return "".join(
        output.text
        for output in cells[0].outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def _images(notebook: Any) -> list[Any]:
    return [
        output
        for output in _outputs(notebook)
        if output.output_type in ("display_data", "execute_result")
        and "image/png" in output.data
    ]


def test_every_example_notebook_is_collected():
    assert set(NOTEBOOKS) >= {
        "digits",
        "lab_xor",
        "learning_rate",
        "vanishing_gradients",
    }


def test_notebook_kernel_is_the_python_running_the_tests():
    spec = _kernel_specs().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable
    assert spec.argv[1:3] == ["-m", "ipykernel_launcher"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_headless_without_errors_or_warnings(executed, name):
    notebook = _notebook(executed, name)
    assert not _outputs(notebook, "error")
    stderr = [
        output.text
        for output in _outputs(notebook, "stream")
        if output.name == "stderr"
    ]
    assert not stderr, f"{name} wrote to stderr: {stderr}"
    assert _images(notebook), f"{name} shows no figure"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_writes_no_files_into_its_working_directory(executed, name):
    _notebook(executed, name)
    assert list(executed.folders[name].iterdir()) == []


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_saved_with_the_outputs_of_a_full_run(executed, name):
    saved = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    code_cells = _code_cells(saved)
    counts = [cell.execution_count for cell in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), "run it top to bottom"
    fresh = _notebook(executed, name)
    assert len(_images(saved)) == len(_images(fresh)), "save it with its figures"
    for saved_cell, fresh_cell in zip(code_cells, _code_cells(fresh), strict=True):
        kinds = [output.output_type for output in saved_cell.outputs]
        assert kinds == [output.output_type for output in fresh_cell.outputs], (
            f"cell {saved_cell.source[:40]!r}: its saved outputs are out of date"
        )


def test_lab_xor_notebook_prints_the_lab_log_and_predicts_xor(executed):
    notebook = _notebook(executed, "lab_xor")
    log = _cell_stdout(notebook, "loss_history = []")
    epochs = re.findall(r"^Epoch (\d+) - Loss: (\d+\.\d{4})$", log, re.MULTILINE)
    assert [int(epoch) for epoch, _ in epochs] == list(range(0, 5000, 500))
    assert "Epoch 4500 - Loss:" in log
    losses = [float(loss) for _, loss in epochs]
    assert losses[-1] < losses[0] / 10
    predictions = _cell_stdout(notebook, "z1 = X @ W1 + b1")
    predicted = predictions.split("Predictions:")[1].split("Ground Truth:")[0]
    assert re.findall(r"\[(\d)\.\]", predicted) == ["0", "1", "1", "0"]


def test_lab_xor_notebook_fit_matches_the_hand_written_loop(executed):
    notebook = _notebook(executed, "lab_xor")
    difference = re.search(
        r"Largest difference from the hand-written loop's losses: (\S+)",
        _stdout(notebook),
    )
    assert difference is not None
    assert float(difference.group(1)) < 1e-4
    assert "Epoch 5000/5000 - loss:" in _stdout(notebook)


def test_lab_xor_notebook_traces_backprop_that_passes_its_checks(executed):
    stdout = _stdout(_notebook(executed, "lab_xor"))
    assert "gradient check passed: True" in stdout
    norms = re.findall(r"layer (\d): \|\|dL/dW\d\|\| = (\d+\.\d+)", stdout)
    assert [layer for layer, _ in norms] == ["3", "2", "1"]
    values = [float(norm) for _, norm in norms]
    assert values == sorted(values, reverse=True), "the error shrinks going back"


def test_lab_xor_saved_log_matches_a_fresh_run(executed):
    saved = nbformat.read(EXAMPLES / "lab_xor.ipynb", as_version=4)
    fresh = _notebook(executed, "lab_xor")
    assert _cell_stdout(saved, "loss_history = []") == _cell_stdout(
        fresh, "loss_history = []"
    )


def _table_rows(text: str, prefix: str) -> dict[str, list[str]]:
    return {
        line.split()[0]: line.split()[1:]
        for line in text.splitlines()
        if line.startswith(prefix)
    }


def test_learning_rate_notebook_reports_speed_and_divergence(executed):
    notebook = _notebook(executed, "learning_rate")
    table = _cell_stdout(notebook, "def print_table")
    assert "epochs to loss < 0.1" in table and "diverged" in table
    rows = _table_rows(table, "lr=")
    assert list(rows) == [
        "lr=0.01",
        "lr=0.1",
        "lr=0.5",
        "lr=1",
        "lr=2",
        "lr=5",
        "lr=20",
    ]
    assert rows["lr=20"][-1] == "yes"
    assert all(rows[rate][-1] == "no" for rate in ("lr=0.5", "lr=1", "lr=2"))
    reached = [int(rows[rate][2]) for rate in ("lr=0.5", "lr=1", "lr=2")]
    assert reached == sorted(reached, reverse=True), "a larger rate converges sooner"
    assert rows["lr=0.01"][2] == "never"


def test_learning_rate_notebook_compares_batch_sizes(executed):
    notebook = _notebook(executed, "learning_rate")
    rows = _table_rows(_stdout(notebook), "batch_size=")
    assert list(rows) == ["batch_size=1", "batch_size=2", "batch_size=4"]
    assert all(row[-1] == "no" for row in rows.values())
    assert len(_images(notebook)) == 2


def test_vanishing_gradients_notebook_shows_sigmoid_vanish_and_relu_not(executed):
    stdout = _stdout(_notebook(executed, "vanishing_gradients"))
    ratios = dict(
        re.findall(
            r"^(sigmoid|relu \+ He): \|\|dL/dW1\|\| / \|\|dL/dW10\|\| = (\S+)$",
            stdout,
            re.MULTILINE,
        )
    )
    assert float(ratios["sigmoid"]) < 1e-4
    assert float(ratios["relu + He"]) > 1e-1
    accuracy = dict(re.findall(r"(sigmoid|relu \+ He): loss .* accuracy (\S+)", stdout))
    assert float(accuracy["relu + He"]) > 0.9 > float(accuracy["sigmoid"])


def test_digits_notebook_reaches_a_test_accuracy_above_90_percent(executed):
    notebook = _notebook(executed, "digits")
    accuracy = re.search(r"Test accuracy: (\d\.\d+)", _stdout(notebook))
    assert accuracy is not None
    assert float(accuracy.group(1)) > 0.9
    report = _cell_stdout(notebook, "result = classifier.evaluate")
    rows = re.findall(r"^\s+\d(?:\s+\d\.\d{3}){3}\s+\d+$", report, re.MULTILINE)
    assert len(rows) == 10, "one report row per digit"
    assert re.search(r"\d+ of \d+ test images misclassified", _stdout(notebook))
