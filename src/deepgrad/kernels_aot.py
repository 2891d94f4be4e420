"""``deepgrad.kernels`` compiled ahead of time: the same kernels without Numba's runtime.

Numba compiles ``deepgrad.kernels`` in each process that uses them. Even with its
cache warm, that costs every process about 0.6 s (importing Numba and loading LLVM)
and about 125 MB of memory (LLVM's code and tables), so ``fast`` used them only
for long runs. ``build()`` (``deepgrad kernels --build``) compiles the same Python
functions once, with Numba's ahead-of-time compiler (``numba.pycc``), into an
extension module in the user cache folder, for this machine's CPU. ``load()`` then
imports that module in about a millisecond and a megabyte, without importing Numba.

The machine code comes from the same source with the same options as the JIT
kernels (``error_model="numpy"``, no fastmath, the host CPU's instructions), so
the two agree bit for bit (tests/test_kernels.py runs every kernel test on both).

The compiled functions trust their arguments: a float64 array handed to a float32
kernel would be read as the wrong type, past its end. So ``load()`` wraps each one
in a check of every array's dtype, dimensions and layout (``_guarded``), which
raises TypeError instead.

The module lives in ``<cache>/deepgrad/kernels/<key>/``, where the key changes with
the kernels' source and signatures, Python, NumPy and the CPU (its model and
instruction-set flags), so an edit, an upgrade or a home folder shared between
different machines gets its own build and never a stale or foreign one.

``numba.pycc`` has been "pending deprecation" since Numba 0.57; if a future Numba
drops it, ``build()`` raises a clear error and ``fast`` keeps using the JIT kernels.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

# Each kernel's arguments, as deepgrad.kernels defines them. "v": a 1-D float array,
# "m": a 2-D float array (both C-contiguous, of the call's float dtype); "labels":
# 1-D int64 class labels; "target": a 2-D float array that is only read (converted
# to the call's dtype when it differs); "f": a float scalar; "b": a bool.
# The second item is what the kernel returns ("f8" for the losses' mean).
SIGNATURES: dict[str, tuple[tuple[str, ...], str]] = {
    "sgd": (("v", "v", "f"), "void"),
    "sgd_momentum": (("v", "v", "v", "f", "f", "f", "f", "b", "b"), "void"),
    "adam": (("v", "v", "v", "v") + ("f",) * 9, "void"),
    "rmsprop": (("v", "v", "v", "v") + ("f",) * 6, "void"),
    "bias_relu": (("m", "v", "m"), "void"),
    "bias_leaky_relu": (("m", "v", "m", "f"), "void"),
    "bias_sigmoid": (("m", "v", "m"), "void"),
    "bias_tanh": (("m", "v", "m"), "void"),
    "relu_backward": (("m", "m", "v"), "void"),
    "leaky_relu_backward": (("m", "m", "v", "f"), "void"),
    "sigmoid_backward": (("m", "m", "v"), "void"),
    "tanh_backward": (("m", "m", "v"), "void"),
    "bias_sum": (("m", "v"), "void"),
    "bias_relu_t": (("m", "v", "m"), "void"),
    "bias_leaky_relu_t": (("m", "v", "m", "f"), "void"),
    "bias_sigmoid_t": (("m", "v", "m"), "void"),
    "bias_tanh_t": (("m", "v", "m"), "void"),
    "relu_grad": (("m", "m"), "void"),
    "leaky_relu_grad": (("m", "m", "f"), "void"),
    "sigmoid_grad": (("m", "m"), "void"),
    "tanh_grad": (("m", "m"), "void"),
    "cross_entropy": (("m", "labels", "m"), "f8"),
    "bce_after_sigmoid": (("m", "target", "m"), "f8"),
    "bce_with_logits": (("m", "target", "m"), "f8"),
    "mse": (("m", "target", "m"), "f8"),
}
# what fast reads besides the functions (the same tables as deepgrad.kernels)
_ACTIVATIONS = {
    "relu": ("bias_relu", "relu_backward"),
    "sigmoid": ("bias_sigmoid", "sigmoid_backward"),
    "tanh": ("bias_tanh", "tanh_backward"),
    "leaky_relu": ("bias_leaky_relu", "leaky_relu_backward"),
}
_ACTIVATIONS_T = {
    "relu": ("bias_relu_t", "relu_grad"),
    "sigmoid": ("bias_sigmoid_t", "sigmoid_grad"),
    "tanh": ("bias_tanh_t", "tanh_grad"),
    "leaky_relu": ("bias_leaky_relu_t", "leaky_relu_grad"),
}
_LOSSES = {
    "cross_entropy": "cross_entropy",
    "bce_sigmoid": "bce_after_sigmoid",
    "bce_logits": "bce_with_logits",
    "mse": "mse",
}
# bump when build() changes what it compiles (options, names)
BUILD_FORMAT = 1
_DTYPES = {"f4": np.dtype(np.float32), "f8": np.dtype(np.float64)}


# ---------------------------------------------------------------------------
# Where the build lives
# ---------------------------------------------------------------------------
def cache_folder() -> Path:
    """``$DEEPGRAD_KERNELS_DIR`` when set, else ``$XDG_CACHE_HOME/deepgrad/kernels``
    (``~/.cache/deepgrad/kernels``)."""
    if os.environ.get("DEEPGRAD_KERNELS_DIR"):
        return Path(os.environ["DEEPGRAD_KERNELS_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(cache) / "deepgrad" / "kernels"


def cpu_description() -> str:
    """This CPU's model and instruction-set flags, read without LLVM.

    On Linux from /proc/cpuinfo (the model name and the flags or features);
    elsewhere ``platform.processor()``, which names the architecture but not
    always the instruction sets (macOS says "arm"): see ``_for_this_cpu``.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            text = file.read(200_000)
    except OSError:
        return platform.processor()
    wanted = ("model name", "flags", "features", "cpu part", "isa")
    fields = {}
    for line in text.splitlines():
        if not line.strip():  # the first processor's block is enough
            if fields:
                break
            continue
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name in wanted:
            fields[name] = " ".join(value.split())
    return "; ".join(f"{name}: {fields[name]}" for name in sorted(fields))


def _for_this_cpu(description: str) -> bool:
    """Whether a build may use every instruction of this CPU: only when the key
    holds its instruction-set flags, so that no other CPU finds that build.
    Otherwise it targets the architecture's generic CPU (SSE2 on x86-64, which
    every x86-64 machine runs), slower but safe in a home folder shared by
    machines."""
    return "flags: " in description or "features: " in description


def build_key() -> str:
    """The key of a build that fits this process: the kernels' source and
    signatures, Python, NumPy and the CPU."""
    spec = importlib.util.find_spec("deepgrad.kernels")
    if spec is None or spec.origin is None:  # pragma: no cover - broken install
        raise ImportError("cannot find deepgrad.kernels's source")
    digest = hashlib.sha256(Path(spec.origin).read_bytes())
    for part in (
        BUILD_FORMAT,
        SIGNATURES,
        sys.implementation.cache_tag,
        platform.machine(),
        np.__version__,
        cpu_description(),
    ):
        digest.update(b"\0" + repr(part).encode())
    return digest.hexdigest()[:16]


def module_name(key: str) -> str:
    return f"_deepgrad_kernels_{key}"


def library_path(key: str | None = None) -> Path | None:
    """The built extension module for this process, or None when there is none."""
    key = build_key() if key is None else key
    folder = cache_folder() / key
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    for suffix in suffixes:
        path = folder / (module_name(key) + suffix)
        if path.is_file():
            return path
    return None


# ---------------------------------------------------------------------------
# Loading: the module's functions behind a check of their arguments
# ---------------------------------------------------------------------------
_LOADED: dict[Path, SimpleNamespace] = {}


def load() -> SimpleNamespace | None:
    """The built kernels, as ``deepgrad.kernels`` offers them, or None if not built.

    Imports no Numba. The returned object has the kernels by name and the
    ``ACTIVATIONS``, ``ACTIVATIONS_T`` and ``LOSSES`` tables that ``fast`` reads.
    """
    key = build_key()
    path = library_path(key)
    if path is None:
        return None
    if path in _LOADED:
        return _LOADED[path]
    loader = importlib.machinery.ExtensionFileLoader(module_name(key), str(path))
    spec = importlib.util.spec_from_file_location(module_name(key), path, loader=loader)
    if spec is None:  # pragma: no cover - spec_from_file_location with a loader
        return None
    try:
        module = importlib.util.module_from_spec(spec)  # dlopen()s the file
        loader.exec_module(module)
        functions = {name: _guarded(module, name) for name in SIGNATURES}
    except (ImportError, OSError, AttributeError) as error:  # a damaged file
        warnings.warn(
            f"deepgrad: the kernel build {path} cannot be loaded ({error}); the "
            "compiled step runs without it. Rebuild it: deepgrad kernels --remove "
            "--build",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    kernels = SimpleNamespace(
        **functions,
        ACTIVATIONS={
            kind: (functions[forward], functions[backward])
            for kind, (forward, backward) in _ACTIVATIONS.items()
        },
        ACTIVATIONS_T={
            kind: (functions[forward], functions[derivative])
            for kind, (forward, derivative) in _ACTIVATIONS_T.items()
        },
        LOSSES={kind: functions[name] for kind, name in _LOSSES.items()},
        path=path,
    )
    _LOADED[path] = kernels
    return kernels


def _guarded(module: ModuleType, name: str):
    """``name``'s compiled float32 and float64 versions behind a type check."""
    kinds, _ = SIGNATURES[name]
    versions = {
        np.dtype(np.float32): getattr(module, f"{name}_f4"),
        np.dtype(np.float64): getattr(module, f"{name}_f8"),
    }
    arrays = [(i, kind) for i, kind in enumerate(kinds) if kind not in ("f", "b")]
    first = arrays[0][0]

    def kernel(*args: Any) -> Any:
        if len(args) != len(kinds):
            raise TypeError(
                f"{name}() takes {len(kinds)} arguments ({len(args)} given)"
            )
        dtype = getattr(args[first], "dtype", None)
        compiled = versions.get(dtype)  # type: ignore[arg-type]
        if compiled is None:
            raise TypeError(
                f"{name}: the compiled kernels take float32 or float64 arrays, "
                f"received {type(args[first]).__name__} of dtype {dtype}"
            )
        for index, kind in arrays:
            array = args[index]
            if kind == "labels" or kind == "target":
                wanted = np.dtype(np.int64) if kind == "labels" else dtype
                ndim = 1 if kind == "labels" else 2
                if not isinstance(array, np.ndarray) or array.ndim != ndim:
                    raise TypeError(
                        f"{name}: argument {index} must be a {ndim}-D array, "
                        f"received {type(array).__name__} "
                        f"{getattr(array, 'shape', '')}"
                    )
                if array.dtype != wanted or not array.flags.c_contiguous:
                    if kind == "labels" and array.dtype.kind not in "iu":
                        raise TypeError(
                            f"{name}: class labels must be integers, received "
                            f"{array.dtype}"
                        )
                    args = (
                        args[:index]
                        + (np.ascontiguousarray(array, dtype=wanted),)
                        + args[index + 1 :]
                    )
                continue
            ndim = 1 if kind == "v" else 2
            if (
                not isinstance(array, np.ndarray)
                or array.dtype != dtype
                or array.ndim != ndim
                or not array.flags.c_contiguous
                or not array.flags.writeable
            ):
                raise TypeError(
                    f"{name}: argument {index} must be a writeable C-contiguous "
                    f"{ndim}-D {dtype} array, received {type(array).__name__} "
                    f"{getattr(array, 'dtype', '')} {getattr(array, 'shape', '')}"
                )
        return compiled(*args)

    kernel.__name__ = name
    kernel.__doc__ = f"deepgrad.kernels.{name}, compiled ahead of time (checked)."
    return kernel


# ---------------------------------------------------------------------------
# Building (needs Numba and a C compiler; run once per machine)
# ---------------------------------------------------------------------------
def _numba_signature(name: str, code: str) -> str:
    """``name``'s Numba type signature for one float type ("f4" or "f8")."""
    kinds, returns = SIGNATURES[name]
    types = {
        "v": f"{code}[::1]",
        "m": f"{code}[:, ::1]",
        "target": f"{code}[:, ::1]",
        "labels": "i8[::1]",
        "f": code,
        "b": "b1",
    }
    return f"{returns}({', '.join(types[kind] for kind in kinds)})"


def build() -> Path:
    """Compile every kernel for float32 and float64 into this machine's cache.

    Takes 20-40 s once (it needs Numba and a C compiler). Writes into a temporary
    folder and moves the finished module into place, so a process loading the
    kernels never sees half a file, and two builds at once do no harm.

    Raises
    ------
    RuntimeError
        Numba is missing, has no ``numba.pycc``, or the compiler failed; the
        message says which, and the JIT kernels keep working.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pycc's pending-deprecation warning
            import llvmlite.binding as llvm
            from numba.core.compiler import Flags
            from numba.pycc import CC
            from numba.pycc import compiler as pycc_compiler
    except ImportError as error:
        raise RuntimeError(
            "building the kernels needs Numba with numba.pycc: "
            f"pip install 'deepgrad[fast]' ({error})"
        ) from error

    from deepgrad import kernels

    key = build_key()
    name = module_name(key)
    final = cache_folder() / key
    final.mkdir(parents=True, exist_ok=True)

    class NumpyErrorModel(Flags):  # the JIT kernels' error_model="numpy"
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.error_model = "numpy"

    with tempfile.TemporaryDirectory(dir=final) as scratch:
        compiler = CC(name)
        compiler.output_dir = scratch
        if _for_this_cpu(cpu_description()):
            compiler.target_cpu = llvm.get_host_cpu_name()
        for kernel_name in SIGNATURES:
            function = getattr(kernels, kernel_name).py_func
            for code in _DTYPES:
                signature = _numba_signature(kernel_name, code)
                compiler.export(f"{kernel_name}_{code}", signature)(function)
        original = pycc_compiler.Flags
        pycc_compiler.Flags = NumpyErrorModel
        try:
            compiler.compile()
        except Exception as error:
            raise RuntimeError(
                f"building the kernels failed ({type(error).__name__}: {error}); "
                "the JIT kernels still work"
            ) from error
        finally:
            pycc_compiler.Flags = original
        (built,) = [p for p in Path(scratch).iterdir() if p.name.startswith(name)]
        target = final / built.name
        os.replace(built, target)
    return target


def remove() -> list[Path]:
    """Delete every build in the cache folder; the paths removed."""
    folder = cache_folder()
    removed = sorted(folder.iterdir()) if folder.is_dir() else []
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
