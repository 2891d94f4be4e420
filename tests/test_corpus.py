"""Real PyTorch teaching code runs on deepgrad with only the names changed.

Each file of tests/corpus/ is a public PyTorch snippet (tutorials, courses,
books, examples; the CPU/MLP subset), its source and licence in its header. It
runs twice, each in a fresh process: as written, with torch, and mechanically
translated (``import torch`` -> ``import deepgrad as dg``, ``torch.`` ->
``dg.``; :func:`corpus_tools.translate`), with no other edit. Both runs start
from the same weights (deepgrad draws PyTorch's random numbers), so every
number they print and every tensor, number and state_dict they leave behind
must agree: to 1e-10 for float64 snippets and 1e-5 for float32 ones, or to the
looser tolerance a snippet's header states with its reason.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import numpy as np
import pytest

from corpus_tools import CORPUS, header, printed_numbers, run_snippet, translate

pytest.importorskip("torch")

SNIPPETS = sorted(CORPUS.glob("*.py"))
TOLERANCES = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-6)}


def tolerance(path) -> tuple[float, float]:
    """(rtol, atol): the header's ``# Tolerance: float32|float64`` or an
    explicit ``rtol=..., atol=... (reason)``."""
    text = header(path)["tolerance"]
    if text in TOLERANCES:
        return TOLERANCES[text]
    rtol = float(re.search(r"rtol=([\d.e-]+)", text).group(1))
    atol = float(re.search(r"atol=([\d.e-]+)", text).group(1))
    assert "(" in text, f"{path.name}: a custom tolerance needs its reason"
    return rtol, atol


def test_the_corpus_has_25_snippets_from_6_sources():
    sources = {urlparse(header(path)["source"].split()[0]).netloc + "/"
               + "/".join(urlparse(header(path)["source"].split()[0]).path.split("/")[1:3])
               for path in SNIPPETS}  # fmt: skip
    assert len(SNIPPETS) >= 25, len(SNIPPETS)
    assert len(sources) >= 6, sources
    for path in SNIPPETS:
        fields = header(path)
        assert {"title", "source", "licence", "changes", "tolerance"} <= set(fields)


def test_the_readme_states_the_corpus_count():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert f"all {len(SNIPPETS)} snippets of tests/corpus/ run unchanged" in readme


def test_translation_changes_names_only():
    source = (
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "from torch import optim\nfrom torch.utils.data import DataLoader\n"
        "x = torch.zeros(3, dtype=torch.float64)  # torch\n"
    )
    assert translate(source) == (
        "import deepgrad as dg\nimport deepgrad.nn as nn\n"
        "import deepgrad.nn.functional as F\nfrom deepgrad import optim\n"
        "from deepgrad.utils.data import DataLoader\n"
        "x = dg.zeros(3, dtype=dg.float64)  # torch\n"
    )


def test_printed_numbers_skip_what_differs_by_design():
    """Op names (grad_fn=<AddBackward0>, <AddBackward0 object at 0x7f3a>), memory
    addresses and dtype names carry digits that are not results: they are left out,
    and every other number is read in order."""
    text = (
        "tensor(0.5, grad_fn=<AddBackward0>) z = <AddBackward0 object at 0x7f3a2c>\n"
        "tensor([1, 2], dtype=torch.int32) loss: 1.5e-3 [   64/  640]"
    )
    assert printed_numbers(text) == [0.5, 1.0, 2.0, 1.5e-3, 64.0, 640.0]


@pytest.mark.parametrize("path", SNIPPETS, ids=[p.stem for p in SNIPPETS])
def test_snippet_runs_unchanged_and_agrees_with_torch(path, tmp_path):
    rtol, atol = tolerance(path)
    torch_printed, torch_results = run_snippet(path, translated=False, workdir=tmp_path)
    dg_printed, dg_results = run_snippet(path, translated=True, workdir=tmp_path)
    expected, got = printed_numbers(torch_printed), printed_numbers(dg_printed)
    assert len(got) == len(expected), (torch_printed, dg_printed)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    assert sorted(dg_results) == sorted(torch_results)
    for name, value in torch_results.items():
        np.testing.assert_allclose(
            dg_results[name], value, rtol=rtol, atol=atol, err_msg=name
        )
