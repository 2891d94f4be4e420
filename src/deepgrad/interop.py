"""PyTorch round trips: ``to_torch(model)`` and ``from_torch(module)``.

deepgrad's layers have PyTorch's names, constructor arguments, attributes and
``state_dict`` keys, so converting a model is rebuilding each layer on the other
side from the same arguments and copying the state_dict across. Conversion is
not a model format: a deepgrad model is saved in deepgrad's model file, a
PyTorch one as PyTorch saves it, and the weights move between the two as a
state_dict (a deepgrad model file is a safetensors file of that state_dict, so
``safetensors.torch.load_file`` reads its weights; :func:`load_safetensors`
reads a state_dict that PyTorch saved with ``safetensors.torch.save_file``).

Each layer both libraries have is one entry of ``LAYERS``. PyTorch stays
optional: it is imported inside the functions that need it, never by
``import deepgrad``.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from deepgrad import nn
from deepgrad.nn.module import Module

__all__ = [
    "LAYERS",
    "UnsupportedLayerError",
    "from_torch",
    "load_safetensors",
    "to_torch",
]


class UnsupportedLayerError(TypeError):
    """A layer that has no counterpart on the other side."""


def _batchnorm_arguments(layer: Any) -> dict[str, Any]:
    return {
        "num_features": layer.num_features,
        "eps": layer.eps,
        "momentum": layer.momentum,
        "affine": layer.affine,
        "track_running_stats": layer.track_running_stats,
    }


# Each layer both libraries have, by its class name in both: the constructor
# arguments that rebuild it, read from an instance of either library (their
# attributes have the same names), and whether it holds floating tensors whose
# dtype the rebuilt layer must take.
LAYERS: dict[str, tuple[Callable[[Any], dict[str, Any]], bool]] = {
    "Linear": (
        lambda layer: {
            "in_features": layer.in_features,
            "out_features": layer.out_features,
            "bias": layer.bias is not None,
        },
        True,
    ),
    "BatchNorm1d": (_batchnorm_arguments, True),
    "Identity": (lambda layer: {}, False),
    "Flatten": (
        lambda layer: {"start_dim": layer.start_dim, "end_dim": layer.end_dim},
        False,
    ),
    "ReLU": (lambda layer: {}, False),
    "Sigmoid": (lambda layer: {}, False),
    "Tanh": (lambda layer: {}, False),
    "LeakyReLU": (lambda layer: {"negative_slope": layer.negative_slope}, False),
    "GELU": (lambda layer: {"approximate": layer.approximate}, False),
    "Softmax": (lambda layer: {"dim": layer.dim}, False),
    "LogSoftmax": (lambda layer: {"dim": layer.dim}, False),
    "Dropout": (lambda layer: {"p": layer.p}, False),
    "ELU": (lambda layer: {"alpha": layer.alpha}, False),
    "SiLU": (lambda layer: {}, False),
    "Mish": (lambda layer: {}, False),
    "Softplus": (
        lambda layer: {"beta": layer.beta, "threshold": layer.threshold},
        False,
    ),
    "Hardtanh": (
        lambda layer: {"min_val": layer.min_val, "max_val": layer.max_val},
        False,
    ),
    # deepgrad's PReLU has no num_parameters attribute (it would hide
    # Module.num_parameters()): the weight's length is the count in both
    "PReLU": (lambda layer: {"num_parameters": layer.weight.shape[0]}, True),
    "LayerNorm": (
        lambda layer: {
            "normalized_shape": tuple(layer.normalized_shape),
            "eps": layer.eps,
            "elementwise_affine": layer.elementwise_affine,
            "bias": layer.bias is not None,
        },
        True,
    ),
    "Embedding": (
        lambda layer: {
            "num_embeddings": layer.num_embeddings,
            "embedding_dim": layer.embedding_dim,
            "padding_idx": layer.padding_idx,
        },
        True,
    ),
}
# Options a torch layer may have that deepgrad's lacks, with the value that
# means "not used": a module using one has no deepgrad counterpart.
_TORCH_ONLY: dict[str, dict[str, Any]] = {
    "Embedding": {"max_norm": None, "scale_grad_by_freq": False, "sparse": False},
}


def _import_torch() -> Any:
    try:
        import torch
    except ModuleNotFoundError as missing:
        raise ModuleNotFoundError(
            "deepgrad.interop needs PyTorch, which is not installed: pip install torch",
            name="torch",
        ) from missing
    return torch


def _unsupported(layer: Any, where: str, direction: str) -> UnsupportedLayerError:
    cls = type(layer)
    return UnsupportedLayerError(
        f"{direction}: {where} is a {cls.__module__}.{cls.__qualname__}, which has "
        f"no counterpart; it converts Sequential models of {', '.join(LAYERS)} "
        "(the classes themselves, not subclasses)"
    )


def _floating_dtype(layer: Any) -> Any:
    """The dtype of the layer's first floating parameter or buffer."""
    for tensor in (*layer.parameters(), *layer.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return None


def _to_torch_layer(layer: Module, torch: Any, where: str) -> Any:
    name = type(layer).__name__
    if type(layer) is nn.Sequential:
        return torch.nn.Sequential(
            OrderedDict(
                (
                    child_name,
                    _to_torch_layer(child, torch, f"layer {child_name!r} of {where}"),
                )
                for child_name, child in layer._modules.items()
                if child is not None
            )
        )
    if name not in LAYERS or getattr(nn, name, None) is not type(layer):
        raise _unsupported(layer, where, "to_torch")
    arguments, typed = LAYERS[name]
    config = arguments(layer)
    if typed:
        dtype = next(  # none in a LayerNorm without elementwise_affine
            (
                tensor.array.dtype
                for tensor in (*layer.parameters(), *layer.buffers())
                if tensor.array.dtype.kind == "f"
            ),
            None,
        )
        if dtype is not None:
            config["dtype"] = getattr(torch, np.dtype(dtype).name)
    return getattr(torch.nn, name)(**config)


def to_torch(model: Module) -> Any:
    """A ``torch.nn.Module`` equal to ``model``: same layers, weights, dtype, mode.

    Parameters
    ----------
    model : Module
        A layer from ``LAYERS`` or an ``nn.Sequential`` of them (nested freely).

    Returns
    -------
    torch.nn.Module
        ``torch.nn.Sequential`` (or the one layer) with a copy of the weights and
        buffers under the same ``state_dict`` keys, in ``model``'s train/eval mode.

    Raises
    ------
    UnsupportedLayerError
        For a layer PyTorch has no counterpart of (or a subclass with its own
        ``forward``), named with its place in the model.
    ModuleNotFoundError
        When PyTorch is not installed.

    Example
    -------
    >>> from deepgrad import nn
    >>> torch_model = to_torch(nn.Sequential(nn.Linear(2, 1)))  # doctest: +SKIP
    >>> torch_model[0].weight.shape  # doctest: +SKIP
    torch.Size([1, 2])
    """
    torch = _import_torch()
    if not isinstance(model, Module):
        raise TypeError(
            f"to_torch: expected a deepgrad Module, received: {type(model).__name__}"
        )
    converted = _to_torch_layer(model, torch, "the model")
    converted.load_state_dict(
        {
            key: torch.from_numpy(np.array(value.array))  # a copy, not shared memory
            for key, value in model.state_dict().items()
        }
    )
    return converted.train(model.training)


def _from_torch_layer(layer: Any, torch: Any, where: str) -> Module:
    name = type(layer).__name__
    if type(layer) is torch.nn.Sequential:
        sequential = nn.Sequential()
        for child_name, child in layer.named_children():
            where_child = f"layer {child_name!r} of {where}"
            sequential.add_module(
                child_name, _from_torch_layer(child, torch, where_child)
            )
        return sequential
    if name not in LAYERS or getattr(torch.nn, name, None) is not type(layer):
        raise _unsupported(layer, where, "from_torch")
    for option, unused in _TORCH_ONLY.get(name, {}).items():
        if getattr(layer, option) != unused:
            raise UnsupportedLayerError(
                f"from_torch: {where} is a torch.nn.{name} with "
                f"{option}={getattr(layer, option)!r}, which deepgrad's {name} does "
                f"not have; build it with {option}={unused!r}"
            )
    arguments, typed = LAYERS[name]
    config = arguments(layer)
    dtype = _floating_dtype(layer)  # None in a LayerNorm without elementwise_affine
    if typed and dtype is not None:
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(
                f"from_torch: {where} holds {dtype} weights; deepgrad computes in "
                "float32 or float64: convert the module with .float() or .double()"
            )
        config["dtype"] = np.float32 if dtype == torch.float32 else np.float64
    return getattr(nn, name)(**config)


def from_torch(module: Any) -> Module:
    """A deepgrad model equal to a PyTorch ``module``: same layers, weights, mode.

    Parameters
    ----------
    module : torch.nn.Module
        A layer both libraries have (``LAYERS``) or a ``torch.nn.Sequential`` of
        them (nested freely), with float32 or float64 weights.

    Returns
    -------
    Module
        The deepgrad model, with a copy of the weights and buffers under the same
        ``state_dict`` keys, in ``module``'s train/eval mode.

    Raises
    ------
    UnsupportedLayerError
        For a layer deepgrad has no counterpart of (or a subclass with its own
        ``forward``), named with its place in the model.

    Example
    -------
    >>> import torch  # doctest: +SKIP
    >>> model = from_torch(torch.nn.Sequential(torch.nn.Linear(2, 1)))  # doctest: +SKIP
    """
    torch = _import_torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(
            f"from_torch: expected a torch.nn.Module, received: {type(module).__name__}"
        )
    converted = _from_torch_layer(module, torch, "the module")
    converted.load_state_dict(
        {
            key: value.detach().cpu().numpy().copy()
            for key, value in module.state_dict().items()
        }
    )
    return converted.train(module.training)


def load_safetensors(
    model: Module, path: str | os.PathLike[str], strict: bool = True
) -> Any:
    """Load a state_dict saved as a safetensors file into ``model``.

    Reads what ``safetensors.torch.save_file(torch_model.state_dict(), path)``
    writes, without PyTorch.

    Returns
    -------
    IncompatibleKeys
        As :meth:`Module.load_state_dict`, which raises on missing, unexpected or
        misshapen keys when ``strict``.
    """
    from safetensors.numpy import load_file

    return model.load_state_dict(load_file(os.fspath(path)), strict=strict)
