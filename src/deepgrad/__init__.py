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
    Generator,
    Tensor,
    arange,
    bernoulli,
    bool_,
    default_generator,
    double,
    enable_grad,
    eye,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    get_default_dtype,
    get_rng_state,
    initial_seed,
    int32,
    int64,
    is_grad_enabled,
    is_tensor,
    linspace,
    long,
    manual_seed,
    multinomial,
    no_grad,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    seed,
    set_grad_enabled,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

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
    "Generator",
    "Tensor",
    "__version__",
    "abs",
    "add",
    "arange",
    "argmax",
    "argmin",
    "autograd",
    "bernoulli",
    "bool_",
    "cat",
    "clamp",
    "clip",
    "clone",
    "default_generator",
    "div",
    "double",
    "enable_grad",
    "exp",
    "eye",
    "flatten",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "gelu",
    "get_default_dtype",
    "get_rng_state",
    "gradcheck",
    "initial_seed",
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
    "multinomial",
    "neg",
    "nn",
    "no_grad",
    "normal",
    "ones",
    "ones_like",
    "ops",
    "optim",
    "permute",
    "pow",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "relu",
    "reshape",
    "seed",
    "set_grad_enabled",
    "set_rng_state",
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
    "unsqueeze",
    "var",
    "where",
    "zeros",
    "zeros_like",
]
