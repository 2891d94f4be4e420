"""deepgrad: gradient descent and backpropagation you can read.

A NumPy reverse-mode autodiff engine with PyTorch's API::

    import deepgrad as dg
    import deepgrad.nn.functional as F

    x = dg.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
    y = dg.tensor([[0.], [1.], [1.], [0.]])
    W = dg.randn(2, 1, requires_grad=True)
    loss = F.binary_cross_entropy(dg.sigmoid(x @ W), y)
    loss.backward()          # W.grad now holds dL/dW

Only NumPy is imported here; plotting, the CLI and scikit-learn load lazily.
"""

from __future__ import annotations

from deepgrad import autograd, nn, ops, optim
from deepgrad.autograd import gradcheck, model_gradcheck
from deepgrad.devices import (
    backends,
    cuda,
    device,
    get_default_device,
    set_default_device,
)
from deepgrad.ops import (
    abs,
    add,
    argmax,
    argmin,
    cat,
    clamp,
    clone,
    div,
    exp,
    flatten,
    gelu,
    leaky_relu,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    squeeze,
    stack,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from deepgrad.tensor import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    Tensor,
    arange,
    bool_,
    default_generator,
    double,
    empty,
    empty_like,
    enable_grad,
    eye,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    half,
    inference_mode,
    int8,
    int16,
    int32,
    int64,
    is_grad_enabled,
    is_tensor,
    linspace,
    long,
    manual_seed,
    no_grad,
    ones,
    ones_like,
    rand,
    randn,
    randn_like,
    set_default_dtype,
    set_grad_enabled,
    short,
    tensor,
    uint8,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

# PyTorch's dtype names that are Python builtins' too: bound here only, never
# inside the package's modules (and left out of __all__, so that
# `from deepgrad import *` does not shadow float, int and bool)
float = float32  # noqa: A001
int = int32  # noqa: A001
bool = bool_  # noqa: A001

clip = clamp

_LAZY_SUBMODULES = ("data", "io", "metrics", "train")


def __getattr__(name: str) -> object:
    """``dg.save``, ``dg.load`` and the heavier submodules, imported on first use."""
    import importlib

    if name in ("save", "load"):
        return getattr(importlib.import_module("deepgrad.io"), name)
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"deepgrad.{name}")
    raise AttributeError(f"module 'deepgrad' has no attribute {name!r}")


__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
    "Tensor",
    "__version__",
    "abs",
    "add",
    "arange",
    "argmax",
    "argmin",
    "autograd",
    "backends",
    "bool_",
    "cat",
    "clamp",
    "clip",
    "clone",
    "cuda",
    "default_generator",
    "device",
    "div",
    "double",
    "empty",
    "empty_like",
    "enable_grad",
    "exp",
    "eye",
    "flatten",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "gelu",
    "get_default_device",
    "get_default_dtype",
    "gradcheck",
    "half",
    "inference_mode",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_grad_enabled",
    "is_tensor",
    "leaky_relu",
    "linspace",
    "log",
    "log_softmax",
    "long",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "model_gradcheck",
    "mul",
    "neg",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "ops",
    "optim",
    "permute",
    "pow",
    "rand",
    "randn",
    "randn_like",
    "relu",
    "reshape",
    "set_default_device",
    "set_default_dtype",
    "set_grad_enabled",
    "short",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "tanh",
    "tensor",
    "transpose",
    "uint8",
    "unsqueeze",
    "var",
    "where",
    "zeros",
    "zeros_like",
]
