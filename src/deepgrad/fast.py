"""A compiled training step for multilayer perceptrons: the fast path of ``fit``.

The eager path builds a graph of Tensor objects every step and walks it back.
For the networks people mostly train (an ``nn.Sequential`` of ``Linear`` layers
and elementwise activations, ending in a standard loss) the graph is the same
every step, so this module writes that step out once, the way a hand-written
NumPy network does it:

- forward: Z_l = A_{l-1} W_l^T + b_l and A_l = f(Z_l), each into a buffer that
  is allocated once per batch size and reused (``np.matmul(..., out=)``);
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

from typing import Any

import numpy as np

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
from deepgrad.tensor import Tensor


def _relu(z, out):
    return np.maximum(z, 0, out=out)


def _relu_grad(delta, z, a):  # relu'(z) = 1 where z > 0
    delta *= a > 0


def _sigmoid(z, out):
    out[...] = stable_sigmoid(z)
    return out


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


def _leaky(slope: float):
    def forward(z, out):
        np.multiply(z, np.where(z > 0, 1, slope).astype(z.dtype), out=out)
        return out

    def derivative(delta, z, a):  # 1 where z > 0, else the slope
        delta *= np.where(z > 0, 1, slope).astype(delta.dtype)

    return forward, derivative


class CompiledStep:
    """One training step of an MLP with preallocated buffers; call with NumPy arrays.

    ``step(x, y)`` runs forward, loss, backward and ``optimizer.step()`` and
    returns the batch loss as a float. ``step.predict(x)`` runs the forward pass
    only (for validation), without touching gradients.
    """

    def __init__(self, layers, loss_kind: str, optimizer: Any) -> None:
        self.layers = layers  # list of (Linear, forward_fn, derivative_fn)
        # the Parameter objects themselves, looked up once (module attribute
        # access is a dict lookup through Module.__getattr__ on every step)
        self.weights = [linear.weight for linear, _, _ in layers]
        self.biases = [linear.bias for linear, _, _ in layers]
        self.loss_kind = loss_kind
        self.optimizer = optimizer
        self._flat_sgd = _FlatSGD.create(optimizer, self.weights + self.biases)
        self._buffers: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}

    def _buffers_for(self, batch: int, dtype: np.dtype):
        buffers = self._buffers.get(batch)
        if buffers is None:
            buffers = [
                (
                    np.empty((batch, linear.out_features), dtype),  # Z
                    np.empty((batch, linear.out_features), dtype),  # A
                    np.empty((batch, linear.out_features), dtype),  # delta
                )
                for linear, _, _ in self.layers
            ]
            self._buffers[batch] = buffers
        return buffers

    @property
    def dtype(self) -> np.dtype:
        """The parameters' dtype: inputs must have it."""
        return self.weights[0].data.dtype

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The network's output for a batch, in a reused buffer (copy it to keep it)."""
        output, _ = self._forward(x)
        return output

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, list]:
        buffers = self._buffers_for(x.shape[0], x.dtype)
        activation = x
        for (_, forward, _), weight, bias, (z, a, _) in zip(
            self.layers, self.weights, self.biases, buffers, strict=True
        ):
            np.matmul(activation, weight.data.T, out=z)  # Z = A_prev W^T + b
            if bias is not None:
                z += bias.data
            activation = forward(z, a)
        return activation, buffers

    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        """Forward, loss, backward and update for one batch; returns the loss."""
        self._forward(x)
        return self.backward_and_update(x, y)

    def backward_and_update(self, x: np.ndarray, y: np.ndarray) -> float:
        """Loss, backward and update after ``forward(x)`` of the same batch."""
        buffers = self._buffers[x.shape[0]]
        output = buffers[-1][1]
        self._check_target(output, y)
        z_last, _, delta = buffers[-1]
        loss = _LOSSES[self.loss_kind](output, y, delta)
        if self.loss_kind == "mse":  # delta holds dL/dA; the chain rule through f
            self.layers[-1][2](delta, z_last, output)
        inputs = [x] + [a for _, a, _ in buffers[:-1]]
        for index in range(len(self.layers) - 1, -1, -1):
            weight, bias = self.weights[index], self.biases[index]
            delta = buffers[index][2]
            # dW = delta^T A_prev
            np.matmul(delta.T, inputs[index], out=_grad_array(weight))
            if bias is not None:  # db = delta summed over the batch
                np.add.reduce(delta, axis=0, out=_grad_array(bias))
            if index > 0:  # delta_prev = (delta W) * f'(Z_prev)
                z_prev, a_prev, delta_prev = buffers[index - 1]
                np.matmul(delta, weight.data, out=delta_prev)
                self.layers[index - 1][2](delta_prev, z_prev, a_prev)
        if self._flat_sgd is not None and self._flat_sgd.ready():
            self._flat_sgd.step()
        else:
            self.optimizer.step()
        return loss

    def _check_target(self, output: np.ndarray, y: np.ndarray) -> None:
        if self.loss_kind == "cross_entropy":
            classes = output.shape[1]
            if y.shape != output.shape[:1] or y.dtype.kind not in "iu":
                raise ValueError(
                    f"cross_entropy: expected integer class labels of shape "
                    f"{output.shape[:1]}, received {y.dtype} labels of shape {y.shape}"
                )
            if y.size and (y.min() < 0 or y.max() >= classes):
                bad = y[(y < 0) | (y >= classes)][0]
                raise ValueError(
                    f"cross_entropy: target label {bad} is out of range for "
                    f"{classes} classes (labels must be integers from 0 to {classes - 1})"
                )
        elif y.shape != output.shape:
            raise ValueError(
                f"{self.loss_kind}: the model's output has shape {output.shape} but "
                f"the target has shape {y.shape}; they must be equal"
            )


class _FlatSGD:
    """Plain gradient descent over one flat array holding every parameter.

    W -= lr * dW for the whole model in two ufunc calls instead of a Python
    loop over parameters. Each Parameter's ``.data`` and ``.grad`` become views
    of the flat arrays, so the model and the optimizer see the same values;
    the arithmetic is elementwise, so the result equals SGD.step() exactly.
    """

    def __init__(self, optimizer: Any, parameters: list[Tensor]) -> None:
        self.group = optimizer.param_groups[0]
        self.optimizer = optimizer
        self.parameters = parameters
        dtype = parameters[0].data.dtype
        self.values = np.concatenate([p.data.ravel() for p in parameters]).astype(dtype)
        self.grads = np.zeros_like(self.values)
        self.grad_tensors = []
        offset = 0
        for parameter in parameters:
            size, shape = parameter.data.size, parameter.data.shape
            parameter.data = self.values[offset : offset + size].reshape(shape)
            parameter.grad = Tensor(self.grads[offset : offset + size].reshape(shape))
            self.grad_tensors.append(parameter.grad)
            offset += size
        self.scratch = np.empty_like(self.values)

    @classmethod
    def create(cls, optimizer: Any, parameters: list[Any]) -> _FlatSGD | None:
        from deepgrad.optim.sgd import SGD

        parameters = [p for p in parameters if p is not None]
        if type(optimizer) is not SGD or len(optimizer.param_groups) != 1:
            return None
        group = optimizer.param_groups[0]
        plain = (
            group["momentum"] == 0
            and group["weight_decay"] == 0
            and not group["maximize"]
        )
        same = {id(p) for p in group["params"]} == {id(p) for p in parameters}
        if not plain or not same or len(group["params"]) != len(parameters):
            return None
        return cls(optimizer, parameters)

    def ready(self) -> bool:
        """Still valid: nobody replaced a parameter's array or gradient since."""
        for parameter, grad in zip(self.parameters, self.grad_tensors, strict=True):
            if parameter.grad is not grad or parameter.data.base is not self.values:
                return False
        return self.group["momentum"] == 0 and self.group["weight_decay"] == 0

    def step(self) -> None:
        np.multiply(self.grads, self.group["lr"], out=self.scratch)
        self.values -= self.scratch  # theta -= lr * grad, for every parameter at once
        self.optimizer._opt_called = True  # schedulers check that step() ran


def _grad_array(parameter: Tensor) -> np.ndarray:
    """The parameter's .grad array, created once and then overwritten each step."""
    grad = parameter.grad
    if grad is None or grad.data.shape != parameter.data.shape:
        grad = Tensor(np.empty_like(parameter.data))
        parameter.grad = grad
    return grad.data


# ---------------------------------------------------------------------------
# Fused losses: return the mean loss and write dL/dZ_L into `delta`
# ---------------------------------------------------------------------------
def _bce_after_sigmoid(p: np.ndarray, y: np.ndarray, delta: np.ndarray) -> float:
    # L = -mean(y log p + (1 - y) log(1 - p)), logs clamped at -100 as PyTorch;
    # with p = sigmoid(z): dL/dz = (p - y) / N
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100)
        log_1mp = np.maximum(np.log1p(-p), -100)
    loss = -(y * log_p + (1 - y) * log_1mp).sum() / p.size
    np.subtract(p, y, out=delta)
    delta /= p.size
    return float(loss)


def _bce_with_logits(z: np.ndarray, y: np.ndarray, delta: np.ndarray) -> float:
    # L = mean((1 - y) z + log(1 + e^-z)); dL/dz = (sigmoid(z) - y) / N
    softplus_neg = np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0)
    loss = ((1 - y) * z + softplus_neg).sum() / z.size
    np.subtract(stable_sigmoid(z), y, out=delta)
    delta /= z.size
    return float(loss)


def _cross_entropy(z: np.ndarray, labels: np.ndarray, delta: np.ndarray) -> float:
    # L = -mean(log softmax(z)[y]); dL/dz = (softmax(z) - onehot(y)) / N
    log_probs = log_softmax_array(z, axis=1)
    rows = np.arange(z.shape[0])
    loss = -log_probs[rows, labels].sum() / z.shape[0]
    np.exp(log_probs, out=delta)
    delta[rows, labels] -= 1
    delta /= z.shape[0]
    return float(loss)


def _mse(a: np.ndarray, y: np.ndarray, delta: np.ndarray) -> float:
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
        if loss_fn.weight is None and loss_fn.ignore_index == -100:
            return "cross_entropy"
    if type(loss_fn) is MSELoss:
        return "mse"
    return None


def compile_step(model: Any, loss_fn: Any, optimizer: Any) -> CompiledStep | None:
    """A CompiledStep for ``model``, or None when the model is not a plain MLP.

    Covered: ``nn.Sequential`` of ``Linear`` layers, each optionally followed by
    one of ReLU, LeakyReLU, Sigmoid, Tanh, Identity; losses BCELoss (after a
    Sigmoid), BCEWithLogitsLoss, CrossEntropyLoss (class indices) and MSELoss
    with reduction='mean' and no weights; all parameters in one dtype and all of
    them in the optimizer. Anything else (Dropout, BatchNorm, custom modules)
    returns None.
    """
    if type(model) is not Sequential:
        return None
    modules = list(model)
    layers = []
    index = 0
    while index < len(modules):
        linear = modules[index]
        if type(linear) is not Linear:
            return None
        following = modules[index + 1] if index + 1 < len(modules) else None
        if type(following) in ACTIVATIONS:
            forward, derivative = ACTIVATIONS[type(following)]
            last_activation: type = type(following)
            index += 2
        elif type(following) is LeakyReLU:
            forward, derivative = _leaky(following.negative_slope)
            last_activation = LeakyReLU
            index += 2
        else:
            forward, derivative = _identity, _identity_grad
            last_activation = Identity
            index += 1
        layers.append((linear, forward, derivative))
    if not layers:
        return None
    kind = _loss_kind(loss_fn, last_activation)
    if kind is None:
        return None
    parameters = list(model.parameters())
    if len({p.data.dtype for p in parameters}) != 1:
        return None
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if any(id(p) not in optimized or not p.requires_grad for p in parameters):
        return None
    return CompiledStep(layers, kind, optimizer)
