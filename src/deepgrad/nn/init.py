"""PyTorch-compatible weight initialisers (``torch.nn.init``).

Each one overwrites ``tensor.array`` in place, outside any recorded graph, keeps
the tensor's dtype, counts one in-place change (``_version``, as torch's do)
and returns the tensor. Random values come from the generator
that ``dg.manual_seed`` seeds (looked up at each call), or from ``generator=``.
The bounds and standard deviations are torch's formulas and the numbers are
torch's (``deepgrad.random``): after the same seed, ``uniform_``, ``normal_``,
``xavier_*`` and ``kaiming_*`` fill a tensor with PyTorch's values, bit for bit.
``trunc_normal_`` draws from the same generator but by rejection, not with
torch's erfinv transform, so its values differ from torch's.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable

import numpy as np

from deepgrad import random as _random
from deepgrad.random import Generator
from deepgrad.tensor import Tensor, _generator_or_default

# Gains that do not depend on a parameter; leaky_relu's is computed from its slope.
_GAINS: dict[str, float] = {
    "linear": 1.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0,
    "conv_transpose3d": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0),
    "selu": 3.0 / 4,  # found empirically (pytorch/pytorch#50664)
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for weights feeding into ``nonlinearity``.

    ========================= =======================================
    nonlinearity              gain
    ========================= =======================================
    linear, conv*, sigmoid    1
    tanh                      5/3
    relu                      sqrt(2)
    leaky_relu                sqrt(2 / (1 + negative_slope^2))
    selu                      3/4
    ========================= =======================================

    Parameters
    ----------
    nonlinearity : str
        The function's name in ``nn.functional``.
    param : float, optional
        leaky_relu's ``negative_slope`` (default 0.01); ignored otherwise.

    Raises
    ------
    ValueError
        For an unknown nonlinearity or a slope that is not a number.

    Example
    -------
    >>> round(calculate_gain("leaky_relu", 0.2), 4)
    1.3868
    """
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            negative_slope = float(param)
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity not in _GAINS:
        raise ValueError(
            f"Unsupported nonlinearity {nonlinearity!r}; expected one of "
            f"{sorted([*_GAINS, 'leaky_relu'])}"
        )
    return _GAINS[nonlinearity]


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """Inputs and outputs feeding one unit, for a weight of shape (out, in, *kernel).

    fan_in = in * prod(kernel), fan_out = out * prod(kernel); a Linear weight is
    (out_features, in_features), so fan_in = in_features.
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 "
            f"dimensions, received shape {shape}"
        )
    receptive_field_size = math.prod(shape[2:])
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _random_target(tensor: Tensor, name: str, generator: Generator | None) -> Generator:
    """Check that ``tensor`` can take random floats; return the generator to use."""
    _check_tensor(tensor, name)
    if tensor.array.dtype.kind != "f":
        raise TypeError(
            f"{name} fills floating point tensors; this one has dtype "
            f"{tensor.array.dtype}. Convert it first with .float() or .double()."
        )
    return _generator_or_default(generator)


def _check_tensor(tensor: Tensor, name: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"{name} expects a deepgrad Tensor, received: {type(tensor).__name__}"
        )


def _write(tensor: Tensor, values: np.ndarray | float) -> Tensor:
    # into the existing array: same object, same dtype, never recorded
    tensor.array[...] = values
    tensor._version += 1
    return tensor


def uniform_(
    tensor: Tensor,
    a: float = 0.0,
    b: float = 1.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill ``tensor`` with samples from U(a, b).

    Example
    -------
    >>> w = Tensor(np.empty((3, 5), np.float32))
    >>> uniform_(w, -0.1, 0.1).shape
    dg.Size([3, 5])
    """
    rng = _random_target(tensor, "uniform_", generator)
    return _write(tensor, _random.uniform(rng, tensor.shape, tensor.dtype, a, b))


def normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill ``tensor`` with samples from N(mean, std^2).

    Example
    -------
    >>> w = Tensor(np.empty((3, 5), np.float32))
    >>> normal_(w, std=0.02).shape
    dg.Size([3, 5])
    """
    rng = _random_target(tensor, "normal_", generator)
    return _write(tensor, _random.normal(rng, tensor.shape, tensor.dtype, mean, std))


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _rejection_sample(
    size: int,
    propose: Callable[[int], np.ndarray],
    accept: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Draw ``size`` proposals and redraw the rejected ones until all are accepted."""
    samples = propose(size)
    pending = np.flatnonzero(~accept(samples))
    while pending.size:
        redraw = propose(pending.size)
        accepted = accept(redraw)
        samples[pending[accepted]] = redraw[accepted]
        pending = pending[~accepted]
    return samples


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Generator | None = None,
) -> Tensor:
    """Fill ``tensor`` from N(mean, std^2) truncated to [a, b] (absolute bounds).

    Values outside [a, b] are redrawn. When [a, b] holds little of the normal's
    mass (< 0.3), proposals come from U(a, b) and are accepted with probability
    pdf(x) / max pdf on [a, b] instead, as torch does, so few draws are wasted.

    Example
    -------
    >>> w = Tensor(np.empty((3, 5), np.float32))
    >>> trunc_normal_(w, std=0.02, a=-0.04, b=0.04).shape
    dg.Size([3, 5])
    """
    rng = _random_target(tensor, "trunc_normal_", generator)
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if mass > 0.3:

        def propose(n: int) -> np.ndarray:
            return _random.normal(rng, (n,), np.float64, mean, std)

        def accept(x: np.ndarray) -> np.ndarray:
            return (a <= x) & (x <= b)

    else:
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2

        def propose(n: int) -> np.ndarray:
            return _random.uniform(rng, (n,), np.float64, a, b)

        def accept(x: np.ndarray) -> np.ndarray:
            log_pdf = -0.5 * ((x - mean) / std) ** 2
            unit = _random.uniform(rng, x.shape, np.float64)
            return np.log(unit) <= log_pdf - log_peak

    samples = _rejection_sample(tensor.numel(), propose, accept)
    return _write(tensor, samples.reshape(tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val``."""
    _check_tensor(tensor, "constant_")
    return _write(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with ones."""
    _check_tensor(tensor, "ones_")
    return _write(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros."""
    _check_tensor(tensor, "zeros_")
    return _write(tensor, 0)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Glorot & Bengio (2010): U(-bound, bound) keeping activations' variance.

    std = gain * sqrt(2 / (fan_in + fan_out)), bound = sqrt(3) * std
    (the standard deviation of U(-bound, bound) is bound / sqrt(3)).

    Example
    -------
    >>> w = Tensor(np.empty((3, 5), np.float32))
    >>> xavier_uniform_(w, gain=calculate_gain("tanh")).shape
    dg.Size([3, 5])
    """
    rng = _random_target(tensor, "xavier_uniform_", generator)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _write(
        tensor, _random.uniform(rng, tensor.shape, tensor.dtype, -bound, bound)
    )


def xavier_normal_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Glorot & Bengio (2010): N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Example
    -------
    >>> w = Tensor(np.empty((3, 5), np.float32))
    >>> xavier_normal_(w).shape
    dg.Size([3, 5])
    """
    rng = _random_target(tensor, "xavier_normal_", generator)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _write(tensor, _random.normal(rng, tensor.shape, tensor.dtype, 0.0, std))


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """He et al. (2015): std = gain / sqrt(fan), fan = fan_in or fan_out per mode."""
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He et al. (2015): U(-bound, bound), bound = gain * sqrt(3 / fan).

    Parameters
    ----------
    a : float
        Negative slope of the leaky_relu after this layer (only used with it).
        ``nn.Linear`` initialises its weight with ``a=math.sqrt(5)``.
    mode : {"fan_in", "fan_out"}
        fan_in keeps the variance of activations in the forward pass, fan_out
        that of gradients in the backward pass.
    nonlinearity : str
        Name for :func:`calculate_gain`; ``"relu"`` or ``"leaky_relu"``.

    Example
    -------
    >>> w = Tensor(np.empty((3, 5), np.float32))
    >>> kaiming_uniform_(w, nonlinearity="relu").shape
    dg.Size([3, 5])
    """
    rng = _random_target(tensor, "kaiming_uniform_", generator)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return _write(
        tensor, _random.uniform(rng, tensor.shape, tensor.dtype, -bound, bound)
    )


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He et al. (2015): N(0, std^2), std = gain / sqrt(fan).

    The arguments are those of :func:`kaiming_uniform_`.

    Example
    -------
    >>> w = Tensor(np.empty((3, 5), np.float32))
    >>> kaiming_normal_(w, mode="fan_out", nonlinearity="relu").shape
    dg.Size([3, 5])
    """
    rng = _random_target(tensor, "kaiming_normal_", generator)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    return _write(tensor, _random.normal(rng, tensor.shape, tensor.dtype, 0.0, std))
