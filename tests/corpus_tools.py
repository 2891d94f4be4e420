"""Running a PyTorch snippet of tests/corpus/ with torch, and translated to deepgrad.

The translation is mechanical, names only, as a user would do it by hand:
``import torch`` -> ``import deepgrad as dg``, ``torch.`` -> ``dg.``, and the
``from torch...``/``import torch.x as y`` forms -> ``deepgrad``'s. Nothing else
in the snippet changes. Each run happens in a fresh Python process (a snippet
seeds the global generator and may change the default dtype), which prints
the snippet's output and then one JSON line with its final module-level
numbers: every tensor, number and list of numbers it left behind, and every
module's state_dict.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
MARKER = "@@corpus-results@@"

_IMPORTS = [
    # import torch.nn.functional as F -> import deepgrad.nn.functional as F
    (
        re.compile(r"^(\s*)import torch\.([\w.]+) as (\w+)", re.M),
        r"\1import deepgrad.\2 as \3",
    ),
    # from torch.x import y -> from deepgrad.x import y
    (
        re.compile(r"^(\s*)from torch(\.[\w.]+)? import", re.M),
        r"\1from deepgrad\2 import",
    ),
    # import torch -> import deepgrad as dg
    (re.compile(r"^(\s*)import torch\s*$", re.M), r"\1import deepgrad as dg"),
]


def translate(source: str) -> str:
    """The snippet with torch's names replaced by deepgrad's (names only)."""
    for pattern, replacement in _IMPORTS:
        source = pattern.sub(replacement, source)
    return re.sub(r"\btorch\.", "dg.", source)


# Runs the snippet, then prints what it left: numbers, tensors, state_dicts.
_RUNNER = r"""
import json, runpy, sys
import numpy as np
path, marker = sys.argv[1], sys.argv[2]
namespace = runpy.run_path(path, run_name="__main__")

def plain(value):
    numpy = getattr(value, "numpy", None)
    if callable(numpy) and hasattr(value, "shape"):
        array = value.detach().numpy() if hasattr(value, "detach") else numpy()
        return np.asarray(array, dtype=np.float64).tolist()
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        return [float(v) for v in value]
    return None

results = {}
for name, value in namespace.items():
    if name.startswith("_") or isinstance(value, type):
        continue
    if hasattr(value, "state_dict") and hasattr(value, "parameters"):
        for key, tensor in value.state_dict().items():
            converted = plain(tensor)
            if converted is not None:
                results[f"{name}.{key}"] = converted
        continue
    converted = plain(value)
    if converted is not None:
        results[name] = converted
print(marker + json.dumps(results))
"""


def run_snippet(path: Path, translated: bool, workdir: Path) -> tuple[str, dict]:
    """(its printed output, its final numbers); torch's run, or deepgrad's."""
    source = path.read_text()
    script = workdir / (("dg_" if translated else "torch_") + path.name)
    script.write_text(translate(source) if translated else source)
    runner = workdir / "corpus_runner.py"
    runner.write_text(_RUNNER)
    done = subprocess.run(
        [sys.executable, str(runner), str(script), MARKER],
        cwd=workdir,
        # one thread: on a shared machine torch's thread pool spins (4x slower)
        env={
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{path.name} ({'deepgrad' if translated else 'torch'}) failed:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    printed, _, results = done.stdout.rpartition(MARKER)
    return printed, json.loads(results)


_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf")


def printed_numbers(text: str) -> list[float]:
    """Every number in a run's output, in order (the words may differ: torch
    prints grad_fn=<AddBackward0> where deepgrad names its own ops)."""
    text = re.sub(r"grad_fn=<\w+>", "", text)
    # print(z.grad_fn): <AddBackward0 object at 0x7f...>, names and addresses differ
    text = re.sub(r"<[\w.]+ object at 0x[0-9a-fA-F]+>", "", text)
    text = re.sub(r"dtype=\w+\.(\w+)", "", text)
    return [float(token) for token in _NUMBER.findall(text)]


def header(path: Path) -> dict[str, str]:
    """The snippet's header fields: ``# Source:``, ``# Licence:``, ``# Tolerance:``,
    ``# Changes:`` (lines starting ``# Key: value``)."""
    fields = {}
    for line in path.read_text().splitlines():
        match = re.match(r"#\s*(Source|Licence|Tolerance|Changes|Title):\s*(.*)", line)
        if match:
            fields[match.group(1).lower()] = match.group(2).strip()
    return fields
