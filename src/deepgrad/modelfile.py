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
Saving writes a temporary file beside the target and renames it over the target,
so a crash mid-save leaves the previous file as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from deepgrad import nn
from deepgrad.nn.module import Module
from deepgrad.tensor import default_generator

FORMAT = "deepgrad"
FORMAT_VERSION = "1"
_OPTIMIZER_PREFIX = "optimizer/"
_CHUNK_SIZE = 1 << 20


class ModelFileError(ValueError):
    """A model file that cannot be written or read: the message names the path."""


class UnsupportedModuleError(ModelFileError, TypeError):
    """A model holding a layer that a model file cannot describe."""


def _dtype_name(tensor: Any) -> str:
    return str(tensor.data.dtype)


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


def _build(node: Any, path: Path) -> Module:
    """Rebuild a module from ``describe``'s output (weights freshly initialised)."""
    if not isinstance(node, dict) or not isinstance(node.get("config"), dict):
        raise ModelFileError(
            f"{path}: the architecture holds a malformed entry {node!r}"
        )
    entry = LAYERS.get(node.get("class"))  # type: ignore[arg-type]
    if entry is None:
        raise ModelFileError(
            f"{path}: the architecture names the unknown layer {node.get('class')!r}; "
            f"this deepgrad rebuilds {', '.join(LAYERS)}"
        )
    cls, _ = entry
    config = dict(node["config"])
    if cls is nn.Sequential:
        layers = config.get("layers")
        if not isinstance(layers, list):
            raise ModelFileError(
                f"{path}: a Sequential in the architecture has no layers"
            )
        children = OrderedDict()
        for item in layers:
            child = _build(item, path)  # checks that item is a dict
            children[str(item.get("name"))] = child
        return nn.Sequential(children)  # type: ignore[arg-type]  # an OrderedDict
    try:
        return cls(**config)
    except (TypeError, ValueError, MemoryError) as error:
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


def _digest(metadata: Mapping[str, str], tensors: Mapping[str, np.ndarray]) -> str:
    """sha256 over the metadata (but "sha256") and every tensor, in name order."""
    digest = hashlib.sha256()
    signed = {key: value for key, value in metadata.items() if key != "sha256"}
    digest.update(json.dumps(signed, sort_keys=True).encode())
    for name in sorted(tensors):
        array = tensors[name]
        digest.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _to_json(value: Any, what: str, path: Path) -> str:
    def plain(item: Any) -> Any:
        if isinstance(item, np.generic):
            return item.item()
        raise TypeError(
            f"cannot save {what} to {path}: it must be JSON-able (dicts, lists, "
            f"strings, numbers), received a value of type {type(item).__name__}"
        )

    return json.dumps(value, default=plain)


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
    from safetensors.numpy import save as safetensors_bytes

    path = Path(path)
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
        name: _little_endian(tensor.data) for name, tensor in model.state_dict().items()
    }
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": json.dumps(architecture),
        "extras": _to_json(extras, "the classifier's extras", path),
    }
    if optimizer is not None:
        optimizer_tensors, packed = _pack_optimizer(optimizer)
        tensors.update(optimizer_tensors)
        metadata["optimizer"] = _to_json(packed, "the optimizer state", path)
    if training_state is not None:
        metadata["training_state"] = _to_json(training_state, "training_state", path)
    metadata["sha256"] = _digest(metadata, tensors)
    _write_atomic(path, safetensors_bytes(tensors, metadata=metadata))
    return path


def _write_chunks(handle: Any, payload: bytes) -> None:
    for start in range(0, len(payload), _CHUNK_SIZE):
        handle.write(payload[start : start + _CHUNK_SIZE])


def _write_atomic(path: Path, payload: bytes) -> None:
    """Write to a temporary file in the same folder, fsync it, rename it over path.

    os.replace is atomic on one file system, so a reader sees the old file or the
    new one, never half of one; the temporary file is removed on any failure.
    """
    folder = path.parent
    if not folder.is_dir():
        raise ModelFileError(
            f"{path}: cannot save there, the folder {folder} does not exist"
        )
    if path.is_dir():
        raise ModelFileError(f"{path}: cannot save there, it is a folder")
    umask = os.umask(0)
    os.umask(umask)
    descriptor, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _write_chunks(handle, payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 -> an ordinary file's mode
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # make the rename itself durable (not possible on every platform)
    with contextlib.suppress(OSError):
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _read(path: Path) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """Check a model file from end to end and return its metadata and tensors."""
    from safetensors import SafetensorError
    from safetensors.numpy import load as safetensors_load

    if not path.exists():
        raise ModelFileError(f"{path}: no such model file; check the path")
    if not path.is_file():
        raise ModelFileError(f"{path}: is not a file (a folder?); give a model file")
    raw = path.read_bytes()
    not_ours = (
        f"{path}: not a deepgrad model file; deepgrad.load reads files written by "
        "deepgrad.save (or `deepgrad train --out`)"
    )
    if len(raw) <= 8:
        raise ModelFileError(
            f"{path}: the file is truncated or not a deepgrad model file: it is only "
            f"{len(raw)} bytes long"
        )
    header_size = int.from_bytes(raw[:8], "little")
    if raw[8:9] != b"{":
        raise ModelFileError(f"{not_ours}: it has no safetensors header")
    if 8 + header_size > len(raw):
        raise ModelFileError(
            f"{path}: the file is truncated: its header needs {header_size} bytes but "
            f"only {len(raw) - 8} follow; save the model again"
        )
    try:
        header = json.loads(raw[8 : 8 + header_size])
        metadata = header.pop("__metadata__", None) or {}
        data_size = max(
            (int(entry["data_offsets"][1]) for entry in header.values()), default=0
        )
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise ModelFileError(
            f"{path}: the file's header is corrupted ({error})"
        ) from None
    if metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{not_ours}: a safetensors file without deepgrad's metadata"
        )
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: unknown deepgrad model format version {version!r}; this deepgrad "
            f"reads version {FORMAT_VERSION!r}: upgrade deepgrad to load it"
        )
    available = len(raw) - 8 - header_size
    if available < data_size:
        raise ModelFileError(
            f"{path}: the file is truncated: its tensors need {data_size} bytes but "
            f"only {available} are there; save the model again"
        )
    try:
        tensors = safetensors_load(raw)
    except (SafetensorError, ValueError) as error:
        raise ModelFileError(
            f"{path}: the file's tensors are corrupted ({error})"
        ) from None
    if metadata.get("sha256") != _digest(metadata, tensors):
        raise ModelFileError(
            f"{path}: the file was modified or corrupted after it was saved (its "
            "sha256 checksum does not match); do not trust it, save the model again"
        )
    return metadata, tensors


def _json_field(metadata: Mapping[str, str], key: str, path: Path) -> Any:
    if key not in metadata:
        return None
    try:
        return json.loads(metadata[key])
    except ValueError as error:
        raise ModelFileError(
            f"{path}: the file's {key} is not valid JSON ({error})"
        ) from None


def _rebuild_model(
    architecture: Any, tensors: Mapping[str, np.ndarray], path: Path
) -> Module:
    # Building initialises weights from the global generator; loading must not
    # change the random numbers a seeded script draws next.
    generator = default_generator().bit_generator
    rng_state = generator.state
    try:
        model = _build(architecture, path)
    except RecursionError:
        raise ModelFileError(
            f"{path}: the architecture nests Sequentials too deeply to rebuild"
        ) from None
    finally:
        generator.state = rng_state
    weights = {
        name: array
        for name, array in tensors.items()
        if not name.startswith(_OPTIMIZER_PREFIX)
    }
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:
        raise ModelFileError(
            f"{path}: the weights do not fit the architecture: {error}"
        ) from None
    model.train(bool(architecture.get("training", False)))
    return model


class Contents(NamedTuple):
    """What :func:`read` finds in a model file."""

    model: Module  # rebuilt with its weights, in the mode it was saved in
    extras: dict[str, Any]  # {"kind": "module"}, or the get_config() of what held it
    optimizer_state: dict[str, Any] | None  # in Optimizer.state_dict()'s layout
    training_state: dict[str, Any] | None  # as passed to save


def read(path: str | os.PathLike[str]) -> Contents:
    """Check a model file from end to end and rebuild the model it holds.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, modified after saving, of an unknown
        format version, or not a deepgrad model file. The file is only read.
    """
    path = Path(path)
    metadata, tensors = _read(path)
    architecture = _json_field(metadata, "architecture", path)
    extras = _json_field(metadata, "extras", path) or {"kind": "module"}
    model = _rebuild_model(architecture, tensors, path)
    packed = _json_field(metadata, "optimizer", path)
    optimizer_state = None if packed is None else _unpack_optimizer(packed, tensors)
    return Contents(
        model, extras, optimizer_state, _json_field(metadata, "training_state", path)
    )
