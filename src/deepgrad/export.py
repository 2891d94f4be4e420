"""Export a model or a Classifier as a standard ONNX graph: ``to_onnx(model, path)``.

ONNX is a conversion, not a second model format: deepgrad reads and writes its
own model files (:mod:`deepgrad.modelfile`), and an ONNX file is what they become
for another runtime (onnxruntime, a browser, a phone). The graph takes a batch of
any size (its first dimension is named ``batch``) and computes what deepgrad
computes in eval mode:

- a bare model: its output, named ``output`` (a model starting with an
  Embedding takes int64 indices, every other one floats);
- a Classifier: its feature scaling, ``(x - mean) / scale``, then the model, then
  what ``deepgrad predict`` prints: ``probabilities`` (batch, classes) and
  ``label`` (the class names, or class indices without names) for a classifier,
  ``prediction`` in the targets' own units (the target scaling undone) for a
  regressor.

Each layer is one entry of ``CONVERTERS``: a function that appends the layer's
ONNX nodes to the graph and returns the name of its output, so a new layer is
one function and one line. The ``onnx`` package is imported inside
:func:`to_onnx`; ``import deepgrad`` never imports it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from deepgrad import nn
from deepgrad.atomic import atomic_write
from deepgrad.nn.module import Module
from deepgrad.tensor import Tensor, get_default_dtype, no_grad
from deepgrad.train import Classifier
from deepgrad.train.targets import loss_kind

__all__ = [
    "CONVERTERS",
    "DEFAULT_OPSET",
    "MIN_OPSET",
    "UnsupportedLayerError",
    "to_onnx",
]

# ONNX 1.12's opset, which every onnxruntime since 1.14 runs; 15 is the oldest
# with Shape(start, end), which Flatten of inner dimensions needs.
DEFAULT_OPSET = 17
MIN_OPSET = 15


class UnsupportedLayerError(TypeError):
    """A model holding a layer that ONNX export has no converter for."""


class _Graph:
    """The ONNX graph being built: its nodes, its constants, its opset, and the
    dtype and rank of the tensor that flows through the layers."""

    def __init__(self, dtype: np.dtype, rank: int, opset: int) -> None:
        self.dtype, self.rank, self.opset = dtype, rank, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names = 0

    def _fresh(self, hint: str) -> str:
        self._names += 1
        return f"{hint}_{self._names}"

    def constant(self, value: Any, hint: str, dtype: Any = None) -> str:
        """A constant (initializer), in the graph's dtype unless ``dtype`` is given."""
        from onnx import numpy_helper

        array = np.asarray(value, dtype=dtype or self.dtype)
        name = self._fresh(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(
        self,
        op: str,
        inputs: list[str],
        hint: str,
        output: str | None = None,
        **attributes: Any,
    ) -> str:
        """Append an ``op`` node; return its output's name (``output`` if given)."""
        from onnx import helper

        name = output or self._fresh(hint)
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attributes))
        return name


Converter = Callable[[Any, _Graph, str], str]


def _linear(layer: nn.Linear, graph: _Graph, x: str) -> str:
    """Z = X W^T + b: MatMul by W^T (any leading dimensions, as F.linear), Add b."""
    weight_t = graph.constant(layer.weight.array.T, "weight_t")
    z = graph.node("MatMul", [x, weight_t], "linear")
    if layer.bias is None:
        return z
    return graph.node("Add", [z, graph.constant(layer.bias.array, "bias")], "linear")


def _operator(op: str, **attributes: Any) -> Converter:
    """A layer that is one ONNX operator of the same meaning."""

    def convert(layer: Module, graph: _Graph, x: str) -> str:
        values = {key: read(layer) for key, read in attributes.items()}
        return graph.node(op, [x], op.lower(), **values)

    return convert


def _identity(layer: Module, graph: _Graph, x: str) -> str:
    """Dropout and Identity: nothing at inference."""
    return x


def _gelu(layer: nn.GELU, graph: _Graph, x: str) -> str:
    """GELU(x) = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2, or PyTorch's tanh
    approximation Phi(x) ~ (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2."""
    if layer.approximate == "tanh":
        cube = graph.node("Mul", [x, graph.node("Mul", [x, x], "gelu")], "gelu")
        inner = graph.node(
            "Add",
            [x, graph.node("Mul", [cube, graph.constant(0.044715, "c")], "gelu")],
            "gelu",
        )
        scaled = graph.node(
            "Mul", [inner, graph.constant(math.sqrt(2 / math.pi), "c")], "gelu"
        )
        squashed = graph.node("Tanh", [scaled], "gelu")
    else:
        scaled = graph.node("Div", [x, graph.constant(math.sqrt(2), "c")], "gelu")
        squashed = graph.node("Erf", [scaled], "gelu")
    cdf = graph.node(
        "Mul",
        [graph.node("Add", [squashed, graph.constant(1, "c")], "gelu"),
         graph.constant(0.5, "c")],
        "gelu",
    )  # fmt: skip
    return graph.node("Mul", [x, cdf], "gelu")


def _softmax_axis(dim: int | None, rank: int) -> int:
    """A softmax's axis; dim=None is PyTorch's legacy choice (as ops.softmax)."""
    if dim is None:
        return 0 if rank in (0, 1, 3) else 1
    return dim


def _softmax(op: str) -> Converter:
    def convert(layer: Module, graph: _Graph, x: str) -> str:
        return graph.node(
            op, [x], op.lower(), axis=_softmax_axis(layer.dim, graph.rank)
        )

    return convert


def _flatten(layer: nn.Flatten, graph: _Graph, x: str) -> str:
    """Reshape to shape[:start] + [-1] + shape[end + 1:], the kept dimensions
    read from the input's Shape, so the batch dimension stays dynamic."""
    start, end = (dim % graph.rank for dim in (layer.start_dim, layer.end_dim))
    int64 = np.int64
    head = graph.node("Shape", [x], "flatten", end=start)
    tail = graph.node("Shape", [x], "flatten", start=end + 1)
    shape = graph.node(
        "Concat", [head, graph.constant([-1], "minus_one", int64), tail], "flatten",
        axis=0,
    )  # fmt: skip
    graph.rank -= end - start
    return graph.node("Reshape", [x, shape], "flatten")


def _batch_norm(layer: nn.BatchNorm1d, graph: _Graph, x: str) -> str:
    """Eval-mode batch norm folded into one scale and shift per feature:
    y = (x - mean) / sqrt(var + eps) * weight + bias = x * scale + shift, with
    scale = weight / sqrt(var + eps) and shift = bias - mean * scale."""
    running_mean, running_var = layer.running_mean, layer.running_var
    if running_mean is None or running_var is None:
        raise UnsupportedLayerError(
            "to_onnx: BatchNorm1d(track_running_stats=False) normalises every batch "
            "with that batch's own statistics, which an inference graph cannot hold; "
            "train it with track_running_stats=True"
        )
    mean = running_mean.array.astype(np.float64)
    var = running_var.array.astype(np.float64)
    weight = 1.0 if layer.weight is None else layer.weight.array.astype(np.float64)
    bias = 0.0 if layer.bias is None else layer.bias.array.astype(np.float64)
    scale = weight / np.sqrt(var + layer.eps)
    shift = bias - mean * scale
    # features are dimension 1: (N, C) or (N, C, L)
    per_feature = (layer.num_features,) + (1,) * (graph.rank - 2)
    scaled = graph.node(
        "Mul", [x, graph.constant(scale.reshape(per_feature), "bn_scale")], "batchnorm"
    )
    return graph.node(
        "Add", [scaled, graph.constant(shift.reshape(per_feature), "bn_shift")],
        "batchnorm",
    )  # fmt: skip


def _elu(layer: nn.ELU, graph: _Graph, x: str) -> str:
    """ELU(x) = x for x > 0, alpha (e^x - 1) otherwise: Where(x > 0, x, ...), with
    e^min(x, 0) so no branch overflows (onnxruntime has no float64 Elu)."""
    zero = graph.constant(0, "zero")
    exp = graph.node("Exp", [graph.node("Min", [x, zero], "elu")], "elu")
    negative = graph.node(
        "Mul", [graph.node("Sub", [exp, graph.constant(1, "one")], "elu"),
                graph.constant(layer.alpha, "alpha")],
        "elu",
    )  # fmt: skip
    return graph.node(
        "Where", [graph.node("Greater", [x, zero], "elu"), x, negative], "elu"
    )


def _softplus_of(graph: _Graph, z: str) -> str:
    """softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^-|z|), which never
    overflows (onnxruntime has no float64 Softplus)."""
    tail = graph.node(
        "Exp", [graph.node("Neg", [graph.node("Abs", [z], "softplus")], "softplus")],
        "softplus",
    )  # fmt: skip
    log = graph.node(
        "Log", [graph.node("Add", [tail, graph.constant(1, "one")], "softplus")],
        "softplus",
    )  # fmt: skip
    return graph.node("Add", [graph.node("Relu", [z], "softplus"), log], "softplus")


def _softplus(layer: nn.Softplus, graph: _Graph, x: str) -> str:
    """softplus(beta x) / beta, and x itself where beta x > threshold (PyTorch's
    rule): Where(beta x > threshold, x, softplus(beta x) / beta)."""
    beta = graph.constant(layer.beta, "beta")
    scaled = graph.node("Mul", [x, beta], "softplus")
    smooth = graph.node("Div", [_softplus_of(graph, scaled), beta], "softplus")
    linear = graph.node(
        "Greater", [scaled, graph.constant(layer.threshold, "threshold")], "softplus"
    )
    return graph.node("Where", [linear, x, smooth], "softplus")


def _silu(layer: nn.SiLU, graph: _Graph, x: str) -> str:
    """SiLU(x) = x sigmoid(x)."""
    return graph.node("Mul", [x, graph.node("Sigmoid", [x], "silu")], "silu")


def _mish(layer: nn.Mish, graph: _Graph, x: str) -> str:
    """Mish(x) = x tanh(softplus(x)) (ONNX's Mish needs opset 18)."""
    squashed = graph.node("Tanh", [_softplus_of(graph, x)], "mish")
    return graph.node("Mul", [x, squashed], "mish")


def _hardtanh(layer: nn.Hardtanh, graph: _Graph, x: str) -> str:
    """x clipped to [min_val, max_val]: Clip, its bounds as inputs."""
    low = graph.constant(layer.min_val, "min_val")
    high = graph.constant(layer.max_val, "max_val")
    return graph.node("Clip", [x, low, high], "hardtanh")


def _prelu(layer: nn.PReLU, graph: _Graph, x: str) -> str:
    """PRelu with one slope, or one per channel (dimension 1), shaped (C, 1, ...)
    to broadcast against (N, C, ...)."""
    slopes = layer.weight.array
    if slopes.size > 1:
        slopes = slopes.reshape((slopes.size,) + (1,) * (graph.rank - 2))
    return graph.node("PRelu", [x, graph.constant(slopes, "slope")], "prelu")


def _layer_norm(layer: nn.LayerNorm, graph: _Graph, x: str) -> str:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last
    len(normalized_shape) dimensions: LayerNormalization from opset 17, before
    that the same formula in ReduceMean, Sub, Mul, Sqrt and Div."""
    axes = list(range(-len(layer.normalized_shape), 0))
    shape = layer.normalized_shape
    weight = np.ones(shape) if layer.weight is None else layer.weight.array
    scale = graph.constant(weight, "ln_weight")
    bias = [] if layer.bias is None else [graph.constant(layer.bias.array, "ln_bias")]
    if graph.opset >= 17:
        from onnx import helper

        # stash_type: the mean and variance in the graph's dtype, as deepgrad
        stash = helper.np_dtype_to_tensor_dtype(graph.dtype)
        return graph.node(
            "LayerNormalization", [x, scale, *bias], "layernorm",
            axis=axes[0], epsilon=float(layer.eps), stash_type=stash,
        )  # fmt: skip
    mean = graph.node("ReduceMean", [x], "layernorm", axes=axes, keepdims=1)
    centred = graph.node("Sub", [x, mean], "layernorm")
    variance = graph.node(
        "ReduceMean", [graph.node("Mul", [centred, centred], "layernorm")],
        "layernorm", axes=axes, keepdims=1,
    )  # fmt: skip
    deviation = graph.node(
        "Sqrt",
        [graph.node("Add", [variance, graph.constant(layer.eps, "eps")], "layernorm")],
        "layernorm",
    )
    normalised = graph.node("Div", [centred, deviation], "layernorm")
    out = graph.node("Mul", [normalised, scale], "layernorm")
    return graph.node("Add", [out, *bias], "layernorm") if bias else out


def _embedding(layer: nn.Embedding, graph: _Graph, x: str) -> str:
    """Row i of the weight for each index i: Gather on axis 0, one more dimension.

    The graph's input is then int64 indices (see _takes_indices)."""
    graph.rank += 1
    weight = graph.constant(layer.weight.array, "embedding_weight")
    return graph.node("Gather", [weight, x], "embedding", axis=0)


# Each layer export supports: its class -> the function that adds its nodes.
CONVERTERS: dict[type[Module], Converter] = {
    nn.Linear: _linear,
    nn.ReLU: _operator("Relu"),
    nn.LeakyReLU: _operator(
        "LeakyRelu", alpha=lambda layer: float(layer.negative_slope)
    ),
    nn.Sigmoid: _operator("Sigmoid"),
    nn.Tanh: _operator("Tanh"),
    nn.GELU: _gelu,
    nn.Softmax: _softmax("Softmax"),
    nn.LogSoftmax: _softmax("LogSoftmax"),
    nn.Dropout: _identity,
    nn.Identity: _identity,
    nn.Flatten: _flatten,
    nn.BatchNorm1d: _batch_norm,
    nn.ELU: _elu,
    nn.SiLU: _silu,
    nn.Mish: _mish,
    nn.Softplus: _softplus,
    nn.Hardtanh: _hardtanh,
    nn.PReLU: _prelu,
    nn.LayerNorm: _layer_norm,
    nn.Embedding: _embedding,
}


def _convert(module: Module, graph: _Graph, x: str, where: str) -> str:
    """Add the nodes of ``module`` (a Sequential's layers in order) to the graph."""
    if type(module) is nn.Sequential:
        for name, child in module._modules.items():
            if child is not None:
                x = _convert(child, graph, x, f"layer {name!r} of {where}")
        return x
    converter = CONVERTERS.get(type(module))
    if converter is None:
        cls = type(module)
        supported = ", ".join(layer.__name__ for layer in CONVERTERS)
        raise UnsupportedLayerError(
            f"to_onnx: {where} is a {cls.__module__}.{cls.__qualname__}, which ONNX "
            f"export does not support; it converts nn.Sequential models of {supported}"
        )
    return converter(module, graph, x)


def _leaves(module: Module) -> list[Module]:
    return [layer for layer in module.modules() if not layer._modules]


# layers whose output has their input's shape
_SHAPE_KEEPING = [
    layer
    for layer, converter in CONVERTERS.items()
    if converter is _identity
    or layer in (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.GELU)
    or layer in (nn.ELU, nn.SiLU, nn.Mish, nn.Softplus, nn.Hardtanh, nn.PReLU)
]


def _input_shape(model: Module) -> tuple[int, ...]:
    """One sample's shape, read from the first layer that fixes it."""
    for layer in _leaves(model):
        if isinstance(layer, nn.Linear):
            return (layer.in_features,)
        if isinstance(layer, nn.BatchNorm1d):
            return (layer.num_features,)
        if isinstance(layer, nn.LayerNorm):
            return layer.normalized_shape
        if not isinstance(layer, tuple(_SHAPE_KEEPING)):
            break
    raise ValueError(
        "to_onnx: cannot tell the shape of one input sample from the model's first "
        "layer; pass input_shape=(features,) (without the batch dimension)"
    )


def _takes_indices(model: Module) -> bool:
    """Whether the model's input is integer indices: its first layer that
    computes (past Identity, Dropout, Flatten) is an Embedding."""
    for layer in _leaves(model):
        if not isinstance(layer, (nn.Identity, nn.Dropout, nn.Flatten)):
            return isinstance(layer, nn.Embedding)
    return False


def _output_shape(
    model: Module, input_shape: tuple[int, ...], dtype: Any
) -> list[int | str | None]:
    """The output's shape as ONNX declares it: forward passes in eval mode with
    batches of 2 and 3 tell the dimension that is the batch ("batch") from the
    fixed ones (a Flatten of the batch dimension leaves one of unknown size)."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            shapes = [
                model(Tensor(np.zeros((batch, *input_shape), dtype=dtype))).shape
                for batch in (2, 3)
            ]
    except (ValueError, TypeError, RuntimeError) as error:
        raise ValueError(
            f"to_onnx: the model does not take inputs of shape (batch, "
            f"{', '.join(map(str, input_shape))}): {error}; pass the shape of one "
            "sample as input_shape"
        ) from None
    finally:
        model.train(was_training)
    return [
        size if size == other else "batch" if (size, other) == (2, 3) else None
        for size, other in zip(*shapes, strict=True)
    ]


def _model_dtype(model: Module) -> np.dtype:
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.array.dtype.kind == "f":
            return tensor.array.dtype
    return get_default_dtype()


def _unwrap(obj: Any) -> tuple[Module, Classifier | None]:
    """(the network, the Classifier around it or None) of what to_onnx was given:
    a Module, a Classifier, or an estimator holding its fitted ``classifier_``."""
    if isinstance(obj, Module):
        return obj, None
    holder = obj if isinstance(obj, Classifier) else getattr(obj, "classifier_", None)
    if isinstance(holder, Classifier):
        return holder.model, holder
    raise TypeError(
        f"to_onnx: expected a deepgrad Module, Classifier or fitted estimator, "
        f"received: {type(obj).__name__}; load a model file with deepgrad.load first"
    )


def _fitted(scaler: Any) -> tuple[np.ndarray, np.ndarray] | None:
    if scaler is None or getattr(scaler, "mean_", None) is None:
        return None
    return scaler.mean_, scaler.scale_


# outputs -> probabilities for each loss that has them (as train.targets' LOSSES):
# BCELoss's outputs are probabilities already
_PROBABILITY_OPS: dict[str, tuple[str, dict[str, Any]] | None] = {
    "BCELoss": None,
    "BCEWithLogitsLoss": ("Sigmoid", {}),
    "CrossEntropyLoss": ("Softmax", {"axis": -1}),
    "NLLLoss": ("Exp", {}),
}


def _classifier_outputs(
    classifier: Classifier, graph: _Graph, output: str, width: int
) -> list[tuple[str, Any, list[Any]]]:
    """Add probabilities and labels (classification) or predictions in the
    targets' units (regression); return (name, element type, shape) of each."""
    from onnx import TensorProto, helper

    elem = helper.np_dtype_to_tensor_dtype(graph.dtype)
    kind = loss_kind(classifier.loss_fn)
    if kind is None:
        raise ValueError(
            "to_onnx: the classifier's loss is not one of deepgrad's, so what its "
            "outputs mean is unknown; export classifier.model instead"
        )
    if kind.name not in _PROBABILITY_OPS:  # a regression loss
        target = _fitted(classifier.target_standardizer)
        name = "prediction"
        if target is not None:  # back to the targets' units: y = z * scale + mean
            scaled = graph.node(
                "Mul", [output, graph.constant(target[1], "target_scale")], "target"
            )
            output = graph.node(
                "Add", [scaled, graph.constant(target[0], "target_mean")], "target"
            )
        if width == 1:  # one target: one number a row, as predict gives
            axes = graph.constant([1], "axes", np.int64)
            graph.node("Squeeze", [output, axes], "prediction", output=name)
            return [(name, elem, ["batch"])]
        graph.node("Identity", [output], "prediction", output=name)
        return [(name, elem, ["batch", width])]

    op = _PROBABILITY_OPS[kind.name]
    positive = output if op is None else graph.node(op[0], [output], "proba", **op[1])
    classes = width
    if kind.threshold is not None:  # one unit: P(class 1) = p, P(class 0) = 1 - p
        if width != 1:
            raise ValueError(
                f"to_onnx: a {kind.name} classifier exports with one output unit, "
                f"this model has {width}"
            )
        negative = graph.node("Sub", [graph.constant(1, "one"), positive], "proba")
        graph.node(
            "Concat", [negative, positive], "proba", output="probabilities", axis=1
        )
        classes = 2
    else:
        graph.node("Identity", [positive], "proba", output="probabilities")
    names = classifier.class_names
    if names is None:
        graph.node(
            "ArgMax", ["probabilities"], "label", output="label", axis=1, keepdims=0
        )
        label_type = TensorProto.INT64
    else:
        index = graph.node("ArgMax", ["probabilities"], "label", axis=1, keepdims=0)
        labels = graph.constant(np.array(names, dtype=object), "class_names", object)
        graph.node("Gather", [labels, index], "label", output="label", axis=0)
        label_type = TensorProto.STRING
    return [
        ("probabilities", elem, ["batch", classes]),
        ("label", label_type, ["batch"]),
    ]


def _metadata(classifier: Classifier | None) -> dict[str, str]:
    from deepgrad import __version__

    metadata = {"producer": f"deepgrad {__version__}"}
    if classifier is None:
        return metadata
    for key in ("task", "class_names", "feature_names", "target_name"):
        value = getattr(classifier, key)
        if value is not None:
            metadata[key] = value if isinstance(value, str) else json.dumps(value)
    if classifier.loss_name is not None:
        metadata["loss"] = classifier.loss_name
    return metadata


def to_onnx(
    model: Any,
    path: str | os.PathLike[str],
    *,
    opset: int = DEFAULT_OPSET,
    input_name: str = "input",
    input_shape: tuple[int, ...] | None = None,
) -> Any:
    """Write ``model`` as an ONNX graph to ``path`` (atomically) and return it.

    Parameters
    ----------
    model : Module, Classifier or fitted estimator
        An ``nn.Sequential`` (nested freely) of the layers in ``CONVERTERS``, or
        a Classifier (``deepgrad.load`` of a ``deepgrad train --out`` file)
        whose graph includes its feature scaling and ends in ``probabilities``
        and ``label`` (classification) or ``prediction`` (regression), or a
        fitted estimator holding its Classifier as ``classifier_``.
    path : str or PathLike
        The ``.onnx`` file to write; its folder must exist.
    opset : int
        The ONNX operator set version the graph declares (at least ``MIN_OPSET``).
    input_name : str
        The graph input's name.
    input_shape : tuple of int, optional
        One sample's shape; read from the first Linear, BatchNorm1d or LayerNorm
        when omitted. A model starting with an Embedding takes int64 indices of
        this shape (and needs it given).

    Returns
    -------
    onnx.ModelProto
        The graph written, checked with ``onnx.checker.check_model``.

    Raises
    ------
    UnsupportedLayerError
        For a layer without a converter, named with its place in the model, or a
        Classifier whose model starts with an Embedding (its graph takes float
        features).
    ValueError
        For an opset out of range, a model dtype other than float32/float64, or an
        input shape the model does not take.
    ImportError
        When the ``onnx`` package is missing: ``pip install 'deepgrad[onnx]'``.

    Example
    -------
    >>> from deepgrad import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> to_onnx(model, "model.onnx").graph.output[0].name  # doctest: +SKIP
    'output'
    """
    import onnx
    from onnx import TensorProto, helper

    network, classifier = _unwrap(model)
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"to_onnx: opset must be an integer from {MIN_OPSET} to {newest} (this "
            f"onnx's newest), received: {opset!r}"
        )
    dtype = _model_dtype(network)
    if dtype not in (np.float32, np.float64):
        raise ValueError(
            f"to_onnx: exports float32 and float64 models, this one is {dtype}; "
            "convert it with model.float()"
        )
    indices = _takes_indices(network)
    if indices and classifier is not None:
        raise UnsupportedLayerError(
            "to_onnx: a Classifier's graph takes (scaled) float features, and its "
            "model starts with an Embedding, which takes integer indices; export "
            "classifier.model instead"
        )
    shape = tuple(input_shape) if input_shape is not None else _input_shape(network)
    output_shape = _output_shape(network, shape, np.int64 if indices else dtype)
    graph = _Graph(dtype, 1 + len(shape), opset)
    x = input_name
    scaling = None if classifier is None else _fitted(classifier.standardizer)
    if scaling is not None:  # the Classifier's feature scaling: (x - mean) / scale
        centred = graph.node(
            "Sub", [x, graph.constant(scaling[0], "feature_mean")], "standardize"
        )
        x = graph.node(
            "Div", [centred, graph.constant(scaling[1], "feature_scale")], "standardize"
        )
    output = _convert(network, graph, x, "the model")
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    input_elem = TensorProto.INT64 if indices else elem
    if classifier is None:
        graph.node("Identity", [output], "output", output="output")
        outputs = [("output", elem, output_shape)]
    else:
        width = output_shape[-1]
        if len(output_shape) != 2 or not isinstance(width, int):
            raise ValueError(
                "to_onnx: a Classifier's model must output one row a sample, "
                f"(batch, outputs); this one's output has shape {output_shape}"
            )
        outputs = _classifier_outputs(classifier, graph, output, width)
    onnx_graph = helper.make_graph(
        graph.nodes,
        "deepgrad",
        [helper.make_tensor_value_info(input_name, input_elem, ["batch", *shape])],
        [helper.make_tensor_value_info(*output) for output in outputs],
        initializer=graph.initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(
        onnx_graph, producer_name="deepgrad", opset_imports=opsets
    )
    # the oldest IR version that holds the opset, so older runtimes read the file
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    helper.set_model_props(proto, _metadata(classifier))
    onnx.checker.check_model(proto, full_check=True)
    with atomic_write(Path(path)) as handle:
        handle.write(proto.SerializeToString())
    return proto
