"""Save and load models and Classifiers: ``dg.save``, ``dg.load``, checkpoints.

A model or a Classifier is saved in :mod:`deepgrad.modelfile`'s format (one
safetensors file: the weights under PyTorch's keys, the architecture,
preprocessing, optimizer and training state as JSON metadata, a sha256 over all
of it, atomic writes, no pickle); anything else people save with ``torch.save``
(a ``state_dict``, an optimizer's, a checkpoint dict of several, nested dicts and
lists of tensors and numbers) in :mod:`deepgrad.objectfile`'s, safetensors too.
``dg.load`` tells the two apart by the file's metadata. This module sits above
the training loop, so that loading can rebuild a
:class:`~deepgrad.train.Classifier`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NamedTuple

from deepgrad import modelfile, objectfile
from deepgrad.devices import check_device
from deepgrad.modelfile import (
    FORMAT,
    FORMAT_VERSION,
    LAYERS,
    ModelFileError,
    UnsupportedModuleError,
    describe,
)
from deepgrad.nn.module import Module
from deepgrad.train import Classifier

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "LAYERS",
    "Checkpoint",
    "ModelFileError",
    "UnsupportedModuleError",
    "describe",
    "load",
    "load_checkpoint",
    "save",
]


class Checkpoint(NamedTuple):
    """What :func:`load_checkpoint` returns.

    Attributes
    ----------
    obj : Module or Classifier
        The saved object, rebuilt with its weights.
    optimizer_state : dict or None
        In ``Optimizer.state_dict()``'s layout, ready for ``load_state_dict``.
    training_state : dict or None
        The JSON-able training state passed to :func:`save`.
    """

    obj: Any
    optimizer_state: dict[str, Any] | None
    training_state: dict[str, Any] | None


def _rebuild_classifier(model: Module, extras: dict[str, Any], path: Path) -> Any:
    try:
        return Classifier.from_config(model, extras)
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            f"{path}: cannot rebuild the classifier it holds: {error}"
        ) from None


def _is_model(obj: Any) -> bool:
    """A Module, or what holds one with its config (a Classifier): a model file."""
    return isinstance(obj, Module) or (
        isinstance(getattr(obj, "model", None), Module) and hasattr(obj, "get_config")
    )


def _is_file_object(f: Any) -> bool:
    return hasattr(f, "write") or hasattr(f, "read")


def _file_name(f: Any) -> Path:
    if not _is_file_object(f):
        return Path(f)
    name = getattr(f, "name", None)
    return Path(name) if isinstance(name, str) else Path("<file object>")


def save(
    obj: Any,
    f: str | os.PathLike[str] | IO[bytes],
    *,
    optimizer: Any = None,
    training_state: dict[str, Any] | None = None,
) -> Path | None:
    """Save a model, or what people save with ``torch.save``, to one file.

    Parameters
    ----------
    obj : Module, Classifier, or a structure of tensors
        A Module (an ``nn.Sequential`` of built-in layers) or a Classifier is
        written as a model file, architecture and weights, that ``dg.load``
        rebuilds. Anything else may be a Tensor, a NumPy array, a number, a
        string, True/False/None, or a dict, list or tuple of them, nested: a
        ``state_dict()``, an optimizer's ``state_dict()``, a checkpoint such as
        ``{"model": model.state_dict(), "optimizer": opt.state_dict(),
        "epoch": 5}``.
    f : str, PathLike or binary file object
        Where to write; a file at a path is replaced atomically.
    optimizer, training_state : optional
        Only with a model: see :func:`deepgrad.modelfile.save`.

    Returns
    -------
    pathlib.Path or None
        The path written (None for a file object).

    Raises
    ------
    TypeError
        If ``obj`` holds something else (a set, a Module inside a dict, ...),
        naming where: ``obj['model']['fc.weight']: cannot save a <class 'set'>``.
    ModelFileError
        If the folder does not exist or cannot be written.

    Example
    -------
    >>> dg.save({"model": model.state_dict(), "epoch": 5}, "ckpt.dg")  # doctest: +SKIP
    >>> model.load_state_dict(dg.load("ckpt.dg")["model"])  # doctest: +SKIP
    """
    if _is_model(obj):
        if not _is_file_object(f):
            return modelfile.save(
                obj, f, optimizer=optimizer, training_state=training_state
            )
        f.write(modelfile.payload(obj, _file_name(f), optimizer, training_state))
        return None
    if optimizer is not None or training_state is not None:
        raise TypeError(
            "save: optimizer= and training_state= go with a model; to save them "
            "with a state_dict, put them in the dict: dg.save({'model': ..., "
            "'optimizer': optimizer.state_dict(), ...}, f)"
        )
    data = objectfile.payload(obj)
    if _is_file_object(f):
        f.write(data)
        return None
    path = Path(f)
    modelfile._write_atomic(path, data)
    return path


@contextmanager
def _opened(f: Any) -> Iterator[tuple[Any, Path]]:
    """A readable, seekable file with a descriptor, and the name for errors."""
    if not _is_file_object(f):
        path = Path(f)
        if not path.exists():
            raise ModelFileError(f"{path}: no such model file; check the path")
        if not path.is_file():
            raise ModelFileError(
                f"{path}: is not a file (a folder?); give a model file"
            )
        try:
            with open(path, "rb") as handle:
                yield handle, path
        except OSError as error:
            raise ModelFileError(f"{path}: cannot read it: {error.strerror}") from None
        return
    with tempfile.TemporaryFile() as handle:  # a file object: copied, then read
        while chunk := f.read(modelfile._CHUNK_SIZE):
            handle.write(chunk)
        handle.seek(0)
        yield handle, _file_name(f)


def _read(f: Any) -> tuple[bool, Any]:
    """(True, the structure) for an object file, (False, Contents) for a model."""
    with _opened(f) as (handle, path):
        metadata, entries = modelfile._read_layout(handle, path)
        if objectfile.is_object_file(metadata):
            return True, objectfile.read(handle, metadata, entries, path)
        return False, modelfile.read_from(handle, path, metadata, entries)


def _check_map_location(map_location: Any) -> None:
    """``map_location`` may only name the CPU (a callable is accepted as is)."""
    if map_location is None or callable(map_location):
        return
    if isinstance(map_location, Mapping):
        for value in map_location.values():
            check_device(value, "load(map_location=...)")
        return
    check_device(map_location, "load(map_location=...)")


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a file written by :func:`save`, with its optimizer and training state.

    Parameters
    ----------
    path : str or PathLike
        A deepgrad model file.

    Returns
    -------
    Checkpoint
        ``(obj, optimizer_state, training_state)``; the last two are None when
        the file holds only a model.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, modified after saving, of an unknown
        format version, or not a deepgrad model file. The file is only read.

    Example
    -------
    >>> checkpoint = load_checkpoint("run.dg")  # doctest: +SKIP
    >>> optimizer.load_state_dict(checkpoint.optimizer_state)  # doctest: +SKIP
    """
    path = Path(path)
    is_object, contents = _read(path)
    if is_object:
        raise ModelFileError(
            f"{path}: holds saved tensors (dg.save of a dict or a state_dict), not a "
            "model; read it with dg.load"
        )
    obj = (
        _rebuild_classifier(contents.model, contents.extras, path)
        if contents.extras.get("kind") == "classifier"
        else contents.model
    )
    return Checkpoint(obj, contents.optimizer_state, contents.training_state)


def load(
    f: str | os.PathLike[str] | IO[bytes],
    map_location: Any = None,
    weights_only: bool = True,
) -> Any:
    """Read what :func:`save` wrote: a model (or Classifier), or a structure.

    Parameters
    ----------
    f : str, PathLike or binary file object
        A file written by ``dg.save``.
    map_location : optional
        As PyTorch's; deepgrad loads onto the CPU, so only None, ``"cpu"``, a
        CPU device, a dict onto the CPU or a callable are accepted.
    weights_only : bool
        Accepted for PyTorch's signature: deepgrad files never hold code (no
        pickle), so loading is always "weights only".

    Returns
    -------
    Module, Classifier, or the saved structure
        A model in the training/eval mode it was saved in; a structure with
        Tensors (a state_dict as an OrderedDict), NumPy arrays, numbers and
        containers as they were saved.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, modified after saving, of an unknown
        format version, or not a deepgrad file. The file is only read.

    Example
    -------
    >>> import deepgrad as dg
    >>> model = dg.load("xor.dg")  # doctest: +SKIP
    >>> model.load_state_dict(dg.load("weights.dg"))  # doctest: +SKIP
    """
    _check_map_location(map_location)
    is_object, contents = _read(f)
    if is_object:
        return contents
    if contents.extras.get("kind") == "classifier":
        return _rebuild_classifier(contents.model, contents.extras, _file_name(f))
    return contents.model
