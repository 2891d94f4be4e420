"""Files of what people save with ``torch.save``: state_dicts, checkpoints, nests.

``dg.save(obj, f)`` of anything but a model writes this format: a plain
safetensors file whose tensors are the Tensors and NumPy arrays found in
``obj``, under generated keys (``"0"``, ``"1"``, ...), with the structure
around them as JSON in the metadata::

    format          "deepgrad-object"
    format_version  "1"
    structure       {"dict": [["model", {"ordered_dict": [["0.weight",
                     {"tensor": "0", "requires_grad": false}], ...]}],
                     ["epoch", 5]]}
    sha256          as in a model file (modelfile's signature)

Numbers, strings, True/False/None are JSON as they are (a float that is not
finite as ``{"float": "nan"}``); every container is an object naming its kind
(dict, ordered_dict, list, tuple), so a dict of the user's never reads as one of
ours. A tensor met twice (tied weights) is stored once and loaded as one
tensor. Loading never runs code from the file (no pickle): it reads the header
with modelfile's checks, verifies the checksum, and rebuilds only the kinds above.
"""

from __future__ import annotations

import json
import math
import reprlib
from collections import OrderedDict
from collections.abc import Mapping
from io import BufferedReader
from pathlib import Path
from typing import Any

import numpy as np

from deepgrad.modelfile import (
    _DTYPES,
    _MAX_HEADER_SIZE,
    _MAX_JSON_DEPTH,
    ModelFileError,
    _damaged,
    _deeper_than,
    _digest,
    _little_endian,
    _parse_json,
    _pieces,
    _read_tensor,
    _signature,
)
from deepgrad.nn.module import Module, Parameter
from deepgrad.tensor import Tensor

FORMAT = "deepgrad-object"
FORMAT_VERSION = "1"
_SAVED_DTYPES = set(_DTYPES.values())
_TENSOR_TAGS = ("tensor", "ndarray", "numpy_scalar")
_CONTAINERS = {"dict": dict, "ordered_dict": OrderedDict, "list": list, "tuple": tuple}


class _Encoder:
    """Turns ``obj`` into JSON-able structure and a table of arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.keys: dict[int, str] = {}  # id of a tensor or array -> its key
        self.kept: list[Any] = []  # keeps those ids alive while encoding
        self.bools: list[str] = []  # keys of bool arrays, stored as uint8

    def encode(self, value: Any, where: str) -> Any:
        if isinstance(value, np.generic) and not isinstance(value, np.str_):
            # before float: np.float64 is a float too
            return {"numpy_scalar": self._key(value, np.asarray(value), where)}
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, Tensor):
            return {
                "tensor": self._key(value, value.array, where),
                "requires_grad": value.requires_grad,
                "parameter": isinstance(value, Parameter),
            }
        if isinstance(value, np.ndarray):
            return {"ndarray": self._key(value, value, where)}
        if isinstance(value, Mapping):
            kind = "ordered_dict" if isinstance(value, OrderedDict) else "dict"
            return {kind: [self._item(key, item, where) for key, item in value.items()]}
        if isinstance(value, list | tuple) and type(value) in (list, tuple):
            kind = "list" if isinstance(value, list) else "tuple"
            return {
                kind: [
                    self.encode(item, f"{where}[{i}]") for i, item in enumerate(value)
                ]
            }
        hint = (
            "; save its state_dict() instead (or the Module alone, as a model file)"
            if isinstance(value, Module)
            else ": deepgrad saves Tensors, NumPy arrays, numbers, strings, "
            "True/False/None, and dicts, lists and tuples of them"
        )
        raise TypeError(f"{where}: cannot save a {type(value)}{hint}")

    def _item(self, key: Any, value: Any, where: str) -> list[Any]:
        if not (key is None or isinstance(key, bool | int | float | str)):
            raise TypeError(
                f"{where}: cannot save a dict key of {type(key)} ({key!r}): keys "
                "must be strings, numbers, True/False or None"
            )
        return [self.encode(key, where), self.encode(value, f"{where}[{key!r}]")]

    def _key(self, owner: Any, array: np.ndarray, where: str) -> str:
        if id(owner) in self.keys:
            return self.keys[id(owner)]
        stored = _little_endian(array)
        key = str(len(self.arrays))
        if stored.dtype == np.bool_:
            stored = stored.view(np.uint8)
            self.bools.append(key)
        if stored.dtype not in _SAVED_DTYPES:
            raise TypeError(
                f"{where}: cannot save an array of dtype {array.dtype}; deepgrad "
                "saves bool, integer and float16/32/64 arrays"
            )
        self.arrays[key] = stored
        self.keys[id(owner)] = key
        self.kept.append(owner)
        return key


def payload(obj: Any) -> bytes:
    """The bytes of the file ``dg.save(obj, f)`` writes for a structure."""
    from safetensors.numpy import save as safetensors_bytes

    encoder = _Encoder()
    structure = encoder.encode(obj, "obj")
    if _deeper_than(structure, _MAX_JSON_DEPTH):
        raise ValueError(
            f"obj: cannot save it: it nests more than {_MAX_JSON_DEPTH // 2} "
            "containers deep"
        )
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "structure": json.dumps(structure),
    }
    if encoder.bools:
        metadata["bool_arrays"] = json.dumps(encoder.bools)
    metadata["sha256"] = _digest(metadata, encoder.arrays)
    data = safetensors_bytes(encoder.arrays, metadata=metadata)
    header_size = int.from_bytes(data[:8], "little")
    if header_size > _MAX_HEADER_SIZE:
        raise ValueError(
            f"obj: cannot save it: its structure takes {header_size} bytes of JSON, "
            f"more than the {_MAX_HEADER_SIZE} deepgrad reads"
        )
    return data


def is_object_file(metadata: Mapping[str, str]) -> bool:
    """Whether a file's metadata says it is this format (not a model file)."""
    return metadata.get("format") == FORMAT


def read(
    handle: BufferedReader,
    metadata: dict[str, str],
    entries: dict[str, Any],
    path: Path,
) -> Any:
    """Rebuild the structure of a file whose header ``_read_layout`` checked."""
    if metadata.get("sha256") != _signature(
        metadata,
        (
            (name, entry.dtype, entry.shape, _pieces(handle, entry, path))
            for name, entry in sorted(entries.items())
        ),
    ):
        raise _damaged(
            path,
            "it was modified or corrupted after it was saved: its sha256 checksum "
            "does not match",
        )
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: unknown deepgrad object format version {version!r}; this "
            f"deepgrad reads version {FORMAT_VERSION!r}: upgrade deepgrad to load it"
        )
    try:
        structure = _parse_json(metadata.get("structure", ""))
        bools = _parse_json(metadata.get("bool_arrays", "[]"))
    except ValueError as error:
        raise _damaged(path, f"its structure is not valid JSON: {error}") from None
    if not isinstance(bools, list) or not all(isinstance(b, str) for b in bools):
        raise _damaged(path, f"its bool_arrays are {reprlib.repr(bools)}")
    arrays = {
        name: _read_tensor(handle, entry, path) for name, entry in entries.items()
    }
    for name in set(bools) & arrays.keys():
        arrays[name] = arrays[name].view(np.bool_)
    return _Decoder(arrays, path).decode(structure)


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], path: Path) -> None:
        self.arrays = arrays
        self.path = path
        self.made: dict[str, Any] = {}  # one object per key: sharing survives

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, dict) and len(node) >= 1:
            tag = next(iter(node))
            if tag == "float" and isinstance(node[tag], str) and len(node) == 1:
                return float(node[tag])
            if tag in _CONTAINERS and isinstance(node[tag], list) and len(node) == 1:
                return self._container(tag, node[tag])
            if tag in _TENSOR_TAGS and node.get(tag) in self.arrays:
                return self._tensor(tag, node)
        raise _damaged(self.path, f"its structure holds {reprlib.repr(node)}")

    def _container(self, tag: str, items: list[Any]) -> Any:
        if tag in ("list", "tuple"):
            return _CONTAINERS[tag](self.decode(item) for item in items)
        if not all(isinstance(item, list) and len(item) == 2 for item in items):
            raise _damaged(self.path, f"its structure holds {reprlib.repr(items)}")
        return _CONTAINERS[tag](
            (self.decode(key), self.decode(value)) for key, value in items
        )

    def _tensor(self, tag: str, node: dict[str, Any]) -> Any:
        key = node[tag]
        if key not in self.made:
            array = self.arrays[key]
            if tag == "ndarray":
                made: Any = array
            elif tag == "numpy_scalar":
                made = array[()]
            elif node.get("parameter"):
                made = Parameter(array, requires_grad=bool(node.get("requires_grad")))
            else:
                made = Tensor(array, requires_grad=bool(node.get("requires_grad")))
            self.made[key] = made
        return self.made[key]
