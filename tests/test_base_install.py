"""`pip install deepgrad` alone, in a fresh venv: the command line, model files, the
generated datasets and their splits work; a feature needing an extra says which in
one line and exits 2, never with a traceback.

The venv is made once for the module (about 10 s of CPU: pip builds deepgrad and
installs numpy, typer, rich and safetensors, from pip's cache after the first run)
from a copy of what a wheel is built from (pyproject.toml, README.md, src/), so the
build writes nothing into the checkout. `-m "not install"` leaves these tests out;
CI runs them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
from sklearn.datasets import make_moons

from cli_helpers import run

# the tests that need the venv; `-m "not install"` leaves them out
install = pytest.mark.install

ROOT = Path(__file__).resolve().parents[1]
# what the venv's commands see: no PYTHONPATH (it would put this checkout's src/ on
# the path instead of the installed package), no user site-packages
ENV = {
    **{
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    },
    "PYTHONNOUSERSITE": "1",
    "COLUMNS": "100",
}
EXTRA_LINES = {  # a feature of an extra -> the one line it prints
    "iris": "Error: the iris dataset comes with scikit-learn, which is not "
    "installed: pip install 'deepgrad[sklearn]'",
    "plot": "Error: --plot needs matplotlib, which is not installed: pip install "
    "'deepgrad[plot]'",
    "animate": "Error: --animate needs matplotlib, which is not installed: pip "
    "install 'deepgrad[plot]'",
    "serve": "Error: deepgrad serve needs FastAPI and uvicorn: pip install "
    "'deepgrad[serve]'",
}


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh venv holding `pip install deepgrad`, no extras."""
    work = tmp_path_factory.mktemp("base_install")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    # a venv without pip of its own (ensurepip would cost more than the install),
    # filled by this interpreter's pip; no .pyc compiled ahead for numpy and co.
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", work / "venv"], check=True
    )
    bin_dir = work / "venv" / ("Scripts" if os.name == "nt" else "bin")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", bin_dir / "python", "install",
         "--disable-pip-version-check", "--quiet", "--no-compile", str(source)],
        capture_output=True, text=True, env=ENV, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return bin_dir


@pytest.fixture
def deepgrad(venv_bin, tmp_path):
    """Run the venv's `deepgrad` command in tmp_path; its CompletedProcess."""

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [venv_bin / "deepgrad", *args],
            cwd=tmp_path, capture_output=True, text=True, env=ENV, timeout=300,
            check=False,
        )  # fmt: skip

    return command


def test_the_readme_says_what_each_install_gives():
    """The README's Installs table has one row for `pip install deepgrad` and one
    per extra a user installs, each naming every package that install adds (as
    pyproject.toml declares them); `cli` is said to add nothing, and adds nothing."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def packages(requirements: list[str]) -> list[str]:
        names = []
        for requirement in requirements:
            name, inner = re.match(r"([\w.-]+)(?:\[([\w,]+)\])?", requirement).groups()
            if name == "deepgrad":  # an extra that pulls in other extras
                names += [
                    p for extra in inner.split(",") for p in packages(extras[extra])
                ]
            else:
                names.append(name)
        return names

    section = (ROOT / "README.md").read_text().split("\n## Installs\n")[1]
    section = section.split("\n## ")[0]
    rows = dict(
        re.findall(r"^\| `pip install '?deepgrad(?:\[(\w+)\])?'?` \| (.+) \|$",
                   section, re.MULTILINE)
    )  # fmt: skip
    user_extras = set(extras) - {"test", "bench", "cli"}  # test/bench: developers'
    assert set(rows) == {"", *user_extras}
    for extra, row in rows.items():
        wanted = project["dependencies"] if extra == "" else extras[extra]
        for name in packages(wanted):
            assert name.lower() in row.lower(), (extra, name)
    assert extras["cli"] == []
    assert "`deepgrad[cli]` is still accepted and adds nothing" in section


def _epoch_lines(text: str) -> list[str]:
    """The log's epoch lines without their timings (`- 3ms`)."""
    return [
        re.sub(r" - \d+ms$", "", line)
        for line in text.splitlines()
        if line.startswith("Epoch ")
    ]


@install
def test_the_base_install_holds_the_core_dependencies_and_no_extra(venv_bin):
    """pip install deepgrad brings NumPy, typer, rich and safetensors, and none
    of scikit-learn, matplotlib, FastAPI, uvicorn or PyTorch: the tests below run
    without the extras."""
    packages = ["numpy", "typer", "rich", "safetensors", "deepgrad", "sklearn",
                "matplotlib", "fastapi", "uvicorn", "torch"]  # fmt: skip
    code = (
        "import importlib.util, json; "
        f"print(json.dumps([importlib.util.find_spec(n) is not None for n in {packages}]))"
    )
    found = subprocess.run(
        [venv_bin / "python", "-c", code], capture_output=True, text=True, env=ENV,
        cwd=venv_bin, check=True,
    )  # fmt: skip
    present = dict(zip(packages, json.loads(found.stdout), strict=True))
    assert [name for name, there in present.items() if there] == packages[:5]


@install
def test_help_lists_the_commands(deepgrad):
    """`deepgrad --help` starts (typer and rich are installed) and lists every
    command, with nothing on stderr."""
    result = deepgrad("--help")
    assert result.returncode == 0 and result.stderr == ""
    for command in ("train", "evaluate", "predict", "datasets", "gradcheck",
                    "explain", "sweep", "serve"):  # fmt: skip
        assert command in result.stdout


@install
@pytest.mark.parametrize("name", ["xor", "moons"])
def test_train_evaluate_predict_write_and_read_a_model_file(deepgrad, tmp_path, name):
    """train writes a model file (safetensors), evaluate scores it (accuracy and
    the confusion matrix, the NumPy metrics), predict writes one CSV row a sample."""
    val = [] if name == "xor" else ["--val", "0.2"]  # the split fit validates on
    trained = deepgrad("train", name, "--epochs", "5", *val, "--out", f"{name}.dg")
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.splitlines()[-1] == f"Saved model to {name}.dg"
    assert (tmp_path / f"{name}.dg").stat().st_size > 0

    evaluated = deepgrad("evaluate", f"{name}.dg", name)
    assert evaluated.returncode == 0, evaluated.stderr
    lines = evaluated.stdout.splitlines()
    assert any(re.fullmatch(r"accuracy: [01]\.\d{4}", line) for line in lines)
    assert "Confusion matrix (rows: true class, columns: predicted class)" in lines

    predicted = deepgrad("predict", f"{name}.dg", name)
    assert predicted.returncode == 0, predicted.stderr
    rows = predicted.stdout.splitlines()
    assert rows[0] == "prediction,probability_0,probability_1"
    assert len(rows) == 1 + (4 if name == "xor" else 200)


@install
def test_moons_trains_as_with_scikit_learn_installed(deepgrad):
    """The base install's moons and its validation split are scikit-learn's: the
    same command logs the same losses and accuracies here, where scikit-learn is
    installed, as in the venv, where it is not."""
    args = ("train", "moons", "--epochs", "4", "--val", "0.2", "--seed", "3")
    in_venv = deepgrad(*args)
    here = run(*args)
    assert in_venv.returncode == 0 and here.exit_code == 0, in_venv.stderr
    assert len(_epoch_lines(in_venv.stdout)) == 4
    assert _epoch_lines(in_venv.stdout) == _epoch_lines(here.stdout)


@install
def test_datasets_lists_every_set_and_names_the_extra_of_scikit_learns(deepgrad):
    """`deepgrad datasets` lists all twelve sets and ends with one line naming the
    extra that the four scikit-learn sets need."""
    result = deepgrad("datasets")
    assert result.returncode == 0, result.stderr
    for name in ("xor", "and", "or", "moons", "circles", "spirals", "blobs", "gauss",
                 "iris", "wine", "breast_cancer", "digits"):  # fmt: skip
        assert name in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "iris, wine, breast_cancer and digits need the sklearn extra, which is not "
        "installed: pip install 'deepgrad[sklearn]'"
    )


@install
@pytest.mark.parametrize(
    "args, line",
    [
        (["train", "iris", "--epochs", "1"], EXTRA_LINES["iris"]),
        (["train", "xor", "--epochs", "3", "--plot", "loss.png"], EXTRA_LINES["plot"]),
        (["train", "moons", "--epochs", "3", "--animate", "a.gif"],
         EXTRA_LINES["animate"]),
        (["sweep", "xor", "--lr", "0.1,0.5", "--epochs", "3", "--plot", "s.png"],
         EXTRA_LINES["plot"]),
        (["serve"], EXTRA_LINES["serve"]),
    ],
)  # fmt: skip
def test_a_feature_of_an_extra_prints_one_line_naming_it_and_exits_2(
    deepgrad, tmp_path, args, line
):
    """Each feature whose extra is not installed stops before any work with one
    `Error:` line naming the extra (`pip install 'deepgrad[...]'`), exit code 2,
    no traceback and no file written."""
    result = deepgrad(*args)
    assert result.returncode == 2
    assert result.stderr == line + "\n"
    assert "Traceback" not in result.stdout and "Epoch" not in result.stdout
    assert list(tmp_path.iterdir()) == []


PYTHON_API = """
import json, sys
import deepgrad as dg
from deepgrad import nn
from deepgrad.data import load_dataset, train_val_test_split
from deepgrad.plots import plot_history
from deepgrad.train import fit

dg.manual_seed(0)
data = load_dataset("moons", n_samples=100, noise=0.2, seed=5)
model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
history = fit(model, nn.CrossEntropyLoss(), dg.optim.Adam(model.parameters(), lr=0.01),
              (data.X, data.y), epochs=3, validation=0.2, verbose=0)
dg.save(model, "moons_net.dg")
loaded = dg.load("moons_net.dg")
same = all(
    (a.array == b.array).all()
    for a, b in zip(model.parameters(), loaded.parameters(), strict=True)
)
split = train_val_test_split(data.X, data.y, val=0.2, test=0.2, seed=1)
errors = {}
for name, call in [("iris", lambda: load_dataset("iris")),
                   ("plot", lambda: plot_history(history))]:
    try:
        call()
    except ImportError as error:
        errors[name] = [str(error), error.name]
print(json.dumps({
    "X": data.X.tolist(), "y": data.y.tolist(), "val_loss": history.history["val_loss"],
    "loaded": same, "split": [len(part[0]) for part in split], "errors": errors,
    "imported": [m for m in ("sklearn", "matplotlib", "torch") if m in sys.modules],
}))
"""


@install
def test_the_python_api_of_the_base_install(venv_bin, tmp_path):
    """In Python: load_dataset("moons") gives scikit-learn's make_moons points,
    fit(validation=0.2) validates, dg.save/dg.load round-trip the weights, splits
    work; iris and plots raise an ImportError whose message is the one line
    naming the extra; nothing imports scikit-learn, matplotlib or torch."""
    result = subprocess.run(
        [venv_bin / "python", "-c", PYTHON_API], cwd=tmp_path, capture_output=True,
        text=True, env=ENV, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    X, y = make_moons(100, noise=0.2, random_state=5)
    np.testing.assert_array_equal(
        np.array(report["X"], np.float32), X.astype(np.float32)
    )
    assert report["y"] == y.tolist()
    assert len(report["val_loss"]) == 3 and all(np.isfinite(report["val_loss"]))
    assert report["loaded"] and report["split"] == [60, 20, 20]
    assert report["errors"] == {
        "iris": [EXTRA_LINES["iris"].removeprefix("Error: "), "sklearn"],
        "plot": [
            "deepgrad's plots need matplotlib, which is not installed: pip install "
            "'deepgrad[plot]'",
            "matplotlib",
        ],
    }
    assert report["imported"] == []
