"""The kernels built ahead of time (deepgrad.kernels_aot) are Numba's JIT kernels,
loaded without Numba, and refuse arguments they would misread.

tests/test_kernels.py and tests/test_fast.py run every kernel and compiled-step
test on the build too; here: the build equals the JIT kernels bit for bit, the
checks in front of the compiled functions, which build a process may load, and
`deepgrad kernels`.
"""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from deepgrad import fast, kernels_aot
from deepgrad.cli import app

DTYPES = [np.float32, np.float64]


def _inputs(name, dtype, seed=0):
    """Arguments for one call of kernel ``name``: arrays of the shapes it reads."""
    rng = np.random.default_rng(seed)
    kinds, _ = kernels_aot.SIGNATURES[name]
    rows, columns = 33, 7
    args = []
    for kind in kinds:
        if kind == "v":  # a bias over columns, rows (feature-major), or a flat buffer
            size = columns if name.startswith("bias") or "backward" in name else 50
            size = rows if name.endswith("_t") else size
            args.append(rng.standard_normal(size).astype(dtype))
        elif kind in ("m", "target"):
            args.append((2 * rng.standard_normal((rows, columns))).astype(dtype))
        elif kind == "labels":
            args.append(rng.integers(0, columns, rows))
        elif kind == "f":
            args.append(dtype(rng.uniform(0.01, 0.5)))
        else:
            args.append(bool(rng.integers(0, 2)))
    if name == "bce_after_sigmoid":  # probabilities and 0/1 targets
        args[0] = (1 / (1 + np.exp(-args[0]))).astype(dtype)
        args[1] = (args[1] > 0).astype(dtype)
    if name in ("adam", "rmsprop"):  # second moments are not negative
        args[3] = np.abs(args[3])
        args[2] = np.abs(args[2]) if name == "rmsprop" else args[2]
    return args


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(kernels_aot.SIGNATURES))
def test_every_built_kernel_equals_the_jit_kernel_bit_for_bit(
    built_kernels, name, dtype
):
    """Same source, same options (error_model="numpy", host CPU): every output
    array and the returned loss are identical to the last bit."""
    jit = fast.load_kernels()
    jit_args, built_args = _inputs(name, dtype), _inputs(name, dtype)
    jit_result = getattr(jit, name)(*jit_args)
    built_result = getattr(built_kernels, name)(*built_args)
    assert built_result == jit_result
    for jit_arg, built_arg in zip(jit_args, built_args, strict=True):
        if isinstance(jit_arg, np.ndarray):
            np.testing.assert_array_equal(built_arg, jit_arg)


def test_the_build_exposes_the_tables_fast_reads(built_kernels):
    """ACTIVATIONS and LOSSES name the same kernels as deepgrad.kernels'."""
    jit = fast.load_kernels()
    assert sorted(built_kernels.ACTIVATIONS) == sorted(jit.ACTIVATIONS)
    assert sorted(built_kernels.LOSSES) == sorted(jit.LOSSES)
    for kind, (forward, backward) in built_kernels.ACTIVATIONS.items():
        jit_forward, jit_backward = jit.ACTIVATIONS[kind]
        assert (forward.__name__, backward.__name__) == (
            jit_forward.__name__,
            jit_backward.__name__,
        )


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda z: z.astype(np.float64), "argument 2 must be a writeable C-contiguous"),
        (lambda z: np.asfortranarray(z), "argument 2 must be a writeable C-contiguous"),
        (lambda z: z[:, 0], "argument 2 must be a writeable C-contiguous 2-D"),
        (lambda z: z.tolist(), "argument 2 must be a writeable C-contiguous"),
    ],
    ids=["float64-output", "fortran-order", "1-d", "list"],
)
def test_an_array_the_compiled_code_would_misread_raises_type_error(
    built_kernels, bad, message
):
    """The compiled functions trust their argument types (a float64 array in a
    float32 kernel is read past its end); the checks turn that into a TypeError."""
    z, labels, delta = _inputs("cross_entropy", np.float32)
    with pytest.raises(TypeError, match=message):
        built_kernels.cross_entropy(z, labels, bad(delta))
    with pytest.raises(TypeError, match="float32 or float64 arrays"):
        built_kernels.cross_entropy(z.astype(np.float16), labels, delta)
    read_only = delta.copy()
    read_only.flags.writeable = False
    with pytest.raises(TypeError, match="writeable"):
        built_kernels.cross_entropy(z, labels, read_only)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        built_kernels.cross_entropy(z, labels)
    with pytest.raises(TypeError, match="class labels must be integers"):
        built_kernels.cross_entropy(z, labels.astype(np.float32), delta)


def test_labels_and_targets_of_another_type_are_converted_not_misread(built_kernels):
    """int32 labels give the int64 labels' loss and delta; a strided float64 target
    of a float32 output gives the float32 target's (a converted copy is passed)."""
    z, labels, delta = _inputs("cross_entropy", np.float32)
    expected_delta = np.empty_like(delta)
    expected = built_kernels.cross_entropy(z, labels, expected_delta)
    assert built_kernels.cross_entropy(z, labels.astype(np.int32), delta) == expected
    np.testing.assert_array_equal(delta, expected_delta)

    a, y, delta = _inputs("mse", np.float32)
    wide = np.zeros((y.shape[0], 2 * y.shape[1]))
    wide[:, ::2] = y
    expected_delta = np.empty_like(delta)
    expected = built_kernels.mse(a, y, expected_delta)
    assert built_kernels.mse(a, wide[:, ::2], delta) == expected
    np.testing.assert_array_equal(delta, expected_delta)


def _python(code, env):
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    env = {**os.environ, **env}
    env["PYTHONPATH"] = os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )


def test_a_fit_on_the_build_never_imports_numba(built_kernels_dir):
    """The point of the build: a fit runs the kernels with no Numba or LLVM in the
    process (they cost ~0.6 s and ~125 MB per process)."""
    code = (
        "import sys, numpy as np, deepgrad as dg\n"
        "from deepgrad import nn, fast\n"
        "x = np.random.default_rng(0).standard_normal((256, 20)).astype(np.float32)\n"
        "y = np.random.default_rng(1).integers(0, 4, 256)\n"
        "m = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4))\n"
        "opt = dg.optim.Adam(m.parameters(), lr=1e-2)\n"
        "step = fast.compile_step(m, nn.CrossEntropyLoss(), opt)\n"
        "print(step.kernels_name)\n"
        "h = dg.train.fit(m, nn.CrossEntropyLoss(), opt, (x, y), epochs=3,\n"
        "                 batch_size=64, verbose=0)\n"
        "assert h.history['loss'][-1] < h.history['loss'][0]\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in "
        "('numba', 'llvmlite')))"
    )
    result = _python(
        code,
        {"DEEPGRAD_KERNELS_DIR": str(built_kernels_dir), "DEEPGRAD_KERNELS": "numba"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["numba-aot", "[]"]


def test_a_build_for_another_cpu_or_source_is_never_loaded(
    built_kernels_dir, monkeypatch
):
    """The build's folder is keyed by the kernels' source, Python, NumPy and the
    CPU's model and flags: another CPU (a home folder shared by machines) finds no
    build rather than one that may use instructions it lacks."""
    monkeypatch.setenv("DEEPGRAD_KERNELS_DIR", str(built_kernels_dir))
    assert kernels_aot.library_path() is not None
    key = kernels_aot.build_key()
    monkeypatch.setattr(kernels_aot, "cpu_description", lambda: "model name: other")
    assert kernels_aot.build_key() != key
    assert kernels_aot.library_path() is None and kernels_aot.load() is None
    monkeypatch.undo()
    monkeypatch.setenv("DEEPGRAD_KERNELS_DIR", str(built_kernels_dir))
    monkeypatch.setattr(kernels_aot, "SIGNATURES", {**kernels_aot.SIGNATURES, "x": 1})
    assert kernels_aot.build_key() != key


def test_cpu_description_names_this_cpu():
    """On Linux the key reads /proc/cpuinfo's model and instruction-set flags, so
    builds use this CPU's instructions; a description without them (macOS's
    "arm") gets a build for the architecture's generic CPU."""
    description = kernels_aot.cpu_description()
    if os.path.exists("/proc/cpuinfo"):
        assert "flags: " in description or "features: " in description
        assert kernels_aot._for_this_cpu(description)
    assert not kernels_aot._for_this_cpu("arm")
    assert not kernels_aot._for_this_cpu("")


def test_a_numba_without_pycc_fails_the_build_with_one_clear_line(
    monkeypatch, tmp_path
):
    """If a future Numba drops numba.pycc, the build says so (the JIT kernels keep
    working) and `deepgrad kernels --build` exits 1 with that line."""
    monkeypatch.setenv("DEEPGRAD_KERNELS_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "numba.pycc", None)
    with pytest.raises(RuntimeError, match=r"needs Numba with numba.pycc"):
        kernels_aot.build()
    result = CliRunner().invoke(app, ["kernels", "--build"])
    assert result.exit_code == 1
    assert "Error: building the kernels needs Numba with numba.pycc" in result.output
    assert kernels_aot.library_path() is None


def test_deepgrad_kernels_builds_reports_and_removes(monkeypatch, tmp_path):
    """`deepgrad kernels` says nothing is built, `--build` builds a module that
    loads, the report then names it and auto's choice, `--remove` deletes it."""
    monkeypatch.setenv("DEEPGRAD_KERNELS_DIR", str(tmp_path))
    runner = CliRunner()
    before = runner.invoke(app, ["kernels"])
    assert before.exit_code == 0, before.output
    assert "numba-aot  not built: deepgrad kernels --build" in before.output
    assert "auto picks numba-jit for runs of 500,000,000" in before.output

    built = runner.invoke(app, ["kernels", "--build"])
    assert built.exit_code == 0, built.output
    path = kernels_aot.library_path()
    assert path is not None and path.is_relative_to(tmp_path)
    assert f"numba-aot  built: {path}" in built.output
    assert "auto picks numba-aot for runs of 10,000,000" in built.output
    assert kernels_aot.load().sgd.__name__ == "sgd"
    assert not list(path.parent.glob("tmp*")), "the build's scratch folder is left"

    stale = tmp_path / "0123456789abcdef"  # a build for another version
    stale.mkdir()
    report = runner.invoke(app, ["kernels"])
    assert "1 other build(s) in" in report.output

    removed = runner.invoke(app, ["kernels", "--remove"])
    assert removed.exit_code == 0
    assert "removed 2 kernel build(s)" in removed.output
    assert kernels_aot.library_path() is None


def test_deepgrad_kernels_without_numba_says_what_installs_it(monkeypatch, tmp_path):
    """Without the fast extra, `deepgrad kernels` reports NumPy as auto's only
    choice and `--build` exits 2 with one line naming the extra."""
    monkeypatch.setenv("DEEPGRAD_KERNELS_DIR", str(tmp_path))
    monkeypatch.setattr(fast, "kernels_installed", lambda: False)
    runner = CliRunner()
    report = runner.invoke(app, ["kernels"])
    assert report.exit_code == 0
    assert "numba-jit  not installed: pip install 'deepgrad[fast]'" in report.output
    assert "auto picks numpy" in report.output
    build = runner.invoke(app, ["kernels", "--build"])
    assert build.exit_code == 2
    assert "Error: building the kernels needs Numba: pip install 'deepgrad[fast]'" in (
        build.output
    )
    assert kernels_aot.library_path() is None


def test_a_damaged_build_is_reported_and_the_step_runs_without_it(
    monkeypatch, tmp_path
):
    """A truncated or foreign file where the build should be does not stop a fit:
    load() warns, naming the file and the command that rebuilds it, and returns
    None, so "auto" falls back (here to NumPy, as for a short run)."""
    monkeypatch.setenv("DEEPGRAD_KERNELS_DIR", str(tmp_path))
    key = kernels_aot.build_key()
    folder = tmp_path / key
    folder.mkdir()
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    damaged = folder / (kernels_aot.module_name(key) + suffix)
    damaged.write_bytes(b"\x7fELF not really a shared library")
    assert kernels_aot.library_path() == damaged
    with pytest.warns(RuntimeWarning, match="deepgrad kernels --remove --build"):
        assert kernels_aot.load() is None
    monkeypatch.setenv("DEEPGRAD_KERNELS", "numba")
    with pytest.warns(RuntimeWarning, match="cannot be loaded"):
        chosen, name = fast.choose_kernels(None, 1e12)
    assert name == "numba-jit" and chosen is fast.load_kernels()
    assert damaged.read_bytes() == b"\x7fELF not really a shared library"
