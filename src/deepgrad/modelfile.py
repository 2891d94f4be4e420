"""The model file format: one safetensors file holding a model, its extras and its state.

A deepgrad model file is a plain `safetensors <https://huggingface.co/docs/safetensors>`_
file. The tensors are the model's ``state_dict()`` under PyTorch's keys (and, in a
training checkpoint, the optimizer's buffers under ``optimizer/``); the header's
string metadata holds everything else as JSON::

    format          "deepgrad"
    format_version  "1"
    architecture    {"class": "Sequential", "config": {"layers": [{"name": "0",
                     "class": "Linear", "config": {"in_features": 2, ...}}, ...]},
                     "training": false}
    extras          {"kind": "module"} or {"kind": "classifier", "standardizer": ...,
                     "class_names": [...], "task": "binary", "loss": "BCELoss"}
    optimizer       (checkpoints) the optimizer's class, param_groups and scalar state
    training_state  (checkpoints) the fit loop's JSON-able state
    sha256          digest of the other metadata and every tensor's name, dtype,
                    shape and bytes

Loading never runs code from the file: there is no pickle, the architecture is
rebuilt only from the built-in layers listed in ``LAYERS``, and a file that was
cut short, edited, or written by a newer deepgrad raises :class:`ModelFileError`.
Nor does loading trust the sizes a file declares: it reads the header first (at
most 32 MiB, never the whole file), checks every tensor's shape and bytes against
the file's length, verifies the checksum by streaming the file, and checks that
the layers the architecture describes need exactly the tensors the file holds,
shape for shape, before it allocates a tensor or builds a layer. A hostile file,
tiny or huge, is refused at the cost of reading its header and hashing its bytes.

Saving writes a temporary file beside the target and renames it over the target,
so a crash mid-save leaves the previous file as it was.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import reprlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from io import BufferedReader
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from deepgrad import nn
from deepgrad.atomic import atomic_write
from deepgrad.nn.module import Module
from deepgrad.tensor import default_generator

FORMAT = "deepgrad"
FORMAT_VERSION = "1"
_OPTIMIZER_PREFIX = "optimizer/"
_CHUNK_SIZE = 1 << 20
# The header (the JSON metadata and the tensors' table, no weights) is read whole
# and parsed before anything else, so its size is capped; safetensors caps it at
# 100 MB. The one large part deepgrad writes is a checkpoint's training history,
# about 0.45 KB an epoch for the lab's network (2.3 MB after its 5000 epochs), so
# 32 MiB holds some 70,000 epochs, while parsing 32 MiB of the most memory-hungry
# JSON there is ([{}, {}, ...]) takes 0.9 GB and 2.5 s (100 MB: 2.7 GB).
_MAX_HEADER_SIZE = 32 * 2**20
# JSON nested deeper is refused (Python's parser recurses once a level); an
# architecture takes 3 levels per Sequential inside a Sequential.
_MAX_JSON_DEPTH = 64
# The tensors deepgrad writes have at most 2 dimensions, but a LayerNorm's, which
# have as many as its normalized_shape (at most this many).
_MAX_DIMENSIONS = 8
# safetensors' dtype codes of the tensors a model file may hold, as NumPy holds
# them (safetensors stores little-endian bytes)
_DTYPES: dict[str, np.dtype] = {
    code: np.dtype(name)
    for code, name in {
        "F16": "<f2",
        "F32": "<f4",
        "F64": "<f8",
        "I8": "|i1",
        "I16": "<i2",
        "I32": "<i4",
        "I64": "<i8",
        "U8": "|u1",
        "U16": "<u2",
        "U32": "<u4",
        "U64": "<u8",
    }.items()
}


class ModelFileError(ValueError):
    """A model file that cannot be written or read: the message names the path."""


class UnsupportedModuleError(ModelFileError, TypeError):
    """A model holding a layer that a model file cannot describe."""


def _dtype_name(tensor: Any) -> str:
    return str(tensor.array.dtype)


def _batchnorm_config(layer: nn.BatchNorm1d) -> dict[str, Any]:
    config: dict[str, Any] = {
        "num_features": layer.num_features,
        "eps": layer.eps,
        "momentum": layer.momentum,
        "affine": layer.affine,
        "track_running_stats": layer.track_running_stats,
    }
    holder = layer.weight if layer.affine else layer.running_mean
    if holder is not None:
        config["dtype"] = _dtype_name(holder)
    return config


def _layernorm_config(layer: nn.LayerNorm) -> dict[str, Any]:
    config: dict[str, Any] = {
        "normalized_shape": list(layer.normalized_shape),
        "eps": layer.eps,
        "elementwise_affine": layer.elementwise_affine,
        "bias": layer.bias is not None,
    }
    if layer.weight is not None:
        config["dtype"] = _dtype_name(layer.weight)
    return config


# Each layer a file can hold: class name -> (class, the constructor arguments that
# rebuild an instance). Sequential's layers are described recursively by describe.
LAYERS: dict[str, tuple[type[Module], Callable[[Any], dict[str, Any]]]] = {
    "Sequential": (nn.Sequential, lambda layer: {}),
    "Linear": (
        nn.Linear,
        lambda layer: {
            "in_features": layer.in_features,
            "out_features": layer.out_features,
            "bias": layer.bias is not None,
            "dtype": _dtype_name(layer.weight),
        },
    ),
    "Identity": (nn.Identity, lambda layer: {}),
    "Flatten": (
        nn.Flatten,
        lambda layer: {"start_dim": layer.start_dim, "end_dim": layer.end_dim},
    ),
    "ReLU": (nn.ReLU, lambda layer: {}),
    "Sigmoid": (nn.Sigmoid, lambda layer: {}),
    "Tanh": (nn.Tanh, lambda layer: {}),
    "LeakyReLU": (nn.LeakyReLU, lambda layer: {"negative_slope": layer.negative_slope}),
    "GELU": (nn.GELU, lambda layer: {"approximate": layer.approximate}),
    "Softmax": (nn.Softmax, lambda layer: {"dim": layer.dim}),
    "LogSoftmax": (nn.LogSoftmax, lambda layer: {"dim": layer.dim}),
    "Dropout": (nn.Dropout, lambda layer: {"p": layer.p}),
    "BatchNorm1d": (nn.BatchNorm1d, _batchnorm_config),
    "ELU": (nn.ELU, lambda layer: {"alpha": layer.alpha}),
    "SiLU": (nn.SiLU, lambda layer: {}),
    "Mish": (nn.Mish, lambda layer: {}),
    "Softplus": (
        nn.Softplus,
        lambda layer: {"beta": layer.beta, "threshold": layer.threshold},
    ),
    "Hardtanh": (
        nn.Hardtanh,
        lambda layer: {"min_val": layer.min_val, "max_val": layer.max_val},
    ),
    "PReLU": (
        nn.PReLU,
        lambda layer: {
            "num_parameters": layer.weight.shape[0],
            "dtype": _dtype_name(layer.weight),
        },
    ),
    "LayerNorm": (nn.LayerNorm, _layernorm_config),
    "Embedding": (
        nn.Embedding,
        lambda layer: {
            "num_embeddings": layer.num_embeddings,
            "embedding_dim": layer.embedding_dim,
            "padding_idx": layer.padding_idx,
            "dtype": _dtype_name(layer.weight),
        },
    ),
}


def describe(module: Module, *, where: str = "model") -> dict[str, Any]:
    """The JSON-able architecture of a model built from deepgrad's layers.

    Parameters
    ----------
    module : Module
        A layer from ``LAYERS`` or an ``nn.Sequential`` of them (nested freely).
    where : str
        How error messages name the module (its path inside the model).

    Returns
    -------
    dict
        ``{"class": name, "config": constructor arguments}``; a Sequential's config
        is ``{"layers": [{"name": ..., "class": ..., "config": ...}, ...]}``.

    Raises
    ------
    UnsupportedModuleError
        For a Module subclass of the user's own (or a subclass of a built-in
        layer), whose ``forward`` a file cannot hold without running code.

    Example
    -------
    >>> describe(nn.Sequential(nn.Linear(2, 1), nn.Sigmoid()))["config"]["layers"][1]
    {'name': '1', 'class': 'Sigmoid', 'config': {}}
    """
    cls = type(module)
    entry = LAYERS.get(cls.__name__)
    if entry is None or entry[0] is not cls:
        raise UnsupportedModuleError(
            f"cannot describe {where} of class {cls.__module__}.{cls.__qualname__}: "
            "a model file rebuilds models from deepgrad's own layers only "
            f"({', '.join(LAYERS)}); build the model as an nn.Sequential of "
            "built-in layers, or save just its weights, model.state_dict()"
        )
    if isinstance(module, nn.Sequential):
        layers = [
            {"name": name, **describe(child, where=f"layer {name!r} of {where}")}
            for name, child in module._modules.items()
            if child is not None
        ]
        return {"class": cls.__name__, "config": {"layers": layers}}
    return {"class": cls.__name__, "config": entry[1](module)}


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def _is_dim(value: Any) -> bool:
    return value is None or _is_integer(value)


def _is_float_dtype(value: Any) -> bool:
    return value in (None, "float16", "float32", "float64")


def _is_normalized_shape(value: Any) -> bool:
    """LayerNorm's: a size, or a list of 1 to _MAX_DIMENSIONS sizes."""
    if _is_count(value):
        return True
    return (
        isinstance(value, list)
        and 0 < len(value) <= _MAX_DIMENSIONS
        and all(_is_count(size) for size in value)
    )


# What each constructor argument of a layer may be in a file, defaults included
# (numbers are finite: an architecture's JSON admits no NaN or infinity). The
# constructors check the rest (Dropout's p in [0, 1]) when the model is built.
_ARGUMENTS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "Sequential": {},
    "Linear": {
        "in_features": _is_count,
        "out_features": _is_count,
        "bias": _is_flag,
        "dtype": _is_float_dtype,
    },
    "Identity": {},
    "Flatten": {"start_dim": _is_integer, "end_dim": _is_integer},
    "ReLU": {},
    "Sigmoid": {},
    "Tanh": {},
    "LeakyReLU": {"negative_slope": _is_number},
    "GELU": {"approximate": lambda value: value in ("none", "tanh")},
    "Softmax": {"dim": _is_dim},
    "LogSoftmax": {"dim": _is_dim},
    "Dropout": {"p": _is_number},
    "BatchNorm1d": {
        "num_features": _is_count,
        "eps": _is_number,
        "momentum": _is_number,
        "affine": _is_flag,
        "track_running_stats": _is_flag,
        "dtype": _is_float_dtype,
    },
    "ELU": {"alpha": _is_number},
    "SiLU": {},
    "Mish": {},
    "Softplus": {"beta": _is_number, "threshold": _is_number},
    "Hardtanh": {"min_val": _is_number, "max_val": _is_number},
    "PReLU": {
        "num_parameters": _is_count,
        "init": _is_number,
        "dtype": _is_float_dtype,
    },
    "LayerNorm": {
        "normalized_shape": _is_normalized_shape,
        "eps": _is_number,
        "elementwise_affine": _is_flag,
        "bias": _is_flag,
        "dtype": _is_float_dtype,
    },
    "Embedding": {
        "num_embeddings": _is_count,
        "embedding_dim": _is_count,
        "padding_idx": _is_dim,
        "dtype": _is_float_dtype,
    },
}


def _linear_tensors(arguments: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    # PyTorch's layout: Z = X W^T + b with W of shape (out_features, in_features)
    out_features, in_features = arguments["out_features"], arguments["in_features"]
    bias = {"bias": (out_features,)} if arguments["bias"] else {}
    return {"weight": (out_features, in_features), **bias}


def _batchnorm_tensors(arguments: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    features = (arguments["num_features"],)
    tensors: dict[str, tuple[int, ...]] = {}
    if arguments["affine"]:
        tensors.update(weight=features, bias=features)
    if arguments["track_running_stats"]:
        tensors.update(
            running_mean=features, running_var=features, num_batches_tracked=()
        )
    return tensors


def _layernorm_tensors(arguments: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    size = arguments["normalized_shape"]
    shape = (size,) if isinstance(size, int) else tuple(size)
    if not arguments["elementwise_affine"]:
        return {}
    return {"weight": shape, **({"bias": shape} if arguments["bias"] else {})}


# The shape of each tensor in a layer's state_dict, from its constructor's
# arguments; layers missing here hold none.
_TENSORS: dict[str, Callable[[dict[str, Any]], dict[str, tuple[int, ...]]]] = {
    "Linear": _linear_tensors,
    "BatchNorm1d": _batchnorm_tensors,
    "PReLU": lambda arguments: {"weight": (arguments["num_parameters"],)},
    "LayerNorm": _layernorm_tensors,
    "Embedding": lambda arguments: {
        "weight": (arguments["num_embeddings"], arguments["embedding_dim"])
    },
}
# Tensors that count (integers); every other one holds floating-point values.
_COUNTS = frozenset({"num_batches_tracked"})


class _Layer(NamedTuple):
    """One layer of a checked architecture, not built."""

    where: str  # how messages name it: "layer 'block.0'", or "the model"
    prefix: str  # of its state_dict keys: "block.0."
    class_name: str
    arguments: dict[str, Any]  # its constructor's, defaults filled in

    def __str__(self) -> str:
        listed = ", ".join(
            f"{name}={value!r}" for name, value in self.arguments.items()
        )
        return f"{self.where}, {self.class_name}({listed}),"


def _malformed_entry(node: Any, path: Path) -> ModelFileError:
    return ModelFileError(
        f"{path}: the architecture holds a malformed entry {reprlib.repr(node)}"
    )


def _layers(node: Any, where: str, prefix: str, path: Path) -> list[_Layer]:
    """Every layer an architecture describes, its class and arguments checked.

    Nothing is built, so nothing is allocated; the recursion is as deep as the
    Sequentials nest, which the JSON depth limit bounds.
    """
    if not isinstance(node, dict) or not isinstance(node.get("config"), dict):
        raise _malformed_entry(node, path)
    class_name, config = node.get("class"), node["config"]
    if not isinstance(class_name, str) or class_name not in LAYERS:
        raise ModelFileError(
            f"{path}: the architecture names the unknown layer "
            f"{reprlib.repr(class_name)}; this deepgrad rebuilds {', '.join(LAYERS)}"
        )
    if class_name == "Sequential":
        if config.keys() != {"layers"} or not isinstance(config["layers"], list):
            raise ModelFileError(
                f"{path}: {where}, a Sequential, has no list of layers: "
                f"{reprlib.repr(config)}"
            )
        layers: list[_Layer] = []
        names: set[str] = set()
        for child in config["layers"]:
            if not isinstance(child, dict):
                raise _malformed_entry(child, path)
            name = child.get("name")
            if not isinstance(name, str) or not name or "." in name or name in names:
                raise ModelFileError(
                    f"{path}: {where} holds a layer named {reprlib.repr(name)}; the "
                    "layers of a Sequential have distinct names without dots"
                )
            names.add(name)
            layers += _layers(
                child, f"layer {prefix + name!r}", f"{prefix}{name}.", path
            )
        return layers
    checks = _ARGUMENTS[class_name]
    unknown = sorted(set(config) - set(checks))
    try:
        if unknown:  # also what *args/**kwargs (Identity's) would swallow
            raise TypeError(f"unexpected argument(s) {', '.join(map(str, unknown))}")
        bound = inspect.signature(LAYERS[class_name][0]).bind(**config)
    except TypeError as error:
        raise ModelFileError(
            f"{path}: cannot rebuild {where} as {class_name}({reprlib.repr(config)}): "
            f"{error}"
        ) from None
    bound.apply_defaults()
    arguments = {name: v for name, v in bound.arguments.items() if name in checks}
    article = "an" if class_name[0] in "AEIOU" else "a"  # an ELU, an Embedding
    for name, value in arguments.items():
        if not checks[name](value):
            raise ModelFileError(
                f"{path}: {where}, {article} {class_name}, has "
                f"{name}={reprlib.repr(value)}, which is not a valid {name}"
            )
    return [_Layer(where, prefix, class_name, arguments)]


def _build(node: dict[str, Any], path: Path) -> Module:
    """Rebuild a module from a checked architecture (weights freshly initialised)."""
    cls, config = LAYERS[node["class"]][0], node["config"]
    if cls is nn.Sequential:
        children = OrderedDict(
            (child["name"], _build(child, path)) for child in config["layers"]
        )
        return nn.Sequential(children)  # type: ignore[arg-type]  # an OrderedDict
    try:
        return cls(**config)
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            f"{path}: cannot rebuild {cls.__name__}({config}) from the architecture: "
            f"{error}"
        ) from error


def _little_endian(array: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would turn a 0-d buffer (num_batches_tracked) into 1-d
    array = np.require(array, requirements="C")
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return array


def _signature(
    metadata: Mapping[str, str],
    tensors: Iterable[tuple[str, np.dtype, tuple[int, ...], Iterable[bytes]]],
) -> str:
    """sha256 over the metadata (but "sha256") and every tensor, given in name order
    as (name, dtype, shape, its bytes in pieces)."""
    digest = hashlib.sha256()
    signed = {key: value for key, value in metadata.items() if key != "sha256"}
    digest.update(json.dumps(signed, sort_keys=True).encode())
    for name, dtype, shape, pieces in tensors:
        digest.update(json.dumps([name, dtype.str, list(shape)]).encode())
        for piece in pieces:
            digest.update(piece)
    return digest.hexdigest()


def _digest(metadata: Mapping[str, str], tensors: Mapping[str, np.ndarray]) -> str:
    """The signature of a file holding these arrays (as save writes it)."""
    return _signature(
        metadata,
        (
            (name, tensors[name].dtype, tensors[name].shape, [tensors[name].tobytes()])
            for name in sorted(tensors)
        ),
    )


def _to_json(value: Any, what: str, path: Path, finite: bool = False) -> str:
    def plain(item: Any) -> Any:
        if isinstance(item, np.generic):
            return item.item()
        raise TypeError(
            f"cannot save {what} to {path}: it must be JSON-able (dicts, lists, "
            f"strings, numbers), received a value of type {type(item).__name__}"
        )

    try:
        # read() refuses NaN and infinity where they would be data (a standardizer's
        # scales); a history's update ratios may hold NaN (weights that were 0)
        return json.dumps(value, default=plain, allow_nan=not finite)
    except ValueError:
        raise ValueError(
            f"cannot save {what} to {path}: it holds NaN or an infinite number"
        ) from None


def _pack_optimizer(optimizer: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Split an optimizer's state_dict into tensors and JSON-able parts."""
    if isinstance(optimizer, Mapping):
        state_dict, class_name = optimizer, None
    elif hasattr(optimizer, "state_dict"):
        state_dict, class_name = optimizer.state_dict(), type(optimizer).__name__
    else:
        raise TypeError(
            "optimizer must be a deepgrad optimizer or its state_dict(), received: "
            f"{type(optimizer).__name__}"
        )
    tensors: dict[str, np.ndarray] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, param_state in state_dict["state"].items():
        for name, value in param_state.items():
            if isinstance(value, np.ndarray):
                key = f"{_OPTIMIZER_PREFIX}state/{index}/{name}"
                tensors[key] = _little_endian(value)
            else:
                scalars.setdefault(str(index), {})[name] = value
    packed = {
        "class": class_name,
        "param_groups": list(state_dict["param_groups"]),
        "state": scalars,
        "indices": [int(index) for index in state_dict["state"]],
    }
    return tensors, packed


def _unpack_optimizer(
    packed: dict[str, Any], tensors: Mapping[str, np.ndarray]
) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {index: {} for index in packed["indices"]}
    for index, values in packed["state"].items():
        state[int(index)].update(values)
    prefix = f"{_OPTIMIZER_PREFIX}state/"
    for key, array in tensors.items():
        if key.startswith(prefix):
            index, name = key[len(prefix) :].split("/", 1)
            state[int(index)][name] = array
    # JSON turns tuples (Adam's betas) into lists; give them back as PyTorch has them
    param_groups = [
        {
            key: tuple(value) if isinstance(value, list) and key != "params" else value
            for key, value in group.items()
        }
        for group in packed["param_groups"]
    ]
    return {"state": state, "param_groups": param_groups}


def save(
    obj: Any,
    path: str | os.PathLike[str],
    *,
    optimizer: Any = None,
    training_state: dict[str, Any] | None = None,
) -> Path:
    """Write a model (or a Classifier, with its preprocessing) to one file.

    Parameters
    ----------
    obj : Module or deepgrad.train.Classifier
        An ``nn.Sequential`` of built-in layers (or one built-in layer), or a
        Classifier, whose standardizer, class names, task and loss are kept too
        (any object with a ``model`` and a JSON-able ``get_config()`` whose
        ``"kind"`` names it).
    path : str or PathLike
        Where to write; an existing file is replaced atomically.
    optimizer : Optimizer or dict, optional
        Stored for resuming training: an optimizer or its ``state_dict()``.
    training_state : dict, optional
        JSON-able state of the training loop (epoch, history, RNG state, ...).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    UnsupportedModuleError
        If the model holds a layer of the user's own class (a ModelFileError).
    ModelFileError
        If the folder does not exist or cannot be written.
    TypeError
        If ``obj`` is neither a Module nor a Classifier, or ``training_state``
        is not JSON-able.

    Example
    -------
    >>> import deepgrad as dg
    >>> from deepgrad import nn
    >>> model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1))
    >>> dg.save(model, "xor.dg")  # doctest: +SKIP
    PosixPath('xor.dg')
    """
    path = Path(path)
    _write_atomic(path, payload(obj, path, optimizer, training_state))
    return path


def payload(
    obj: Any, path: Path, optimizer: Any = None, training_state: Any = None
) -> bytes:
    """The bytes :func:`save` writes (``path`` only names the file in errors)."""
    from safetensors.numpy import save as safetensors_bytes

    extras: dict[str, Any]
    if isinstance(obj, Module):
        model, extras = obj, {"kind": "module"}
    elif isinstance(getattr(obj, "model", None), Module) and hasattr(obj, "get_config"):
        model, extras = obj.model, obj.get_config()
    else:
        raise TypeError(
            "deepgrad.save expects an nn.Module or a deepgrad.train.Classifier, "
            f"received: {type(obj).__name__}"
        )
    try:
        architecture = {**describe(model), "training": model.training}
    except UnsupportedModuleError as error:
        raise UnsupportedModuleError(f"{path}: {error}") from None

    tensors = {
        name: _little_endian(tensor.array)
        for name, tensor in model.state_dict().items()
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": json.dumps(architecture),
        "extras": _to_json(extras, "the classifier's extras", path, finite=True),
    }
    if optimizer is not None:
        optimizer_tensors, packed = _pack_optimizer(optimizer)
        tensors.update(optimizer_tensors)
        metadata["optimizer"] = _to_json(packed, "the optimizer state", path)
    if training_state is not None:
        metadata["training_state"] = _to_json(training_state, "training_state", path)
    metadata["sha256"] = _digest(metadata, tensors)
    data = safetensors_bytes(tensors, metadata=metadata)
    header_size = int.from_bytes(data[:8], "little")
    if header_size > _MAX_HEADER_SIZE:  # never write what read() refuses
        raise ModelFileError(
            f"{path}: cannot save: the file's header (architecture, extras, optimizer "
            f"and training state as JSON) would take {header_size} bytes, more than "
            f"the {_MAX_HEADER_SIZE} deepgrad reads; save without training_state, "
            "whose history grows with every epoch"
        )
    return data


def _write_chunks(handle: Any, payload: bytes) -> None:
    for start in range(0, len(payload), _CHUNK_SIZE):
        handle.write(payload[start : start + _CHUNK_SIZE])


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write through deepgrad.atomic: the old file stays whole on any failure."""
    folder = path.parent
    if not folder.is_dir():
        raise ModelFileError(
            f"{path}: cannot save there, the folder {folder} does not exist"
        )
    if path.is_dir():
        raise ModelFileError(f"{path}: cannot save there, it is a folder")
    with atomic_write(path) as handle:
        _write_chunks(handle, payload)


def _not_ours(path: Path) -> str:
    return (
        f"{path}: not a deepgrad model file; deepgrad.load reads files written by "
        "deepgrad.save (or `deepgrad train --out`)"
    )


def _damaged(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(
        f"{path}: the file is damaged ({problem}); do not trust it, save the model "
        "again"
    )


def _truncated(path: Path, problem: str) -> ModelFileError:
    return ModelFileError(
        f"{path}: the file is truncated: {problem}; save the model again"
    )


def _finite_number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is not finite")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than ``limit`` levels deep."""
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        container, depth = pending.pop()
        if depth > limit:
            return True
        children = container.values() if isinstance(container, dict) else container
        pending.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list)
        )
    return False


def _parse_json(text: str | bytes, *, finite: bool = False) -> Any:
    """JSON from a model file, nested at most ``_MAX_JSON_DEPTH`` levels deep.

    With ``finite``, NaN, Infinity and numbers that overflow to infinity are
    refused too. Raises ValueError saying what is wrong.
    """
    too_deep = ValueError(f"it nests more than {_MAX_JSON_DEPTH} levels deep")
    try:
        value = (
            json.loads(text, parse_float=_finite_number, parse_constant=_finite_number)
            if finite
            else json.loads(text)
        )
    except RecursionError:  # the parser recurses once a level, to sys's limit
        raise too_deep from None
    if _deeper_than(value, _MAX_JSON_DEPTH):
        raise too_deep
    return value


class _Entry(NamedTuple):
    """A tensor as the header declares it, checked against the file."""

    dtype: np.dtype
    shape: tuple[int, ...]
    start: int  # where its bytes are in the file
    stop: int


def _entry(name: str, declared: Any, data_start: int, path: Path) -> _Entry:
    """A tensor's header entry: a known dtype, a shape, and offsets that hold it."""
    if not isinstance(declared, dict) or declared.keys() != {
        "dtype",
        "shape",
        "data_offsets",
    }:
        raise _damaged(
            path,
            f"tensor {name!r} is described by {reprlib.repr(declared)}, not by its "
            "dtype, shape and data_offsets",
        )
    code, shape, offsets = (
        declared["dtype"],
        declared["shape"],
        declared["data_offsets"],
    )
    if not isinstance(code, str) or code not in _DTYPES:
        raise _damaged(
            path,
            f"tensor {name!r} has the dtype {reprlib.repr(code)}; a model file holds "
            f"{', '.join(_DTYPES)}",
        )
    if not (
        isinstance(shape, list)
        and len(shape) <= _MAX_DIMENSIONS
        and all(_is_count(size) for size in shape)
    ):
        raise _damaged(path, f"tensor {name!r} has the shape {reprlib.repr(shape)}")
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(_is_count(offset) for offset in offsets)
    ):
        raise _damaged(
            path, f"tensor {name!r} has the data_offsets {reprlib.repr(offsets)}"
        )
    dtype, (start, stop) = _DTYPES[code], offsets
    needed = math.prod(shape) * dtype.itemsize
    if stop - start != needed:
        raise _damaged(
            path,
            f"tensor {name!r} of shape {tuple(shape)} and dtype {code} takes "
            f"{needed} bytes, but its data_offsets {offsets} span {stop - start}",
        )
    return _Entry(dtype, tuple(shape), data_start + start, data_start + stop)


def _read_layout(
    handle: BufferedReader, path: Path
) -> tuple[dict[str, str], dict[str, _Entry]]:
    """Read and check the header: the metadata, and where each tensor's bytes are.

    Only the 8-byte length and the header are read, the header's size is capped,
    and every tensor is checked to lie in the file, so neither a huge file nor a
    lying header costs memory.
    """
    file_size = os.fstat(handle.fileno()).st_size
    if file_size <= 8:
        raise ModelFileError(
            f"{path}: the file is truncated or not a deepgrad model file: it is only "
            f"{file_size} bytes long"
        )
    header_size = int.from_bytes(handle.read(8), "little")
    if header_size > _MAX_HEADER_SIZE:
        raise ModelFileError(
            f"{_not_ours(path)}: its header would be {header_size} bytes long, and "
            f"deepgrad's take at most {_MAX_HEADER_SIZE}; or it is damaged"
        )
    if handle.read(1) != b"{":
        raise ModelFileError(
            f"{_not_ours(path)}: it has no safetensors header; or it is damaged"
        )
    data_start = 8 + header_size
    if data_start > file_size:  # cut short, or a flipped bit in the length
        raise ModelFileError(
            f"{path}: the file is truncated or damaged: its header needs "
            f"{header_size} bytes but only {file_size - 8} follow; save the model again"
        )
    handle.seek(8)
    try:
        header = _parse_json(handle.read(header_size))
    except ValueError as error:
        raise _damaged(path, f"its header is not valid JSON: {error}") from None
    if not isinstance(header, dict):
        raise _damaged(path, "its header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str) for value in metadata.values()
    ):
        raise _damaged(path, "its __metadata__ is not a table of strings")
    entries = {
        name: _entry(name, declared, data_start, path)
        for name, declared in header.items()
    }
    # safetensors writes the tensors' bytes one after another, right after the
    # header, and nothing after them
    position = data_start
    in_file_order = sorted(entries.items(), key=lambda item: item[1].start)
    for name, entry in in_file_order:
        if entry.start != position:
            raise _damaged(
                path,
                f"tensor {name!r} starts at byte {entry.start - data_start} of the "
                f"data, where {position - data_start} was expected",
            )
        position = entry.stop
    if position > file_size:
        raise _truncated(
            path,
            f"its tensors need {position - data_start} bytes but only "
            f"{file_size - data_start} are there",
        )
    if position < file_size:
        raise _damaged(path, f"{file_size - position} bytes follow its tensors")
    return metadata, entries


def _pieces(handle: BufferedReader, entry: _Entry, path: Path) -> Iterator[bytes]:
    """A tensor's bytes, read _CHUNK_SIZE at a time."""
    handle.seek(entry.start)
    for start in range(entry.start, entry.stop, _CHUNK_SIZE):
        size = min(_CHUNK_SIZE, entry.stop - start)
        piece = handle.read(size)
        if len(piece) != size:
            raise _truncated(path, "it became shorter while it was read")
        yield piece


def _read_tensor(handle: BufferedReader, entry: _Entry, path: Path) -> np.ndarray:
    array = np.empty(entry.shape, entry.dtype)
    handle.seek(entry.start)
    count = handle.readinto(array.reshape(-1).view(np.uint8).data)
    if count != entry.stop - entry.start:
        raise _truncated(path, "it became shorter while it was read")
    return array


def _check_signature(
    handle: BufferedReader,
    metadata: dict[str, str],
    entries: dict[str, _Entry],
    path: Path,
) -> None:
    """Is it a deepgrad file, unmodified since it was saved, of a version we read?

    The checksum decides before the format and its version do, so a flipped byte
    in any field reads as damage, not as another format or a newer version (every
    format version keeps this signature, so a newer file still asks for an
    upgrade). The file is hashed as it is read, a piece at a time.
    """
    signed = metadata.get("sha256")
    if metadata.get("format") != FORMAT and (
        signed is None or "architecture" not in metadata
    ):
        raise ModelFileError(
            f"{_not_ours(path)}: a safetensors file without deepgrad's metadata"
        )
    found = _signature(
        metadata,
        (
            (name, entry.dtype, entry.shape, _pieces(handle, entry, path))
            for name, entry in sorted(entries.items())
        ),
    )
    if signed != found:
        raise _damaged(
            path,
            "it was modified or corrupted after it was saved: its sha256 checksum "
            "does not match",
        )
    if metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{_not_ours(path)}: its format is {metadata.get('format')!r}"
        )
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: unknown deepgrad model format version {version!r}; this deepgrad "
            f"reads version {FORMAT_VERSION!r}: upgrade deepgrad to load it"
        )


def _json_field(
    metadata: Mapping[str, str], key: str, path: Path, *, finite: bool = False
) -> Any:
    if key not in metadata:
        return None
    try:
        return _parse_json(metadata[key], finite=finite)
    except ValueError as error:
        raise ModelFileError(
            f"{path}: the file's {key} is not valid JSON ({error})"
        ) from None


def _check_weights(
    layers: list[_Layer], entries: Mapping[str, _Entry], path: Path
) -> None:
    """The layers need exactly the tensors the file holds, shape for shape."""
    weights = {
        name: entry
        for name, entry in entries.items()
        if not name.startswith(_OPTIMIZER_PREFIX)
    }
    for layer in layers:
        shapes = _TENSORS.get(layer.class_name, lambda arguments: {})(layer.arguments)
        for name, shape in shapes.items():
            key = layer.prefix + name
            entry = weights.pop(key, None)
            if entry is None:
                problem = "the file holds no such tensor"
            elif entry.shape != shape:
                problem = f"the file holds one of shape {entry.shape}"
            elif entry.dtype.kind not in ("iu" if name in _COUNTS else "f"):
                problem = f"the file holds one of dtype {entry.dtype}"
            else:
                continue
            raise ModelFileError(
                f"{path}: {layer} needs {key!r} of shape {shape}, and {problem}; the "
                "architecture and the weights disagree"
            )
    if weights:
        raise ModelFileError(
            f"{path}: the file holds the tensor {next(iter(weights))!r}, which no "
            "layer of its architecture has; the architecture and the weights disagree"
        )


# What a Classifier's get_config() holds besides its kind (see
# deepgrad.train.Classifier); each may be null.
_CLASSIFIER_EXTRAS: dict[str, type] = {
    "standardizer": dict,
    "target_standardizer": dict,
    "class_names": list,
    "task": str,
    "loss": str,
    "feature_names": list,
    "target_name": str,
    "training_data": dict,
}


def _check_extras(extras: Any, path: Path) -> None:
    if not isinstance(extras, dict) or not isinstance(extras.get("kind"), str):
        raise ModelFileError(
            f"{path}: the file's extras are {reprlib.repr(extras)}, not a JSON object "
            "naming their kind"
        )
    if extras["kind"] != "classifier":
        return
    for key, kind in _CLASSIFIER_EXTRAS.items():
        value = extras.get(key)
        if value is not None and not isinstance(value, kind):
            raise ModelFileError(
                f"{path}: the classifier's {key} is {reprlib.repr(value)}, not a "
                f"{kind.__name__}"
            )
    if not all(isinstance(name, str) for name in extras.get("class_names") or []):
        raise ModelFileError(
            f"{path}: the classifier's class_names "
            f"{reprlib.repr(extras['class_names'])} are not all text"
        )
    # the targets' scaling: a mean and a scale per output, for regression only
    scaling = extras.get("target_standardizer")
    if scaling is not None:
        columns = [scaling.get(key) for key in ("mean", "scale")]
        if (
            extras.get("task") != "regression"
            or not all(isinstance(column, list) and column for column in columns)
            or len(columns[0]) != len(columns[1])
            or not all(
                isinstance(value, (int, float)) and not isinstance(value, bool)
                for column in columns
                for value in column
            )
        ):
            raise ModelFileError(
                f"{path}: the classifier's target_standardizer "
                f"{reprlib.repr(scaling)} is not a mean and a scale per regression "
                f"output (its task is {extras.get('task')!r})"
            )


def _is_index_list(value: Any) -> bool:
    return isinstance(value, list) and all(_is_count(index) for index in value)


def _check_optimizer(packed: Any, entries: Mapping[str, _Entry], path: Path) -> None:
    """The optimizer state has _pack_optimizer's layout, and owns its tensors."""

    def malformed(problem: str) -> ModelFileError:
        return ModelFileError(f"{path}: the file's optimizer state is {problem}")

    tensors = [name for name in entries if name.startswith(_OPTIMIZER_PREFIX)]
    if packed is None:
        if tensors:
            raise malformed(
                f"missing, but it holds the optimizer tensor {tensors[0]!r}"
            )
        return
    if not isinstance(packed, dict) or not {"param_groups", "state", "indices"} <= (
        packed.keys()
    ):
        raise malformed(
            f"{reprlib.repr(packed)}, not a JSON object with param_groups, state and "
            "indices"
        )
    groups, state, indices = packed["param_groups"], packed["state"], packed["indices"]
    if not isinstance(groups, list) or not all(
        isinstance(group, dict) and _is_index_list(group.get("params"))
        for group in groups
    ):
        raise malformed(
            f"malformed: param_groups {reprlib.repr(groups)} are not groups listing "
            "their parameters' indices as params"
        )
    if not _is_index_list(indices):
        raise malformed(
            f"malformed: indices {reprlib.repr(indices)} are not parameter indices"
        )
    orphans = set(indices).difference(
        index for group in groups for index in group["params"]
    )
    if orphans:
        raise malformed(
            f"malformed: it has state for the parameter {min(orphans)}, which no "
            "param group holds"
        )
    names = {str(index) for index in indices}
    if not isinstance(state, dict) or not all(
        key in names and isinstance(values, dict) for key, values in state.items()
    ):
        raise malformed(
            f"malformed: its state {reprlib.repr(state)} is not a table of parameter "
            "indices"
        )
    prefix = f"{_OPTIMIZER_PREFIX}state/"
    for name in tensors:
        index, _, value_name = name.removeprefix(prefix).partition("/")
        if not name.startswith(prefix) or index not in names or not value_name:
            raise malformed(f"malformed: the tensor {name!r} is no parameter's state")


class _Fields(NamedTuple):
    """The metadata a model file holds besides its tensors, checked."""

    architecture: dict[str, Any]
    extras: dict[str, Any]
    optimizer: dict[str, Any] | None  # as _pack_optimizer wrote it
    training_state: dict[str, Any] | None


def _read_fields(
    metadata: Mapping[str, str], entries: Mapping[str, _Entry], path: Path
) -> _Fields:
    """Parse and check the JSON fields; the architecture against the tensors."""
    architecture = _json_field(metadata, "architecture", path, finite=True)
    if not isinstance(architecture, dict) or not isinstance(
        architecture.get("training", False), bool
    ):
        raise ModelFileError(
            f"{path}: the file's architecture is {reprlib.repr(architecture)}, not a "
            "model's description"
        )
    _check_weights(_layers(architecture, "the model", "", path), entries, path)
    extras = _json_field(metadata, "extras", path, finite=True)
    extras = {"kind": "module"} if extras is None else extras
    _check_extras(extras, path)
    optimizer = _json_field(metadata, "optimizer", path)
    _check_optimizer(optimizer, entries, path)
    training_state = _json_field(metadata, "training_state", path)
    if training_state is not None and not isinstance(training_state, dict):
        raise ModelFileError(
            f"{path}: the file's training_state is {reprlib.repr(training_state)}, "
            "not a JSON object"
        )
    return _Fields(architecture, extras, optimizer, training_state)


def _rebuild_model(
    architecture: dict[str, Any], tensors: Mapping[str, np.ndarray], path: Path
) -> Module:
    # Building initialises weights from the global generator; loading must not
    # change the random numbers a seeded script draws next.
    generator = default_generator()
    rng_state = generator.get_state()
    try:
        model = _build(architecture, path)
    finally:
        generator.set_state(rng_state)
    model.load_state_dict(  # _check_weights matched every key and shape
        {
            name: array
            for name, array in tensors.items()
            if not name.startswith(_OPTIMIZER_PREFIX)
        }
    )
    model.train(architecture.get("training", False))
    return model


class Contents(NamedTuple):
    """What :func:`read` finds in a model file."""

    model: Module  # rebuilt with its weights, in the mode it was saved in
    extras: dict[str, Any]  # {"kind": "module"}, or the get_config() of what held it
    optimizer_state: dict[str, Any] | None  # in Optimizer.state_dict()'s layout
    training_state: dict[str, Any] | None  # as passed to save


def read(path: str | os.PathLike[str]) -> Contents:
    """Check a model file from end to end and rebuild the model it holds.

    The header is read first and checked: its size, the tensors' shapes and
    bytes against the file's length, the sha256 checksum (streamed), the format
    version, then the architecture's layers against the tensors; only then are
    the tensors read and the model built.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, modified after saving, of an unknown
        format version, not a deepgrad model file, or inconsistent (its
        architecture needs other tensors than it holds). The file is only read.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file; check the path")
    if not path.is_file():
        raise ModelFileError(f"{path}: is not a file (a folder?); give a model file")
    try:
        with open(path, "rb") as handle:
            return read_from(handle, path, *_read_layout(handle, path))
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read it: {error.strerror}") from None


def read_from(
    handle: BufferedReader,
    path: Path,
    metadata: dict[str, str],
    entries: dict[str, _Entry],
) -> Contents:
    """:func:`read`, from an open file whose header ``_read_layout`` checked."""
    try:
        _check_signature(handle, metadata, entries, path)
        fields = _read_fields(metadata, entries, path)
        tensors = {
            name: _read_tensor(handle, entry, path) for name, entry in entries.items()
        }
        model = _rebuild_model(fields.architecture, tensors, path)
    except MemoryError:
        raise ModelFileError(
            f"{path}: the model it holds does not fit in the memory available"
        ) from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read it: {error.strerror}") from None
    optimizer_state = (
        None
        if fields.optimizer is None
        else _unpack_optimizer(fields.optimizer, tensors)
    )
    return Contents(model, fields.extras, optimizer_state, fields.training_state)
