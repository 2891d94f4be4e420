"""The layering of docs/ARCHITECTURE.md, checked by import-linter (contracts in pyproject.toml).

A module may import the layers below its own, never those above, and the core
(tensor, ops, autograd, nn, optim) imports no third-party package but NumPy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def lint_imports(project: Path, python_path: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the deepgrad found in ``python_path``, with the
    contracts of ``project``'s pyproject.toml."""
    script = Path(sys.executable).parent / "lint-imports"
    command = [str(script)] if script.exists() else ["lint-imports"]
    return subprocess.run(
        [*command, "--no-cache"],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(python_path)},
    )


def test_every_import_keeps_the_layers_and_the_core_imports_numpy_only():
    result = lint_imports(ROOT, ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # the engine reaching up into the training loop, as Module.summary once did
        ("nn/module.py", "from deepgrad.train import fit", "Lower layers never"),
        # a lazy import inside a function counts too
        ("ops/arithmetic.py", "def f():\n    import matplotlib", "NumPy only"),
        # the file format must not know the Classifier (io above train rebuilds it)
        ("modelfile.py", "from deepgrad.train import Classifier", "Lower layers never"),
    ],
)
def test_an_import_that_breaks_a_contract_fails_the_check(
    tmp_path, module, line, broken
):
    # the same check on a copy of the package with one offending import added
    shutil.copytree(ROOT / "src" / "deepgrad", tmp_path / "src" / "deepgrad")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "deepgrad" / module
    target.write_text(target.read_text() + f"\n{line}\n")

    result = lint_imports(tmp_path, tmp_path / "src")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert broken in result.stdout


def test_every_third_party_package_the_library_imports_is_forbidden_to_the_core():
    # "NumPy only" is written as a list of forbidden packages: a package that
    # deepgrad starts to import must join the list, or the core could import it
    # unnoticed
    import grimp

    graph = grimp.build_graph(
        "deepgrad", include_external_packages=True, cache_dir=None
    )
    external = {
        module.split(".")[0]
        for module in graph.modules
        if not module.startswith("deepgrad")
    }
    third_party = external - set(sys.stdlib_module_names) - {"numpy"}
    (forbidden,) = (
        set(contract["forbidden_modules"])
        for contract in CONFIG["contracts"]
        if contract["id"] == "core-numpy-only"
    )
    assert third_party, "the graph lists no third-party package: the check is blind"
    assert third_party <= forbidden, sorted(third_party - forbidden)
