"""A compiled training step for multilayer perceptrons: the fast path of ``fit``.

The eager path builds a graph of Tensor objects every step and walks it back.
For the networks people mostly train (an ``nn.Sequential`` of ``Linear`` layers
and elementwise activations, ending in a standard loss) the graph is the same
every step, so this module writes that step out once, the way a hand-written
NumPy network does it:

- forward: Z_l = A_{l-1} W_l^T + b_l and A_l = f(Z_l), each into a buffer that
  is allocated once per batch size and reused (``matrix_product(..., out=)``);
- loss and output error fused: delta_L = dL/dZ_L in closed form, e.g.
  (softmax(Z) - onehot(y)) / N for cross-entropy on logits and (A - y) / N
  for a sigmoid output with binary cross-entropy;
- backward, the delta rule: dW_l = delta_l^T A_{l-1}, db_l = sum of delta_l,
  delta_{l-1} = (delta_l W_l) * f'(Z_{l-1}), written into the parameters'
  ``.grad`` arrays in place;
- the update is the optimizer's own ``step()``, so every optimizer and
  scheduler works unchanged.

It is an optimisation of the eager path, tested equal to it
(tests/test_fast.py). ``compile_step`` returns None for anything it does not
cover, and the caller falls back to the eager path.
"""

from __future__ import annotations

import importlib.util
import math
import os
import tempfile
from abc import ABC, abstractmethod
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from deepgrad.nn.functional import clamped_logs
from deepgrad.nn.layers import (
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from deepgrad.nn.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from deepgrad.ops.activations import log_softmax_array, stable_sigmoid
from deepgrad.ops.arithmetic import matrix_product
from deepgrad.optim.adam import Adam, AdamW
from deepgrad.optim.rmsprop import RMSprop
from deepgrad.optim.sgd import SGD
from deepgrad.tensor import Tensor


def _relu(z, out):
    return np.maximum(z, 0, out=out)


def _relu_grad(delta, z, a):  # relu'(z) = 1 where z > 0
    delta *= a > 0


def _sigmoid(z, out):
    return stable_sigmoid(z, out)  # the eager path's overflow-free sigmoid


def _sigmoid_grad(delta, z, a):  # sigmoid'(z) = a (1 - a)
    delta *= a
    delta *= 1 - a


def _tanh(z, out):
    return np.tanh(z, out=out)


def _tanh_grad(delta, z, a):  # tanh'(z) = 1 - a^2
    delta *= 1 - a * a


def _identity(z, out):
    out[...] = z
    return out


def _identity_grad(delta, z, a):
    pass


# activation module type -> (forward into a buffer, derivative applied to delta in place)
ACTIVATIONS = {
    ReLU: (_relu, _relu_grad),
    Sigmoid: (_sigmoid, _sigmoid_grad),
    Tanh: (_tanh, _tanh_grad),
    Identity: (_identity, _identity_grad),
}


# activation module type -> its fused kernels' name in deepgrad.kernels.ACTIVATIONS
_KERNEL_NAMES: dict[type, str] = {ReLU: "relu", Sigmoid: "sigmoid", Tanh: "tanh"}


def _leaky(slope: float):
    def forward(z, out):
        np.multiply(z, np.where(z > 0, 1, slope).astype(z.dtype), out=out)
        return out

    def derivative(delta, z, a):  # 1 where z > 0, else the slope
        delta *= np.where(z > 0, 1, slope).astype(delta.dtype)

    return forward, derivative


# Numba's kernels (deepgrad.kernels, the `fast` extra) pay back their cost once a run
# updates enough parameters in all (parameters x steps). Compiled in the process
# (JIT), they cost about 0.7 s a process to import Numba and load them from its
# cache (1.5-2 s the first time, while they compile) and about 125 MB; measured on
# W2 (docs/performance.md) they save 1.3-1.8 ns per parameter and step with Adam
# (13 NumPy passes become one), about 0.5 ns with plain SGD. Built ahead of time
# (`deepgrad kernels --build`, deepgrad.kernels_aot), they load in about 2 ms
# without Numba, and pay back after KERNELS_BREAK_EVEN_AOT. Below these (the lab's
# XOR run, small CLI runs) NumPy runs.
KERNELS_BREAK_EVEN = 5e8
KERNELS_BREAK_EVEN_PLAIN_SGD = 1.5e9
KERNELS_BREAK_EVEN_AOT = 1e7
KERNEL_BACKENDS = ("auto", "numba", "numba-aot", "numba-jit", "numpy")


def kernels_installed() -> bool:
    """Whether Numba (``pip install 'deepgrad[fast]'``) can be imported."""
    return importlib.util.find_spec("numba") is not None


def load_built_kernels() -> Any:
    """The kernels built ahead of time for this machine (no Numba), or None."""
    from deepgrad import kernels_aot

    return kernels_aot.load()


def load_kernels() -> ModuleType:
    """Import ``deepgrad.kernels`` (and Numba), with Numba's cache in a user folder.

    The kernels compile once per machine and load from ``NUMBA_CACHE_DIR``
    afterwards; deepgrad sets it to ``~/.cache/deepgrad/numba`` (under
    ``XDG_CACHE_HOME`` when set) unless the user chose one.
    """
    if "NUMBA_CACHE_DIR" not in os.environ:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".cache"
        )
        folder = os.path.join(cache, "deepgrad", "numba")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:  # a read-only home: Numba would refuse cache=True there
            user = os.getuid() if hasattr(os, "getuid") else os.getpid()
            folder = os.path.join(tempfile.gettempdir(), f"deepgrad-numba-{user}")
        os.environ["NUMBA_CACHE_DIR"] = folder
    try:
        from deepgrad import kernels
    except ImportError as error:
        raise ImportError(
            "the numba kernels need Numba: pip install 'deepgrad[fast]'"
        ) from error
    return kernels


def choose_kernels(
    kernels: str | None, work: float | None, break_even: float = KERNELS_BREAK_EVEN
) -> tuple[Any, str]:
    """The kernels the compiled step uses and their name ("numpy": none).

    ``kernels``: "numpy"; "numba-aot" (the build of ``deepgrad kernels --build``,
    raise if there is none), "numba-jit" (compiled in this process, raise if Numba
    is missing), "numba" (the build when there is one, else JIT); or "auto": the
    build when ``work`` (parameters x steps) reaches KERNELS_BREAK_EVEN_AOT, else
    JIT when Numba is installed and ``work`` reaches ``break_even``, else NumPy.
    None reads the ``DEEPGRAD_KERNELS`` environment variable (default "auto").
    """
    source = "kernels"
    if kernels is None:
        kernels, source = (
            os.environ.get("DEEPGRAD_KERNELS") or "auto",
            "DEEPGRAD_KERNELS",
        )
    if kernels not in KERNEL_BACKENDS:
        raise ValueError(
            f"compile_step: {source} must be one of {', '.join(KERNEL_BACKENDS)}, "
            f"received: {kernels!r}"
        )
    if kernels == "numpy" or (
        kernels == "auto" and (work is None or work < KERNELS_BREAK_EVEN_AOT)
    ):
        return None, "numpy"
    if kernels in ("auto", "numba", "numba-aot"):
        built = load_built_kernels()
        if built is not None:
            return built, "numba-aot"
        if kernels == "numba-aot":
            raise RuntimeError(
                "compile_step: no kernels built for this machine yet (numba-aot); "
                "run `deepgrad kernels --build` once, or use numba-jit or auto"
            )
    if kernels == "auto" and (work < break_even or not kernels_installed()):
        return None, "numpy"
    return load_kernels(), "numba-jit"


class _Layer(NamedTuple):
    """One Linear layer's arrays for one batch size: what a step reads and writes."""

    weight: np.ndarray  # W (out, in), the parameter's own array
    weight_t: np.ndarray  # W^T, a view
    bias: np.ndarray | None
    grad_weight: np.ndarray  # the parameters' .grad arrays, overwritten each step
    grad_bias: np.ndarray | None
    z: np.ndarray  # Z = A_prev W^T + b
    a: np.ndarray  # A = f(Z)
    delta: np.ndarray  # dL/dZ
    forward: Any
    derivative: Any
    fused_forward: Any  # Z += b, A = f(Z) in one kernel call, or None
    fused_backward: Any  # delta *= f'(Z) and db = sum of delta in one call, or None


def _fused(kernels: Any, name: str | None, slope: float | None):
    """(fused forward, fused backward) of one activation from ``kernels``, or Nones."""
    if kernels is None or name not in kernels.ACTIVATIONS:
        return None, None
    forward, backward = kernels.ACTIVATIONS[name]
    if name == "leaky_relu":
        return (
            lambda z, bias, a: forward(z, bias, a, z.dtype.type(slope)),
            lambda delta, z, a, grad_bias: backward(
                delta, z, grad_bias, delta.dtype.type(slope)
            ),
        )
    # relu reads A (A > 0 exactly where Z > 0), sigmoid and tanh their output
    return forward, lambda delta, z, a, grad_bias: backward(delta, a, grad_bias)


def _fused_feature_major(kernels: Any, name: str | None, slope: float | None):
    """For a hidden layer whose buffers are transposed (Z^T, A^T, delta^T of shape
    (features, samples)): a function of the batch size giving (fused forward,
    fused backward) called with the usual (samples, features) views, or None.

    The forward is one kernel over Z^T; the backward applies f' elementwise and
    writes db, the row sums of delta^T, as one BLAS gemv: delta^T @ ones.
    """
    table = getattr(kernels, "ACTIVATIONS_T", None)
    if table is None or name not in table:
        return None
    forward, derivative = table[name]

    def make(batch: int, dtype: np.dtype):
        ones = np.ones(batch, dtype)
        if name == "leaky_relu":
            scalar = dtype.type(slope)

            def fused_forward(z, bias, a):
                forward(z.T, bias, a.T, scalar)

            def fused_backward(delta, z, a, grad_bias):
                derivative(delta.T, z.T, scalar)
                np.dot(delta.T, ones, out=grad_bias)

            return fused_forward, fused_backward

        def plain_forward(z, bias, a):
            forward(z.T, bias, a.T)

        def plain_backward(delta, z, a, grad_bias):
            derivative(delta.T, a.T)  # relu reads A, sigmoid and tanh their output
            np.dot(delta.T, ones, out=grad_bias)

        return plain_forward, plain_backward

    return make


class CompiledStep:
    """One training step of an MLP with preallocated buffers; call with NumPy arrays.

    ``step(x, y)`` runs forward, loss, backward and ``optimizer.step()`` and
    returns the batch loss as a float. ``step.forward(x)`` runs the forward pass
    only, without touching gradients. ``step.run_epochs(...)`` trains many
    epochs over the same batches back to back (``fit`` uses it for the lab's
    full-batch runs).

    For each batch size the step keeps a plan: per layer, the parameter and
    gradient arrays and the Z, A and delta buffers. It is rebuilt when a
    parameter's array or gradient was replaced (``p.data = t``,
    ``zero_grad(set_to_none=True)``).

    ``kernels`` is ``deepgrad.kernels`` (Numba's JIT), their ahead-of-time build
    (``deepgrad.kernels_aot``), or None: with them, the bias and activation, the
    activation's derivative and the bias gradient, the loss and its delta, and the
    optimizer update each run as one compiled pass (``choose_kernels`` picks them;
    ``kernels_name`` says which ran: "numpy", "numba-jit" or "numba-aot").
    """

    def __init__(
        self,
        layers,
        loss_kind: str,
        optimizer: Any,
        kernels: Any = None,
        activations: list[tuple[str | None, float | None]] | None = None,
        kernels_name: str | None = None,
    ) -> None:
        self.layers = layers  # list of (Linear, forward_fn, derivative_fn)
        # the Parameter objects themselves, looked up once (module attribute
        # access is a dict lookup through Module.__getattr__ on every step)
        self.weights = [linear.weight for linear, _, _ in layers]
        self.biases = [linear.bias for linear, _, _ in layers]
        self.loss_kind = loss_kind
        self.optimizer = optimizer
        self.kernels = kernels
        self.kernels_name = kernels_name or ("numpy" if kernels is None else "numba")
        activations = activations or [(None, None)] * len(layers)
        self._fused = [_fused(kernels, *activation) for activation in activations]
        # hidden layers with a fused activation keep transposed buffers (the
        # kernels only: the NumPy path stays as it was, bit for bit)
        self._feature_major = [
            None if index == len(layers) - 1 else _fused_feature_major(kernels, *act)
            for index, act in enumerate(activations)
        ]
        self._loss = (
            _LOSSES[loss_kind] if kernels is None else _kernel_loss(kernels, loss_kind)
        )
        self._flat = _FlatUpdate.create(optimizer, self.parameters, kernels)
        self._plans: dict[int, list[_Layer]] = {}
        self._loss_scratch: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def parameters(self) -> list[Tensor]:
        """The trainable parameters, in the model's order (W1, b1, W2, b2, ...)."""
        pairs = zip(self.weights, self.biases, strict=True)
        return [p for pair in pairs for p in pair if p is not None]

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype: inputs must have it."""
        return self.weights[0].array.dtype

    def output_shape(self, batch: int) -> tuple[int, int]:
        """The shape of the network's output for ``batch`` samples."""
        return batch, self.layers[-1][0].out_features

    def _plan(self, batch: int, dtype: np.dtype) -> list[_Layer]:
        plan = self._plans.get(batch)
        if plan is None or not self._plan_current(plan):
            plan = [
                self._layer_plan(batch, dtype, *layer, fused, feature_major)
                for layer, fused, feature_major in zip(
                    self.layers, self._fused, self._feature_major, strict=True
                )
            ]
            self._plans[batch] = plan
        return plan

    def _plan_current(self, plan: list[_Layer]) -> bool:
        """No parameter array or gradient replaced since the plan was made."""
        for layer, weight, bias in zip(plan, self.weights, self.biases, strict=True):
            if weight.array is not layer.weight or weight.grad is None:
                return False
            if weight.grad.array is not layer.grad_weight:
                return False
            if bias is not None and (
                bias.array is not layer.bias
                or bias.grad is None
                or bias.grad.array is not layer.grad_bias
            ):
                return False
        return True

    def _layer_plan(
        self, batch, dtype, linear, forward, derivative, fused, feature_major=None
    ) -> _Layer:
        weight, bias = linear.weight, linear.bias
        if bias is None or bias.array.dtype != dtype:  # the kernels need b and Z alike
            fused, feature_major = (None, None), None
        if feature_major is not None and dtype == weight.array.dtype:
            # Z, A, delta as (samples, features) views of (features, samples) arrays
            z, a, delta = np.empty((3, linear.out_features, batch), dtype).transpose(
                0, 2, 1
            )
            fused = feature_major(batch, np.dtype(dtype))
        else:
            z, a, delta = np.empty((3, batch, linear.out_features), dtype)
        return _Layer(
            weight.array,
            weight.array.T,
            None if bias is None else bias.array,
            _grad_array(weight),
            None if bias is None else _grad_array(bias),
            z,
            a,
            delta,
            forward,
            derivative,
            *fused,
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The network's output for a batch, in a reused buffer (copy it to keep it)."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return self._forward(self._plan(x.shape[0], x.dtype), x)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward, loss, backward and update for one batch; returns the loss."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            self._forward(self._plan(x.shape[0], x.dtype), x)
            return self.backward_and_update(x, y)

    def backward_and_update(
        self, x: np.ndarray, y: np.ndarray, labels_checked: bool = False
    ) -> float:
        """Loss, backward and update after ``forward(x)`` of the same batch;
        ``labels_checked``: ``y`` holds rows of labels ``check_labels`` accepted."""
        plan = self._plans[x.shape[0]]
        self._check_target(plan[-1].a, y, labels_checked)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            loss = self._backward(plan, x, y)
            if self._flat is not None and self._flat.ready():
                self._flat.step()
            else:
                self.optimizer.step()
        return loss

    @staticmethod
    def _forward(plan: list[_Layer], x: np.ndarray) -> np.ndarray:
        activation = x
        for layer in plan:
            z = matrix_product(activation, layer.weight_t, out=layer.z)  # A_prev W^T
            if layer.fused_forward is not None:  # Z += b, A = f(Z) in one pass
                layer.fused_forward(z, layer.bias, layer.a)
                activation = layer.a
                continue
            if layer.bias is not None:
                z += layer.bias
            activation = layer.forward(z, layer.a)
        return activation

    def _backward(self, plan: list[_Layer], x: np.ndarray, y: np.ndarray) -> float:
        """The loss of the last forward pass; writes every parameter's gradient."""
        last = plan[-1]
        scratch = self._loss_scratch.get(x.shape[0])
        if scratch is None:
            scratch = np.empty((2, *last.a.shape), last.a.dtype)
            self._loss_scratch[x.shape[0]] = scratch
        loss = self._loss(last.a, y, last.delta, scratch)
        bias_summed = False  # db already written by a fused backward kernel
        if self.loss_kind == "mse":  # delta holds dL/dA; the chain rule through f
            bias_summed = _apply_derivative(last)
        for index in range(len(plan) - 1, -1, -1):
            layer = plan[index]
            inputs = plan[index - 1].a if index > 0 else x
            # dW = delta^T A_prev
            matrix_product(layer.delta.T, inputs, out=layer.grad_weight)
            if layer.grad_bias is not None and not bias_summed:  # db
                kernels = self.kernels  # they need delta and db alike
                if kernels is not None and layer.delta.dtype == layer.grad_bias.dtype:
                    kernels.bias_sum(layer.delta, layer.grad_bias)
                else:
                    np.add.reduce(layer.delta, axis=0, out=layer.grad_bias)
            if index > 0:  # delta_prev = (delta W) * f'(Z_prev)
                previous = plan[index - 1]
                matrix_product(layer.delta, layer.weight, out=previous.delta)
                bias_summed = _apply_derivative(previous)
        return loss

    def flat_sgd_ready(self) -> bool:
        """Whether updates go over one flat buffer by plain SGD (nothing replaced)."""
        return isinstance(self._flat, _FlatSGD) and self._flat.ready()

    def _active_flat_sgd(self, caller: str) -> _FlatSGD:
        flat = self._flat
        if not isinstance(flat, _FlatSGD) or not flat.ready():
            raise RuntimeError(
                f"{caller}: the flat SGD path is not active (it needs plain SGD over "
                "every parameter, none of whose arrays or gradients was replaced); "
                "check flat_sgd_ready() first"
            )
        return flat

    def flat_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """(values, gradients): the flat arrays every parameter and .grad is a view of.

        Only while ``flat_sgd_ready()``; the parameters lie in the model's order.
        """
        flat = self._active_flat_sgd("flat_parameters")
        return flat.values, flat.grads

    def run_epochs(
        self,
        batches: list[tuple[np.ndarray, np.ndarray]],
        losses: np.ndarray,
        weights: np.ndarray,
        grads: np.ndarray,
        outputs: np.ndarray | None = None,
    ) -> tuple[int, bool]:
        """Train ``len(losses)`` epochs over the same batches back to back.

        The lab's 5000 full-batch epochs spend as long in a training loop's
        per-epoch Python as in the step itself; here an epoch is the steps and
        three copies. Needs the flat SGD path (``flat_sgd_ready()``) and targets
        that ``backward_and_update`` would accept. For epoch ``k`` it writes the
        mean loss to ``losses[k]``, the parameters after it to ``weights[k]`` and
        the last batch's gradients to ``grads[k]`` (both in ``flat_parameters``
        order), and with ``outputs`` (samples of all batches one after another)
        each sample's output before its update to ``outputs[k]``.

        Returns ``(epochs completed, interrupted)``: fewer epochs than asked
        when a batch's loss was not finite (``losses[k]`` holds it; the step
        stops before updating with it, as ``fit`` does) or when Ctrl-C
        interrupted it (``interrupted`` is then True, the parameters possibly
        mid-epoch).
        Call under ``np.errstate`` or ``np.seterr`` as ``fit`` does: a diverging
        run overflows.
        """
        flat = self._active_flat_sgd("run_epochs")
        values, gradients, update = flat.values, flat.grads, flat.step
        plans = []
        start = 0
        for x, y in batches:
            self._check_target(self._forward(self._plan(len(x), x.dtype), x), y)
            plans.append((self._plans[len(x)], x, y, len(x), start, start + len(x)))
            start += len(x)
        n_samples = start
        forward, backward = self._forward, self._backward
        epoch = 0
        try:
            for epoch in range(len(losses)):
                total = 0.0
                for plan, x, y, size, first, stop in plans:
                    output = forward(plan, x)
                    if outputs is not None:
                        outputs[epoch, first:stop] = output
                    loss = backward(plan, x, y)
                    if not math.isfinite(loss):  # stop at once, as fit does
                        losses[epoch] = loss
                        return epoch, False
                    total += loss * size
                    update()
                losses[epoch] = total / n_samples
                weights[epoch] = values
                grads[epoch] = gradients
        except KeyboardInterrupt:
            return epoch, True
        return len(losses), False

    def check_labels(self, labels: np.ndarray) -> bool:
        """Check the class labels of every batch to come at once, for a caller
        that knows they stay as they are (fit, while no callback runs). True when
        checked: ``backward_and_update(x, y, labels_checked=True)`` may then skip
        the range check of each batch whose ``y`` holds rows of ``labels``.

        Raises
        ------
        ValueError
            A label out of range, as the batch holding it would.
        """
        if self.loss_kind != "cross_entropy" or labels.ndim != 1:
            return False
        if labels.dtype.kind not in "iu":
            return False
        _check_label_range(labels, self.output_shape(0)[1])
        return True

    def _check_target(
        self, output: np.ndarray, y: np.ndarray, labels_checked: bool = False
    ) -> None:
        if self.loss_kind == "cross_entropy":
            if y.shape != output.shape[:1] or y.dtype.kind not in "iu":
                raise ValueError(
                    f"cross_entropy: expected integer class labels of shape "
                    f"{output.shape[:1]}, received {y.dtype} labels of shape {y.shape}"
                )
            if not labels_checked:  # the loss kernels index rows by the labels
                _check_label_range(y, output.shape[1])
        elif y.shape != output.shape:
            raise ValueError(
                f"{self.loss_kind}: the model's output has shape {output.shape} but "
                f"the target has shape {y.shape}; they must be equal"
            )


def _check_label_range(labels: np.ndarray, classes: int) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise ValueError(
            f"cross_entropy: target label {bad} is out of range for "
            f"{classes} classes (labels must be integers from 0 to {classes - 1})"
        )


def _apply_derivative(layer: _Layer) -> bool:
    """delta *= f'(Z); True when a fused kernel also wrote db (the sum of delta)."""
    if layer.fused_backward is not None:
        layer.fused_backward(layer.delta, layer.z, layer.a, layer.grad_bias)
        return True
    layer.derivative(layer.delta, layer.z, layer.a)
    return False


def _kernel_loss(kernels: Any, kind: str):
    """The fused loss kernel, called as the NumPy losses are (scratch unused)."""
    kernel = kernels.LOSSES[kind]

    def loss(output, y, delta, scratch) -> float:
        return float(kernel(output, y, delta))

    return loss


def _views(flat: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    """Consecutive pieces of ``flat`` shaped like the arrays in ``like``."""
    views, offset = [], 0
    for array in like:
        views.append(flat[offset : offset + array.size].reshape(array.shape))
        offset += array.size
    return views


class _FlatUpdate(ABC):
    """An optimizer step over one flat array holding every parameter.

    Each Parameter's ``.array`` and ``.grad`` become views of two flat arrays, so
    the model and the optimizer see the same values, and the update runs as a
    handful of whole-model ufunc calls instead of a Python loop over
    parameters. The arithmetic is elementwise, so the result equals the
    optimizer's own ``step()`` exactly. Subclasses say which optimizers they
    cover (``covers``) and do the update (``_update``).
    """

    def __init__(
        self,
        optimizer: Any,
        parameters: list[Tensor],
        kernels: Any = None,
    ) -> None:
        self.group = optimizer.param_groups[0]
        self.optimizer = optimizer
        self.kernels = kernels
        self.parameters = parameters
        arrays = [p.array for p in parameters]
        self.values = np.concatenate([a.ravel() for a in arrays]).astype(
            arrays[0].dtype
        )
        self.grads = np.zeros_like(self.values)
        self.scratch = np.empty_like(self.values)
        self.grad_tensors = []
        for parameter, value, grad in zip(
            parameters,
            _views(self.values, arrays),
            _views(self.grads, arrays),
            strict=True,
        ):
            parameter.array = value
            parameter.grad = Tensor(grad)
            self.grad_tensors.append(parameter.grad)

    @staticmethod
    @abstractmethod
    def covers(optimizer: Any, group: dict[str, Any]) -> bool:
        """Whether this flat update computes ``optimizer.step()`` for ``group``."""

    @abstractmethod
    def _update(self) -> None:
        """One optimizer step over the flat arrays."""

    @classmethod
    def create(
        cls,
        optimizer: Any,
        parameters: list[Any],
        kernels: Any = None,
    ) -> _FlatUpdate | None:
        """The flat update for this optimizer, or None (then ``optimizer.step()``).

        SGD with momentum or weight decay and RMSprop have a flat update only with
        the kernels; on the NumPy path their own ``step()`` runs.
        """
        if len(optimizer.param_groups) != 1:
            return None
        group = optimizer.param_groups[0]
        same = {id(p) for p in group["params"]} == {id(p) for p in parameters}
        if not same or len(group["params"]) != len(parameters):
            return None
        flats: tuple[type[_FlatUpdate], ...] = (_FlatSGD, _FlatAdam)
        if kernels is not None:
            flats += (_FlatSGDMomentum, _FlatRMSprop)
        for flat in flats:
            if flat.covers(optimizer, group) and flat.state_fits(optimizer, parameters):
                return flat(optimizer, parameters, kernels)
        return None

    @staticmethod
    def state_fits(optimizer: Any, parameters: list[Any]) -> bool:
        """Whether the optimizer's state (if any) can move into flat arrays."""
        return True

    def _states(self) -> list[dict[str, Any]]:
        """The parameters' optimizer states now (load_state_dict may replace them)."""
        return [self.optimizer.state[p] for p in self.parameters]

    def _scalar(self, value: float) -> Any:
        """``value`` in the parameters' dtype: float32 kernels stay float32."""
        return self.values.dtype.type(value)

    def ready(self) -> bool:
        """Still valid: nobody replaced a parameter's array or gradient since."""
        for parameter, grad in zip(self.parameters, self.grad_tensors, strict=True):
            if parameter.grad is not grad or parameter.array.base is not self.values:
                return False
        return self.covers(self.optimizer, self.group)

    def step(self) -> None:
        self._update()
        for parameter in self.parameters:  # an in-place change, as step() counts it
            parameter._version += 1
        self.optimizer._opt_called = True  # schedulers check that step() ran


class _FlatSGD(_FlatUpdate):
    """Plain gradient descent: W -= lr * dW for the whole model in two calls."""

    @staticmethod
    def covers(optimizer: Any, group: dict[str, Any]) -> bool:
        return (
            type(optimizer) is SGD
            and group["momentum"] == 0
            and group["weight_decay"] == 0
            and not group["maximize"]
        )

    def _update(self) -> None:
        if self.kernels is not None:
            self.kernels.sgd(self.values, self.grads, self._scalar(self.group["lr"]))
            return
        np.multiply(self.grads, self.group["lr"], out=self.scratch)
        self.values -= self.scratch  # theta -= lr * grad, for every parameter at once


class _FlatAdam(_FlatUpdate):
    """Adam and AdamW with their moments in flat arrays too.

    Each parameter's optimizer state holds views of the flat moments, so
    ``state_dict()`` and checkpoints are unchanged; the update is Adam's own
    ``_update_array`` applied once to the whole model (about a dozen ufunc
    calls instead of a dozen per parameter).
    """

    def __init__(
        self,
        optimizer: Any,
        parameters: list[Tensor],
        kernels: Any = None,
    ) -> None:
        super().__init__(optimizer, parameters, kernels)
        arrays = [p.array for p in parameters]
        states = [optimizer.state[p] for p in parameters]
        steps = {float(state.get("step", 0.0)) for state in states}
        # parameters at different steps (a partly restored state): per parameter
        self.state: dict[str, Any] = {"step": steps.pop() if len(steps) == 1 else None}
        for key in ("exp_avg", "exp_avg_sq"):
            flat = np.zeros_like(self.values)
            for state, view in zip(states, _views(flat, arrays), strict=True):
                if key in state:
                    view[...] = state[key]  # a resumed run: keep its moments
                state[key] = view
            self.state[key] = flat
        for state in states:
            state.setdefault("step", 0.0)

    @staticmethod
    def covers(optimizer: Any, group: dict[str, Any]) -> bool:
        return (
            type(optimizer) in (Adam, AdamW)
            and not group["amsgrad"]
            and not group["maximize"]
        )

    def ready(self) -> bool:
        if self.state["step"] is None or not super().ready():
            return False
        return all(
            state.get("exp_avg") is not None
            and state["exp_avg"].base is self.state["exp_avg"]
            and state["exp_avg_sq"].base is self.state["exp_avg_sq"]
            and state["step"] == self.state["step"]
            for state in self._states()
        )

    def _update(self) -> None:
        group = self.group
        beta1, beta2 = group["betas"]
        if self.kernels is None or beta1 <= 0.5:  # lerp's other branch: NumPy's
            self.optimizer._update_array(
                self.values, self.grads, self.state, group, self.scratch
            )
        else:  # the same arithmetic as _update_array, in one pass
            self.state["step"] += 1
            step = self.state["step"]
            lr, weight_decay = group["lr"], group["weight_decay"]
            decoupled = group["decoupled_weight_decay"]
            scalar = self._scalar
            self.kernels.adam(
                self.values,
                self.grads,
                self.state["exp_avg"],
                self.state["exp_avg_sq"],
                scalar(lr),
                scalar(1 - beta1),
                scalar(beta2),
                scalar(1 - beta2),
                scalar(group["eps"]),
                scalar(0 if decoupled else weight_decay),
                scalar(1 - lr * weight_decay if decoupled else 1),
                scalar(lr / (1 - beta1**step)),
                scalar((1 - beta2**step) ** 0.5),
            )
        for state in self._states():
            state["step"] = self.state["step"]


class _FlatSGDMomentum(_FlatUpdate):
    """SGD with momentum, Nesterov or weight decay: one kernel pass (kernels only).

    The momentum buffers are views of one flat array, as Adam's moments; before
    the first step no parameter has one (SGD creates it from the first gradient).
    """

    def __init__(
        self,
        optimizer: Any,
        parameters: list[Tensor],
        kernels: Any = None,
    ) -> None:
        super().__init__(optimizer, parameters, kernels)
        arrays = [p.array for p in parameters]
        states = [optimizer.state[p] for p in parameters]
        self.buffer = np.zeros_like(self.values)
        self.buffers = _views(self.buffer, arrays)
        self.first = states[0].get("momentum_buffer") is None
        if not self.first:  # a resumed run: keep its buffers
            for state, view in zip(states, self.buffers, strict=True):
                view[...] = state["momentum_buffer"]
                state["momentum_buffer"] = view

    @staticmethod
    def covers(optimizer: Any, group: dict[str, Any]) -> bool:
        return type(optimizer) is SGD and not group["maximize"]

    @staticmethod
    def state_fits(optimizer: Any, parameters: list[Any]) -> bool:
        started = {
            optimizer.state[p].get("momentum_buffer") is not None for p in parameters
        }
        return len(started) == 1  # all parameters before their first step, or none

    def ready(self) -> bool:
        if not super().ready():
            return False
        return all(
            state.get("momentum_buffer") is (None if self.first else view)
            for state, view in zip(self._states(), self.buffers, strict=True)
        )

    def _update(self) -> None:
        group, scalar = self.group, self._scalar
        kernels: Any = self.kernels  # always set: created with the kernels only
        kernels.sgd_momentum(
            self.values,
            self.grads,
            self.buffer,
            scalar(group["lr"]),
            scalar(group["momentum"]),
            scalar(1 - group["dampening"]),
            scalar(group["weight_decay"]),
            bool(group["nesterov"]),
            self.first or group["momentum"] == 0,
        )
        if self.first and group["momentum"] != 0:
            self.first = False
            for state, view in zip(self._states(), self.buffers, strict=True):
                state["momentum_buffer"] = view


class _FlatRMSprop(_FlatUpdate):
    """RMSprop (not centered) with its averages in flat arrays (kernels only)."""

    def __init__(
        self,
        optimizer: Any,
        parameters: list[Tensor],
        kernels: Any = None,
    ) -> None:
        super().__init__(optimizer, parameters, kernels)
        arrays = [p.array for p in parameters]
        states = [optimizer._lazy_state(p, self.group) for p in parameters]
        self.flats = {}
        for key in ("square_avg", "momentum_buffer"):
            flat = np.zeros_like(self.values)
            for state, view in zip(states, _views(flat, arrays), strict=True):
                if key in state:
                    view[...] = state[key]
                    state[key] = view
            self.flats[key] = flat

    @staticmethod
    def covers(optimizer: Any, group: dict[str, Any]) -> bool:
        return (
            type(optimizer) is RMSprop
            and not group["centered"]
            and not group["maximize"]
        )

    def ready(self) -> bool:
        square_avg, buffer = self.flats["square_avg"], self.flats["momentum_buffer"]
        return super().ready() and all(
            "square_avg" in state
            and state["square_avg"].base is square_avg
            and (
                "momentum_buffer" not in state
                or state["momentum_buffer"].base is buffer
            )
            for state in self._states()
        )

    def _update(self) -> None:
        group, scalar = self.group, self._scalar
        for state in self._states():
            state["step"] += 1
        kernels: Any = self.kernels  # always set: created with the kernels only
        kernels.rmsprop(
            self.values,
            self.grads,
            self.flats["square_avg"],
            self.flats["momentum_buffer"],
            scalar(group["lr"]),
            scalar(group["alpha"]),
            scalar(1 - group["alpha"]),
            scalar(group["eps"]),
            scalar(group["weight_decay"]),
            scalar(group["momentum"]),
        )


def _grad_array(parameter: Tensor) -> np.ndarray:
    """The parameter's .grad array, created once and then overwritten each step."""
    grad = parameter.grad
    if grad is None or grad.array.shape != parameter.array.shape:
        grad = Tensor(np.empty_like(parameter.array))
        parameter.grad = grad
    return grad.array


# ---------------------------------------------------------------------------
# Fused losses: return the mean loss and write dL/dZ_L into `delta`
# ---------------------------------------------------------------------------
def _bce_after_sigmoid(p, y, delta, scratch) -> float:
    # L = -mean(y log p + (1 - y) log(1 - p)), logs clamped at -100 as PyTorch;
    # with p = sigmoid(z): dL/dz = (p - y) / N
    log_p, log_q = clamped_logs(p, scratch)
    # two products: log q + y (log p - log q) would cancel for p near 1
    log_p *= y
    log_q *= 1 - y
    log_p += log_q
    loss = -float(log_p.sum()) / p.size
    np.subtract(p, y, out=delta)
    delta /= p.size
    return loss


def _bce_with_logits(z, y, delta, scratch) -> float:
    # L = mean((1 - y) z + log(1 + e^-z)); dL/dz = (sigmoid(z) - y) / N
    softplus_neg = np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)
    loss = ((1 - y) * z + softplus_neg).sum() / z.size
    np.subtract(_sigmoid(z, scratch[0]), y, out=delta)
    delta /= z.size
    return float(loss)


def _cross_entropy(z, labels, delta, scratch) -> float:
    # L = -mean(log softmax(z)[y]); dL/dz = (softmax(z) - onehot(y)) / N
    log_probs = log_softmax_array(z, axis=1)
    rows = np.arange(z.shape[0])
    loss = -log_probs[rows, labels].sum() / z.shape[0]
    np.exp(log_probs, out=delta)
    delta[rows, labels] -= 1
    delta /= z.shape[0]
    return float(loss)


def _mse(a, y, delta, scratch) -> float:
    # L = mean((a - y)^2); dL/da = 2 (a - y) / N
    np.subtract(a, y, out=delta)
    loss = float(np.vdot(delta, delta) / a.size)
    delta *= 2 / a.size
    return loss


_LOSSES = {
    "bce_sigmoid": _bce_after_sigmoid,
    "bce_logits": _bce_with_logits,
    "cross_entropy": _cross_entropy,
    "mse": _mse,
}


def _loss_kind(loss_fn: Any, last_activation: type) -> str | None:
    if getattr(loss_fn, "reduction", None) != "mean":
        return None
    if (
        type(loss_fn) is BCELoss
        and loss_fn.weight is None
        and last_activation is Sigmoid
    ):
        return "bce_sigmoid"
    if type(loss_fn) is BCEWithLogitsLoss and last_activation is Identity:
        if loss_fn.weight is None and loss_fn.pos_weight is None:
            return "bce_logits"
    if type(loss_fn) is CrossEntropyLoss and last_activation is Identity:
        if (
            loss_fn.weight is None
            and loss_fn.ignore_index == -100
            and loss_fn.label_smoothing == 0.0
        ):
            return "cross_entropy"
    if type(loss_fn) is MSELoss:
        return "mse"
    return None


def compile_step(
    model: Any,
    loss_fn: Any,
    optimizer: Any,
    *,
    kernels: str | None = None,
    steps: int | None = None,
) -> CompiledStep | None:
    """A CompiledStep for ``model``, or None when the model is not a plain MLP.

    Covered: ``nn.Sequential`` of ``Linear`` layers, each optionally followed by
    one of ReLU, LeakyReLU, Sigmoid, Tanh, Identity; losses BCELoss (after a
    Sigmoid), BCEWithLogitsLoss, CrossEntropyLoss (class indices) and MSELoss
    with reduction='mean' and no weights; all parameters in one dtype and all of
    them in the optimizer. Anything else (Dropout, BatchNorm, custom modules)
    returns None.

    ``kernels``: "numba" runs the elementwise stages as Numba kernels (the
    ``fast`` extra), "numpy" as NumPy calls, "auto" picks Numba when it is
    installed and the run, ``steps`` updates of all parameters, is long enough to
    pay for loading it; None reads ``DEEPGRAD_KERNELS`` (default "auto").
    """
    if type(model) is not Sequential:
        return None
    modules = list(model)
    layers = []
    activations: list[tuple[str | None, float | None]] = []
    index = 0
    while index < len(modules):
        linear = modules[index]
        if type(linear) is not Linear:
            return None
        following = modules[index + 1] if index + 1 < len(modules) else None
        if type(following) in ACTIVATIONS:
            forward, derivative = ACTIVATIONS[type(following)]
            last_activation: type = type(following)
            activations.append((_KERNEL_NAMES.get(last_activation), None))
            index += 2
        elif type(following) is LeakyReLU:
            forward, derivative = _leaky(following.negative_slope)
            last_activation = LeakyReLU
            activations.append(("leaky_relu", following.negative_slope))
            index += 2
        else:
            forward, derivative = _identity, _identity_grad
            last_activation = Identity
            activations.append((None, None))
            index += 1
        layers.append((linear, forward, derivative))
    if not layers:
        return None
    kind = _loss_kind(loss_fn, last_activation)
    if kind is None:
        return None
    parameters = list(model.parameters())
    if len({p.array.dtype for p in parameters}) != 1:
        return None
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if any(id(p) not in optimized or not p.requires_grad for p in parameters):
        return None
    work = None if steps is None else steps * sum(p.array.size for p in parameters)
    plain_sgd = _FlatSGD.covers(optimizer, optimizer.param_groups[0])
    break_even = KERNELS_BREAK_EVEN_PLAIN_SGD if plain_sgd else KERNELS_BREAK_EVEN
    chosen, name = choose_kernels(kernels, work, break_even)
    return CompiledStep(layers, kind, optimizer, chosen, activations, name)
