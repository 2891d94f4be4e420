"""Save and load models and Classifiers: ``dg.save``, ``dg.load``, checkpoints.

The file format (one safetensors file: the weights under PyTorch's keys, the
architecture, preprocessing, optimizer and training state as JSON metadata, a
sha256 over all of it, atomic writes, no pickle) is :mod:`deepgrad.modelfile`'s.
This module sits above the training loop, so that loading can rebuild a
:class:`~deepgrad.train.Classifier`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from deepgrad.modelfile import (
    FORMAT,
    FORMAT_VERSION,
    LAYERS,
    ModelFileError,
    UnsupportedModuleError,
    describe,
    read,
    save,
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
    contents = read(path)
    obj = (
        _rebuild_classifier(contents.model, contents.extras, path)
        if contents.extras.get("kind") == "classifier"
        else contents.model
    )
    return Checkpoint(obj, contents.optimizer_state, contents.training_state)


def load(path: str | os.PathLike[str]) -> Any:
    """Read a model (or Classifier) saved by :func:`save`.

    Parameters
    ----------
    path : str or PathLike
        A deepgrad model file.

    Returns
    -------
    Module or deepgrad.train.Classifier
        What was saved, in the training/eval mode it was saved in.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, modified after saving, of an unknown
        format version, or not a deepgrad model file. The file is only read.

    Example
    -------
    >>> import deepgrad as dg
    >>> model = dg.load("xor.dg")  # doctest: +SKIP
    """
    return load_checkpoint(path).obj
