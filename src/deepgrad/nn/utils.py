"""``torch.nn.utils``: gradient clipping, and parameters as one flat vector."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from deepgrad.ops import cat
from deepgrad.tensor import Tensor, no_grad

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
]


def _tensors(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale the gradients in place so that their joint norm is at most ``max_norm``.

    total = ||(||g_1||, ..., ||g_k||)||_p (the p-norm of all gradients as one
    vector), then every g_i *= min(1, max_norm / (total + 1e-6)), as torch.

    Returns
    -------
    Tensor
        The total norm before clipping (0-d).

    Raises
    ------
    RuntimeError
        If ``error_if_nonfinite`` and the total norm is nan or inf.
    """
    grads = [p.grad for p in _tensors(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    dtype = grads[0].array.dtype
    if math.isinf(norm_type):
        norms = [np.max(np.abs(g.array), initial=0) for g in grads]
        total = np.max(norms)
    else:
        norms = [np.sum(np.abs(g.array) ** norm_type) ** (1 / norm_type) for g in grads]
        total = np.sum(np.asarray(norms) ** norm_type) ** (1 / norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients "
            "is non-finite, so it cannot be clipped. To disable this error and scale "
            "the gradients by the non-finite norm anyway, set "
            "error_if_nonfinite=False"
        )
    scale = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    with no_grad():
        for grad in grads:
            grad.mul_(scale)
    return Tensor(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with no_grad():
        for param in _tensors(parameters):
            if param.grad is not None:
                param.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Every parameter flattened and concatenated into one 1-D tensor (differentiable)."""
    return cat([param.reshape(-1) for param in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place.

    Raises
    ------
    TypeError
        If ``vec`` is not a Tensor.
    ValueError
        If ``vec`` does not hold exactly as many values as the parameters.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(
            f"vector_to_parameters: expected a Tensor, received: {type(vec).__name__}"
        )
    parameters = list(parameters)
    needed = sum(param.numel() for param in parameters)
    if vec.ndim != 1 or vec.shape[0] != needed:
        raise ValueError(
            f"vector_to_parameters: vec must be 1-D with {needed} values (the "
            f"parameters' total), received shape {tuple(vec.shape)}"
        )
    offset = 0
    with no_grad():
        for param in parameters:
            size = param.numel()
            param.copy_(Tensor(vec.array[offset : offset + size].reshape(param.shape)))
            offset += size
