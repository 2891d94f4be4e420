"""The layer-by-layer backprop trace: one forward and backward pass, explained.

``trace`` runs one forward and one backward pass of the engine itself through an
``nn.Sequential`` of Linear layers, each followed by at most one activation. It
calls ``retain_grad()`` on every pre-activation Z_l and activation A_l, so after
``loss.backward()`` the error signals dL/dA_l and dL/dZ_l sit in their ``.grad``
next to the parameters' dL/dW_l and dL/db_l: every number in the trace is one
the optimizer would receive, none comes from a second implementation. For the
batch X with N rows and weights W_l of shape (out, in), as in PyTorch::

    Z_l = A_{l-1} · W_l^T + b_l          A_0 = X
    A_l = f(Z_l)
    dL/dZ_l = dL/dA_l * f'(Z_l)          the error signal, delta_l
    dL/dW_l = (dL/dZ_l)^T · A_{l-1}
    dL/db_l = sum over the batch of dL/dZ_l
    dL/dA_{l-1} = dL/dZ_l · W_l

Each step of the trace states that chain-rule formula and checks it: the
formula, evaluated from the trace's other numbers, is compared with the
engine's value (``Quantity.residual``). The fused losses' closed forms are
checked the same way, e.g. ``dL/dZ_L = (A_L - y) / N`` for sigmoid + binary
cross-entropy. ``format_trace`` prints it all as rich tables, with the numeric
gradient check of the same batch (central differences in float64 and the
relative error of ``deepgrad.autograd.model_gradcheck``).

Example
-------
>>> from deepgrad import explain, nn
>>> model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid())
>>> X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
>>> result = explain.trace(model, X, [[0.0], [1.0], [1.0], [0.0]], nn.BCELoss())
>>> [q.symbol for q in result.layers[-1].backward]
['dL/dA2', 'dL/dZ2', 'dL/dW2', 'dL/db2']
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepgrad import nn
from deepgrad.autograd import numerical_jacobian
from deepgrad.nn.module import Module
from deepgrad.ops import sigmoid, softmax
from deepgrad.tensor import Tensor
from deepgrad.train.targets import loss_kind, match_target

__all__ = ["GradcheckRow", "LayerTrace", "Quantity", "Trace", "format_trace", "trace"]

# The activations a trace follows: element-wise, so f'(Z) is a tensor like Z.
ACTIVATION_NAMES: dict[type[Module], str] = {
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.GELU: "gelu",
    nn.Identity: "identity",
}

# torch floors p (1 - p) at this in binary cross-entropy's gradient
_BCE_EPSILON = 1e-12
# activations without a derivative at Z = 0, and how close to 0 counts as there
# (central differences with eps = 1e-6 move Z by about 1e-6 |x|)
_KINKED = ("relu", "leaky_relu")
_KINK_WIDTH = 1e-5
# the header prints X and y when X has at most this many numbers
_SHOWN_INPUTS = 16
# losses with these set have no textbook closed-form gradient to check against
_WEIGHTS = ("weight", "pos_weight")


@dataclass(frozen=True)
class Quantity:
    """One number of the trace: a tensor, the formula that gives it, its check.

    Attributes
    ----------
    key : str
        ``"Z"``, ``"A"``, ``"dA"``, ``"dZ"``, ``"dW"`` or ``"db"``.
    symbol : str
        How the trace names it, e.g. ``"dL/dZ2"``.
    formula : str
        The forward step or chain-rule step that produced it, e.g.
        ``"dL/dA2 * sigmoid'(Z2)"``.
    value : ndarray
        The engine's value (a ``.grad`` after ``loss.backward()`` for gradients).
    residual : float or None
        ``||value - formula|| / (||value|| + ||formula||)`` with the formula
        evaluated from the trace's other numbers; ``None`` where there is no
        closed form to check (the gradient of a loss the trace does not know).
    """

    key: str
    symbol: str
    formula: str
    value: np.ndarray
    residual: float | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def norm(self) -> float:
        """The L2 (Frobenius) norm of the value."""
        return float(np.linalg.norm(self.value.astype(np.float64)))


@dataclass(frozen=True)
class LayerTrace:
    """Layer l of the trace: a Linear layer and the activation after it.

    Attributes
    ----------
    index : int
        l, counted from 1 as in W1, Z1 (X is A0).
    modules : tuple of str
        The names of its modules in the Sequential, e.g. ``("0", "1")``.
    activation : str or None
        ``"sigmoid"``, ``"relu"``, ...; None for a Linear output (logits).
    forward : tuple of Quantity
        Z_l, then A_l when there is an activation.
    backward : tuple of Quantity
        dL/dA_l (when there is an activation), dL/dZ_l, dL/dW_l, dL/db_l (when
        the Linear has a bias), in the order backprop computes them.
    """

    index: int
    modules: tuple[str, ...]
    activation: str | None
    forward: tuple[Quantity, ...]
    backward: tuple[Quantity, ...]

    def __getitem__(self, key: str) -> Quantity:
        for quantity in (*self.forward, *self.backward):
            if quantity.key == key:
                return quantity
        raise KeyError(
            f"layer {self.index} has no {key!r}; it holds "
            f"{[q.key for q in (*self.forward, *self.backward)]}"
        )

    @property
    def Z(self) -> np.ndarray:
        return self["Z"].value

    @property
    def A(self) -> np.ndarray:
        """f(Z_l); Z_l itself for a layer without activation."""
        return self["A"].value if self.activation is not None else self.Z

    @property
    def dZ(self) -> np.ndarray:
        return self["dZ"].value

    @property
    def dA(self) -> np.ndarray:
        return self["dA"].value if self.activation is not None else self.dZ

    @property
    def dW(self) -> np.ndarray:
        return self["dW"].value

    @property
    def db(self) -> np.ndarray | None:
        return next((q.value for q in self.backward if q.key == "db"), None)


@dataclass(frozen=True)
class GradcheckRow:
    """Backprop against central differences for one parameter (float64)."""

    parameter: str  # as in named_parameters(), e.g. "2.weight"
    symbol: str  # as in the trace, e.g. "W2"
    shape: tuple[int, ...]
    backprop_norm: float
    numeric_norm: float
    rel_error: float  # ||g_bp - g_num|| / (||g_bp|| + ||g_num||), as model_gradcheck
    # upstream of a pre-activation at a kink (relu at Z = 0): finite differences
    # straddle a point without derivative there, so they may disagree
    at_kink: bool = False


@dataclass(frozen=True)
class Trace:
    """One forward and backward pass, layer by layer; see :func:`trace`.

    Attributes
    ----------
    layers : tuple of LayerTrace
        Layer 1 first.
    inputs, targets : ndarray
        The batch X (A0) and the targets as the loss received them.
    loss : float
        The loss of the batch.
    loss_name : str
        The loss's full name, e.g. ``"Binary Cross Entropy Loss"``.
    n : int
        The N the mean reduction divides by (1 for ``reduction="sum"``).
    gradcheck : tuple of GradcheckRow
        One row per parameter; empty when the check was not asked for.
    tolerance : float
        The largest gradcheck relative error counted as agreement.
    kinks : dict of str to int
        How many values of each pre-activation (``"Z1"``) lie at a kink of its
        activation (|Z| < 1e-5 before a relu or leaky_relu): backprop takes
        the derivative 0 (relu) there, central differences average both sides.
    """

    layers: tuple[LayerTrace, ...]
    inputs: np.ndarray
    targets: np.ndarray
    loss: float
    loss_name: str
    n: int
    gradcheck: tuple[GradcheckRow, ...]
    tolerance: float
    kinks: dict[str, int]

    @property
    def quantities(self) -> list[Quantity]:
        """Every quantity, forward then backward, layer 1 first."""
        return [q for layer in self.layers for q in (*layer.forward, *layer.backward)]

    @property
    def max_residual(self) -> float:
        """The worst chain-rule check of the trace (0 when nothing was checked)."""
        checked = [q.residual for q in self.quantities if q.residual is not None]
        return max(checked, default=0.0)

    @property
    def gradcheck_failures(self) -> list[GradcheckRow]:
        """Parameters whose gradients disagree, not explained by a kink."""
        return [
            row
            for row in self.gradcheck
            if row.rel_error > self.tolerance and not row.at_kink
        ]

    @property
    def gradcheck_ok(self) -> bool:
        return not self.gradcheck_failures


# ---------------------------------------------------------------------------
# the pass
# ---------------------------------------------------------------------------
@dataclass
class _Layer:
    names: tuple[str, ...]
    linear: nn.Linear
    activation: Module | None


def _group_layers(model: Any) -> list[_Layer]:
    """Split a Sequential into Linear layers, each with the activation after it."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            "trace expects an nn.Sequential of Linear layers and activations, "
            f"received: {type(model).__name__}"
        )
    supported = ", ".join(ACTIVATION_NAMES.values())
    layers: list[_Layer] = []
    for name, module in model.named_children():
        if isinstance(module, nn.Linear):
            layers.append(_Layer((name,), module, None))
        elif type(module) in ACTIVATION_NAMES:
            if not layers or layers[-1].activation is not None:
                raise ValueError(
                    f"trace: module {name!r} ({type(module).__name__}) does not "
                    "follow a Linear layer; the trace expects Linear, activation, "
                    "Linear, activation, ..."
                )
            layers[-1].activation = module
            layers[-1].names += (name,)
        else:
            raise ValueError(
                f"trace: module {name!r} ({type(module).__name__}) is not supported; "
                "the trace follows Linear layers, each followed by at most one "
                f"activation ({supported}): build the network without BatchNorm "
                "or Dropout"
            )
    if not layers:
        raise ValueError("trace: the model has no Linear layer to trace")
    return layers


def _relative_difference(value: np.ndarray, expected: np.ndarray) -> float:
    """model_gradcheck's measure: ||a - b|| / (||a|| + ||b||); 0 when both are 0."""
    a, b = value.astype(np.float64), np.asarray(expected, dtype=np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def _derivative(activation: Module, pre_activation: np.ndarray) -> np.ndarray:
    """f'(Z) from the activation's own backward: d(sum f(Z))/dZ, f element-wise."""
    z = Tensor(pre_activation.copy(), requires_grad=True)
    activation(z).sum().backward()
    return _grad(z)


def _grad(tensor: Tensor) -> np.ndarray:
    return np.zeros_like(tensor.array) if tensor.grad is None else tensor.grad.array


def _divisor(loss_fn: Any, output: Tensor, per_row: bool) -> int:
    """The N of a mean reduction: elements, or rows for per-row losses."""
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction == "sum":
        return 1
    return output.shape[0] if per_row else output.numel()


@dataclass(frozen=True)
class _ClosedForm:
    """The gradient a known loss sends into the network's output, in closed form.

    ``formula`` gives dL/dA_L (dL/dZ_L for a Linear output; ``{l}`` is the layer
    index); ``fused`` is the simpler dL/dZ_L it gives with the output activation.
    """

    formula: str
    expected: np.ndarray
    fused: tuple[str, np.ndarray] | None = None


def _loss_gradient(
    loss_fn: Any, last: _Layer, output: Tensor, target: Tensor, n: int
) -> _ClosedForm | None:
    """dL/d(output) of the losses whose gradient has a textbook closed form."""
    if any(getattr(loss_fn, name, None) is not None for name in _WEIGHTS):
        return None
    a = output.array.astype(np.float64)
    y = target.array
    if isinstance(loss_fn, nn.BCELoss):
        # dL/dA_L = (A_L - y) / (A_L (1 - A_L) N); with a sigmoid output
        # sigmoid'(Z_L) = A_L (1 - A_L) cancels: delta_L = (A_L - y) / N
        expected = (a - y) / np.maximum(a * (1 - a), _BCE_EPSILON) / n
        fused = (
            ("(A{l} - y) / N", (a - y) / n)
            if isinstance(last.activation, nn.Sigmoid)
            else None
        )
        return _ClosedForm("(A{l} - y) / (A{l} (1 - A{l}) N)", expected, fused)
    if isinstance(loss_fn, nn.MSELoss):
        output_symbol = "Z{l}" if last.activation is None else "A{l}"
        return _ClosedForm(f"2 ({output_symbol} - y) / N", 2 * (a - y) / n)
    if last.activation is not None:
        return None
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):
        # sigmoid and BCE fused: delta_L = (sigmoid(Z_L) - y) / N
        probability = sigmoid(Tensor(a)).array
        return _ClosedForm("(sigmoid(Z{l}) - y) / N", (probability - y) / n)
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        # softmax and cross-entropy fused: delta_L = (softmax(Z_L) - onehot(y)) / N
        if y.ndim == 1 and np.any(y == loss_fn.ignore_index):
            return None
        labels = y if y.ndim == 2 else np.eye(a.shape[1])[y]
        probability = softmax(Tensor(a), dim=1).array
        return _ClosedForm(
            "(softmax(Z{l}) - onehot(y)) / N", (probability - labels) / n
        )
    return None


def _as_batch(X: Any, first: nn.Linear, dtype: np.dtype) -> np.ndarray:
    array = np.asarray(X.array if isinstance(X, Tensor) else X)
    if array.ndim == 1:
        array = array.reshape(1, -1)  # one sample
    if array.ndim != 2 or array.shape[1] != first.in_features:
        raise ValueError(
            f"trace: X should have shape (N, {first.in_features}) for a first layer "
            f"with in_features={first.in_features}, received: {array.shape}"
        )
    if len(array) == 0:
        raise ValueError("trace: X has no rows; give at least one sample")
    return array.astype(dtype)


def trace(
    model: Any,
    X: Any,
    y: Any,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    gradcheck: bool = True,
    tolerance: float = 1e-5,
) -> Trace:
    """Run one forward and backward pass and record every step of backprop.

    The pass runs on a copy of ``model`` (whose ``.grad`` stay untouched) with
    ``retain_grad()`` on each Z_l and A_l, so every gradient in the trace is the
    engine's own. Each chain-rule step is checked against the formula it states
    (``Quantity.residual``), and with ``gradcheck`` each parameter's gradient
    against central differences in float64.

    Parameters
    ----------
    model : nn.Sequential
        Linear layers, each followed by at most one element-wise activation
        (Sigmoid, Tanh, ReLU, LeakyReLU, GELU, Identity).
    X : array_like or Tensor, shape (N, in_features) or (in_features,)
        The batch (a 1-D X is one sample).
    y : array_like or Tensor
        The targets, as for ``fit``: class indices for cross-entropy, one value
        per output otherwise (labels of shape (N,) meet a (N, 1) output).
    loss_fn : callable
        ``loss_fn(output, target)`` returning a scalar Tensor, e.g. ``nn.BCELoss()``.
    gradcheck : bool
        Also compare each parameter's gradient with central differences, as
        :func:`deepgrad.autograd.model_gradcheck` does (2 forward passes of the
        batch per weight: slow for thousands of weights on thousands of rows).
    tolerance : float
        The largest gradcheck relative error ``Trace.gradcheck_ok`` accepts.

    Returns
    -------
    Trace

    Raises
    ------
    TypeError
        If ``model`` is not an ``nn.Sequential``.
    ValueError
        For a layer the trace cannot follow (BatchNorm, Dropout, ...), X of the
        wrong width, a different number of targets and samples, or a loss that
        is not a scalar.

    Example
    -------
    >>> from deepgrad import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    >>> result = trace(model, [[1.0, 2.0]], [[0.5]], nn.MSELoss())
    >>> result.layers[0]["dZ"].formula
    "dL/dA1 * tanh'(Z1)"
    """
    layers = _group_layers(model)
    dtype = layers[0].linear.weight.dtype
    inputs = _as_batch(X, layers[0].linear, dtype)
    raw_targets = np.asarray(y.array if isinstance(y, Tensor) else y)
    if raw_targets.ndim == 0:
        raw_targets = raw_targets.reshape(1)
    if len(raw_targets) != len(inputs):
        raise ValueError(
            f"trace: X has {len(inputs)} samples but y has {len(raw_targets)} "
            "targets; give one target per sample"
        )

    copied = copy.deepcopy(model)  # the caller's model keeps its gradients
    layers = _group_layers(copied)  # checked above, before copying
    copied.zero_grad()
    # the forward pass, keeping each Z_l and A_l and their gradients
    tensors: list[tuple[Tensor, Tensor]] = []
    activation = Tensor(inputs)
    for layer in layers:
        pre_activation = layer.linear(activation)
        pre_activation.retain_grad()
        if layer.activation is not None:
            activation = layer.activation(pre_activation)
            activation.retain_grad()
        else:
            activation = pre_activation
        tensors.append((pre_activation, activation))
    output = activation
    kind = loss_kind(loss_fn)
    target = match_target(kind, output, Tensor(raw_targets))
    loss = loss_fn(output, target)
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError(
            "trace: the loss function must return a scalar Tensor (reduction "
            f"'mean' or 'sum'), received: {getattr(loss, 'shape', type(loss))}"
        )
    loss.backward()

    n = _divisor(loss_fn, output, per_row=kind is not None and kind.index_targets)
    closed_form = _loss_gradient(loss_fn, layers[-1], output, target, n)
    traced = [
        _trace_layer(index, layers, tensors, inputs, closed_form)
        for index in range(len(layers))
    ]
    kinks = {
        f"Z{layer.index}": int(np.count_nonzero(np.abs(layer.Z) < _KINK_WIDTH))
        for layer in traced
        if layer.activation in _KINKED
    }
    kinks = {name: count for name, count in kinks.items() if count}
    last_kink = max((int(name[1:]) for name in kinks), default=0)
    rows = (
        _gradcheck(model, loss_fn, inputs, target, layers, last_kink)
        if gradcheck
        else ()
    )
    return Trace(
        layers=tuple(traced),
        inputs=inputs,
        targets=target.array,
        loss=float(loss.item()),
        loss_name=getattr(loss_fn, "full_name", type(loss_fn).__name__),
        n=n,
        gradcheck=tuple(rows),
        tolerance=tolerance,
        kinks=kinks,
    )


def _quantity(
    key: str, symbol: str, formula: str, value: np.ndarray, expected: Any = None
) -> Quantity:
    """A Quantity, checked against ``expected`` (the formula's value) if given."""
    residual = None if expected is None else _relative_difference(value, expected)
    return Quantity(key, symbol, formula, value, residual)


def _trace_layer(
    index: int,
    layers: list[_Layer],
    tensors: list[tuple[Tensor, Tensor]],
    inputs: np.ndarray,
    closed_form: _ClosedForm | None,
) -> LayerTrace:
    """The forward and backward quantities of layer l = index + 1, checked."""
    layer, l = layers[index], index + 1
    pre_activation, activation = tensors[index]
    previous = "X" if index == 0 else f"A{l - 1}"
    previous_value = inputs if index == 0 else tensors[index - 1][1].array
    name = ACTIVATION_NAMES[type(layer.activation)] if layer.activation else None
    bias = f" + b{l}" if layer.linear.bias is not None else ""
    forward = [
        Quantity("Z", f"Z{l}", f"{previous} · W{l}^T{bias}", pre_activation.array)
    ]
    if name is not None:
        forward.append(Quantity("A", f"A{l}", f"{name}(Z{l})", activation.array))

    # What flows into this layer's output A_l (Z_l without activation): from
    # the next layer, dL/dA_l = dL/dZ_{l+1} · W_{l+1}, or from the loss.
    if index + 1 < len(layers):
        formula = f"dL/dZ{l + 1} · W{l + 1}"
        expected = _grad(tensors[index + 1][0]) @ layers[index + 1].linear.weight.array
    elif closed_form is not None:
        formula, expected = closed_form.formula.format(l=l), closed_form.expected
    else:
        formula, expected = "from the loss's backward", None

    backward: list[Quantity] = []
    grad_pre_activation = _grad(pre_activation)
    if layer.activation is None:
        dz = _quantity("dZ", f"dL/dZ{l}", formula, grad_pre_activation, expected)
    else:
        grad_activation = _grad(activation)
        backward.append(
            _quantity("dA", f"dL/dA{l}", formula, grad_activation, expected)
        )
        # delta_l = dL/dA_l * f'(Z_l), f' from the activation's own backward
        formula = f"dL/dA{l} * {name}'(Z{l})"
        derivative = _derivative(layer.activation, pre_activation.array)
        dz = _quantity(
            "dZ",
            f"dL/dZ{l}",
            formula,
            grad_pre_activation,
            grad_activation * derivative,
        )
        if index + 1 == len(layers) and closed_form and closed_form.fused:
            fused_formula, fused = closed_form.fused
            dz = Quantity(
                "dZ",
                dz.symbol,
                f"{formula} = {fused_formula.format(l=l)}",
                grad_pre_activation,
                max(
                    dz.residual or 0.0, _relative_difference(grad_pre_activation, fused)
                ),
            )
    backward.append(dz)
    backward.append(
        _quantity(
            "dW",
            f"dL/dW{l}",
            f"(dL/dZ{l})^T · {previous}",
            _grad(layer.linear.weight),
            grad_pre_activation.T @ previous_value,
        )
    )
    if layer.linear.bias is not None:
        backward.append(
            _quantity(
                "db",
                f"dL/db{l}",
                f"sum over batch of dL/dZ{l}",
                _grad(layer.linear.bias),
                grad_pre_activation.sum(axis=0),
            )
        )
    return LayerTrace(l, layer.names, name, tuple(forward), tuple(backward))


def _gradcheck(
    model: Any,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    inputs: np.ndarray,
    target: Tensor,
    layers: list[_Layer],
    last_kink: int,
) -> list[GradcheckRow]:
    """Backprop against central differences per parameter, on a float64 copy.

    What ``model_gradcheck`` computes (the same differences, eps = 1e-6, and the
    same relative error), keeping both gradients for their norms. Parameters of
    layers 1..``last_kink`` move a pre-activation sitting at a kink.
    """
    checked = copy.deepcopy(model).double()
    x = Tensor(inputs.astype(np.float64))
    raw = target.array
    y = Tensor(raw.astype(np.float64) if raw.dtype.kind == "f" else raw)
    named = list(checked.named_parameters())
    checked.zero_grad()
    loss_fn(checked(x), y).backward()
    numeric = numerical_jacobian(
        lambda *_: loss_fn(checked(x), y), [param for _, param in named]
    )
    symbols, layer_of = {}, {}
    for l, layer in enumerate(layers, start=1):
        for suffix, letter in (("weight", "W"), ("bias", "b")):
            symbols[f"{layer.names[0]}.{suffix}"] = f"{letter}{l}"
            layer_of[f"{layer.names[0]}.{suffix}"] = l
    return [
        GradcheckRow(
            parameter=name,
            symbol=symbols.get(name, name),
            shape=tuple(param.shape),
            backprop_norm=float(np.linalg.norm(_grad(param))),
            numeric_norm=float(np.linalg.norm(gradient)),
            rel_error=_relative_difference(_grad(param), gradient.reshape(param.shape)),
            at_kink=layer_of.get(name, 0) <= last_kink,
        )
        for (name, param), gradient in zip(named, numeric, strict=True)
    ]


# ---------------------------------------------------------------------------
# printing
# ---------------------------------------------------------------------------
def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "scalar"


def _preview(value: np.ndarray, decimals: int, count: int = 3) -> str:
    """The first few numbers of the first row, e.g. ``[0.5312, -0.1200, …]``."""
    row = value[0] if value.ndim == 2 else value
    flat = np.asarray(row).reshape(-1)
    numbers = [f"{number:.{decimals}f}" for number in flat[:count]]
    more = ", …" if flat.size > count else ""
    return "[" + ", ".join(numbers) + more + "]"


def _numbers(values: np.ndarray, decimals: int) -> str:
    """A small array on one line: ``[[0, 1], [1, 0]]``, integers without decimals."""
    if np.all(np.mod(values, 1) == 0):
        return str(values.astype(np.int64).tolist())
    return str(np.round(values.astype(np.float64), decimals).tolist())


def _check_text(residual: float | None, limit: float) -> str:
    if residual is None:
        return "[dim]-[/dim]"
    shown = f"{residual:.0e}" if residual else "0"
    if residual <= limit:
        return f"[green]ok[/green] {shown}"
    return f"[red]FAIL[/red] {shown}"


def _residual_limit(trace: Trace) -> float:
    """A chain-rule check passes within rounding: sqrt(eps) of the trace's dtype."""
    return float(np.sqrt(np.finfo(trace.inputs.dtype).eps))


def format_trace(trace: Trace, decimals: int = 4) -> Any:
    """The trace as rich tables: forward pass, backward pass, gradient check.

    Parameters
    ----------
    trace : Trace
        From :func:`trace`.
    decimals : int
        Digits after the point for values and norms.

    Returns
    -------
    rich.console.Group
        Print it with ``rich.print`` or a ``rich.console.Console``; it fits a
        100-column terminal.

    Raises
    ------
    ImportError
        Without rich (``pip install 'deepgrad[cli]'``).
    """
    try:
        from rich import box
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text
    except ImportError as error:  # pragma: no cover - rich comes with [cli]
        raise ImportError(
            "format_trace needs rich: pip install 'deepgrad[cli]'"
        ) from error
    if not isinstance(decimals, int) or decimals < 0:
        raise ValueError(
            f"format_trace: decimals must be a non-negative int, received: {decimals!r}"
        )
    samples = len(trace.inputs)
    mean = f" (N = {trace.n} in the mean)" if trace.n != samples else ""
    lines = [
        f"[bold]{trace.loss_name}[/bold] L = {trace.loss:.{decimals}f} on "
        f"N = {samples} sample{'s' if samples != 1 else ''}{mean}"
    ]
    if trace.inputs.size <= _SHOWN_INPUTS:
        lines.append(
            f"X = {_numbers(trace.inputs, decimals)}   "
            f"y = {_numbers(trace.targets, decimals)}"
        )
    header = Text.from_markup("\n".join(lines))

    forward = Table(
        title="Forward pass", title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1)
    )
    forward.add_column("layer", justify="right")
    forward.add_column("")
    forward.add_column("computed as")
    forward.add_column("shape", justify="right")
    forward.add_column("norm", justify="right")
    forward.add_column("values (first sample)", no_wrap=True)
    for layer in trace.layers:
        for position, quantity in enumerate(layer.forward):
            forward.add_row(
                str(layer.index) if position == 0 else "",
                quantity.symbol,
                quantity.formula,
                _shape(quantity.shape),
                f"{quantity.norm:.{decimals}f}",
                _preview(quantity.value, decimals),
                end_section=position == len(layer.forward) - 1,
            )

    limit = _residual_limit(trace)
    backward = Table(
        title="Backward pass (chain rule, from the loss back to layer 1)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    backward.add_column("layer", justify="right")
    backward.add_column("gradient")
    backward.add_column("chain rule", no_wrap=True)
    backward.add_column("shape", justify="right")
    backward.add_column("norm", justify="right")
    backward.add_column("check", no_wrap=True)
    for layer in reversed(trace.layers):
        for position, quantity in enumerate(layer.backward):
            # a fused output's identity goes on a line of its own: "= (A3 - y) / N"
            first, *identities = quantity.formula.split(" = ")
            last_row = position == len(layer.backward) - 1
            backward.add_row(
                str(layer.index) if position == 0 else "",
                quantity.symbol,
                first,
                _shape(quantity.shape),
                f"{quantity.norm:.{decimals}f}",
                _check_text(quantity.residual, limit),
                end_section=last_row and not identities,
            )
            for number, identity in enumerate(identities, start=1):
                backward.add_row(
                    "",
                    "",
                    f"  = {identity}",
                    end_section=last_row and number == len(identities),
                )
    parts: list[Any] = [header, Text(""), forward, backward]
    parts.append(
        Text(
            "check: ||a - b|| / (||a|| + ||b||), the engine's value against its formula",
            style="dim",
        )
    )

    if trace.gradcheck:
        parts.append(Text(""))
        checks = Table(
            title="Gradient check (float64, central differences)",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
        )
        for column in ("parameter", "shape", "backprop", "numeric", "rel. error", ""):
            checks.add_column(
                column, justify="left" if column in ("parameter", "") else "right"
            )
        for row in trace.gradcheck:
            if row.rel_error <= trace.tolerance:
                status = "[green]ok[/green]"
            else:
                status = "[yellow]kink[/yellow]" if row.at_kink else "[red]FAIL[/red]"
            checks.add_row(
                f"{row.symbol} ({row.parameter})",
                _shape(row.shape),
                f"{row.backprop_norm:.{decimals}f}",
                f"{row.numeric_norm:.{decimals}f}",
                f"{row.rel_error:.2e}",
                status,
            )
        parts.append(checks)
        parts.append(
            Text(
                "norms ||dL/dθ||; rel. error ||g_bp - g_num|| / (||g_bp|| + "
                f"||g_num||) <= {trace.tolerance:g}",
                style="dim",
            )
        )
        if any(
            row.at_kink and row.rel_error > trace.tolerance for row in trace.gradcheck
        ):
            at_zero = ", ".join(
                f"{count} in {name}" for name, count in trace.kinks.items()
            )
            parts.append(
                Text(
                    f"kink: pre-activations at 0 ({at_zero}), where relu has no "
                    "derivative: backprop takes relu'(0) = 0, central differences "
                    "average both sides, so the layers up to there may disagree.",
                    style="yellow",
                )
            )
    return Group(*parts)
