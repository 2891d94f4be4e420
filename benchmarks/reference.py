"""The hand-written NumPy references: the fastest training we know how to write by hand.

Everything deepgrad's engine could do at best, spelled out: every activation and
gradient lives in a buffer allocated once (``np.matmul(..., out=)``), batches are
gathered with ``np.take(..., out=)``, all parameters, gradients and Adam moments
are views of single flat arrays (so the optimizer touches the whole model in a
dozen ufunc calls), and the output activation is fused with its loss.
"""

from __future__ import annotations

import numpy as np

from benchmarks.workloads import batch_slices


def _flat_views(shapes: list[tuple[int, ...]], flat: np.ndarray) -> list[np.ndarray]:
    """Views of ``flat`` with the given shapes, one after another."""
    views, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[offset : offset + size].reshape(shape))
        offset += size
    return views


def _sigmoid_(values: np.ndarray) -> None:
    """values <- 1 / (1 + exp(-values)), in place."""
    np.negative(values, out=values)
    np.exp(values, out=values)
    values += 1
    np.reciprocal(values, out=values)


class XorDeltaRule:
    """The lab's 2-4-4-1 sigmoid network with BCE, trained by the delta rule.

    ``W`` is in x out as in the lab (``Z = X W + b``). For sigmoid + BCE the output
    error is ``delta_3 = dL/dZ_3 = (A_3 - Y) / N``; hidden errors are
    ``delta_l = (delta_{l+1} W_{l+1}^T) * A_l (1 - A_l)``.
    """

    def __init__(self, weights: dict[str, np.ndarray], learning_rate: float) -> None:
        self.shapes = [weights[k].shape for k in ("W1", "b1", "W2", "b2", "W3", "b3")]
        total = sum(int(np.prod(shape)) for shape in self.shapes)
        self.params = np.empty(total, dtype=np.float32)
        self.grads = np.zeros(total, dtype=np.float32)
        self.update = np.empty(total, dtype=np.float32)
        self.weights = _flat_views(self.shapes, self.params)
        for view, key in zip(
            self.weights, ("W1", "b1", "W2", "b2", "W3", "b3"), strict=False
        ):
            view[...] = weights[key]
        self.gradients = _flat_views(self.shapes, self.grads)
        self.learning_rate = np.float32(learning_rate)
        self._buffers: dict[int, list[np.ndarray]] = {}

    def _buffers_for(self, batch: int) -> list[np.ndarray]:
        if batch not in self._buffers:
            widths = [4, 4, 1, 4, 4, 1, 1, 1]
            self._buffers[batch] = [
                np.empty((batch, width), dtype=np.float32) for width in widths
            ]
        return self._buffers[batch]

    def step(self, inputs: np.ndarray, labels: np.ndarray) -> float:
        """One gradient-descent step on (inputs, labels); the loss before it."""
        W1, b1, W2, b2, W3, b3 = self.weights
        gW1, gb1, gW2, gb2, gW3, gb3 = self.gradients
        a1, a2, a3, d1, d2, d3, log_p, log_q = self._buffers_for(len(inputs))

        np.matmul(inputs, W1, out=a1)
        a1 += b1
        _sigmoid_(a1)
        np.matmul(a1, W2, out=a2)
        a2 += b2
        _sigmoid_(a2)
        np.matmul(a2, W3, out=a3)
        a3 += b3
        _sigmoid_(a3)

        # L = -mean(y log p + (1 - y) log(1 - p)), logs clamped at -100 as in torch
        np.log(a3, out=log_p)
        np.subtract(1, a3, out=log_q)
        np.log(log_q, out=log_q)
        np.maximum(log_p, -100, out=log_p)
        np.maximum(log_q, -100, out=log_q)
        log_p -= log_q
        log_p *= labels
        log_p += log_q
        loss = -float(log_p.mean())

        np.subtract(a3, labels, out=d3)
        d3 *= np.float32(1 / len(inputs))
        np.matmul(a2.T, d3, out=gW3)
        np.sum(d3, axis=0, out=gb3)
        np.matmul(d3, W3.T, out=d2)
        d2 *= a2
        np.subtract(1, a2, out=a2)
        d2 *= a2
        np.matmul(a1.T, d2, out=gW2)
        np.sum(d2, axis=0, out=gb2)
        np.matmul(d2, W2.T, out=d1)
        d1 *= a1
        np.subtract(1, a1, out=a1)
        d1 *= a1
        np.matmul(inputs.T, d1, out=gW1)
        np.sum(d1, axis=0, out=gb1)

        np.multiply(self.grads, self.learning_rate, out=self.update)
        self.params -= self.update
        return loss

    def state(self) -> dict[str, np.ndarray]:
        keys = ("W1", "b1", "W2", "b2", "W3", "b3")
        return {key: view.copy() for key, view in zip(keys, self.weights, strict=False)}


def train_xor(weights, inputs, labels, learning_rate, steps, per_sample=False):
    """``steps`` full-batch steps, or ``steps`` one-sample steps cycling 0..3."""
    model = XorDeltaRule(weights, learning_rate)
    samples = [(inputs[i : i + 1], labels[i : i + 1]) for i in range(len(inputs))]
    losses = np.empty(steps)
    if per_sample:
        for step in range(steps):
            losses[step] = model.step(*samples[step % len(samples)])
    else:
        for step in range(steps):
            losses[step] = model.step(inputs, labels)
    return losses, model.state()


class MlpAdam:
    """784-256-128-10 ReLU with fused softmax + cross-entropy and PyTorch's Adam.

    ``state_dict`` layout in (weight out x in), stored transposed (in x out) so the
    forward GEMMs are ``H = X W + b`` on contiguous operands.
    """

    def __init__(
        self,
        state_dict: dict[str, np.ndarray],
        learning_rate: float,
        betas=(0.9, 0.999),
        eps=1e-8,
    ) -> None:
        keys = sorted({key.split(".")[0] for key in state_dict}, key=int)
        self.shapes = []
        for key in keys:
            fan_out, fan_in = state_dict[f"{key}.weight"].shape
            self.shapes += [(fan_in, fan_out), (fan_out,)]
        total = sum(int(np.prod(shape)) for shape in self.shapes)
        self.params = np.empty(total, dtype=np.float32)
        self.params_views = _flat_views(self.shapes, self.params)
        for index, key in enumerate(keys):
            self.params_views[2 * index][...] = state_dict[f"{key}.weight"].T
            self.params_views[2 * index + 1][...] = state_dict[f"{key}.bias"]
        self.grads = np.zeros(total, dtype=np.float32)
        self.grad_views = _flat_views(self.shapes, self.grads)
        self.exp_avg = np.zeros(total, dtype=np.float32)
        self.exp_avg_sq = np.zeros(total, dtype=np.float32)
        self.scratch = np.empty(total, dtype=np.float32)
        self.learning_rate, self.betas, self.eps = learning_rate, betas, eps
        self.step_count = 0
        self.widths = [self.shapes[0][0]] + [shape[1] for shape in self.shapes[::2]]
        self._buffers: dict[int, dict[str, list[np.ndarray]]] = {}

    def _buffers_for(self, batch: int) -> dict[str, list[np.ndarray]]:
        if batch not in self._buffers:

            def make(widths, dtype=np.float32):
                return [np.empty((batch, w), dtype=dtype) for w in widths]

            self._buffers[batch] = {
                "inputs": make(self.widths[:1]),
                "labels": [np.empty(batch, dtype=np.int64)],
                "activations": make(self.widths[1:]),
                "deltas": make(self.widths[1:]),
                "masks": make(self.widths[1:-1], dtype=bool),
                "row_max": make([1]),
                "row_sum": make([1]),
                "rows": [np.arange(batch)],
            }
        return self._buffers[batch]

    def train_step(
        self, features: np.ndarray, labels: np.ndarray, indices: np.ndarray
    ) -> float:
        """Forward, backward and one Adam step on the samples ``indices``; the loss."""
        buffers = self._buffers_for(len(indices))
        (inputs,), (targets,) = buffers["inputs"], buffers["labels"]
        np.take(features, indices, axis=0, out=inputs)
        np.take(labels, indices, out=targets)
        activations, deltas, masks = (
            buffers["activations"],
            buffers["deltas"],
            buffers["masks"],
        )
        weights, biases = self.params_views[::2], self.params_views[1::2]
        weight_grads, bias_grads = self.grad_views[::2], self.grad_views[1::2]

        layer_input = inputs
        for layer, (weight, bias) in enumerate(zip(weights, biases, strict=False)):
            output = activations[layer]
            np.matmul(layer_input, weight, out=output)
            output += bias
            if layer < len(masks):
                np.maximum(output, 0, out=output)
                np.greater(output, 0, out=masks[layer])
            layer_input = output

        # softmax + cross-entropy, fused: dL/dZ = (softmax(Z) - onehot(Y)) / N
        logits, (row_max,), (row_sum,) = (
            activations[-1],
            buffers["row_max"],
            buffers["row_sum"],
        )
        (rows,) = buffers["rows"]
        np.max(logits, axis=1, keepdims=True, out=row_max)
        logits -= row_max
        target_logits = logits[rows, targets]
        np.exp(logits, out=logits)
        np.sum(logits, axis=1, keepdims=True, out=row_sum)
        loss = float(np.log(row_sum).mean() - target_logits.mean())
        delta = deltas[-1]
        np.divide(logits, row_sum, out=delta)
        delta[rows, targets] -= 1
        delta *= np.float32(1 / len(indices))

        for layer in range(len(weights) - 1, -1, -1):
            previous = inputs if layer == 0 else activations[layer - 1]
            np.matmul(previous.T, delta, out=weight_grads[layer])
            np.sum(delta, axis=0, out=bias_grads[layer])
            if layer > 0:
                np.matmul(delta, weights[layer].T, out=deltas[layer - 1])
                deltas[layer - 1] *= masks[layer - 1]
                delta = deltas[layer - 1]

        self._adam_step()
        return loss

    def _adam_step(self) -> None:
        """PyTorch's Adam over the flat buffers, t <- t + 1:

        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
        p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
        """
        beta1, beta2 = self.betas
        self.step_count += 1
        bias_correction1 = 1 - beta1**self.step_count
        bias_correction2_sqrt = np.sqrt(1 - beta2**self.step_count)
        grads, scratch = self.grads, self.scratch

        np.subtract(grads, self.exp_avg, out=scratch)
        scratch *= np.float32(1 - beta1)
        self.exp_avg += scratch
        self.exp_avg_sq *= np.float32(beta2)
        np.multiply(grads, grads, out=scratch)
        scratch *= np.float32(1 - beta2)
        self.exp_avg_sq += scratch
        np.sqrt(self.exp_avg_sq, out=scratch)
        scratch *= np.float32(1 / bias_correction2_sqrt)
        scratch += np.float32(self.eps)
        np.divide(self.exp_avg, scratch, out=scratch)
        scratch *= np.float32(self.learning_rate / bias_correction1)
        self.params -= scratch


def train_mlp(
    state_dict, features, labels, order, batch_size, learning_rate, max_steps=None
):
    """Epochs over ``order`` (one permutation a row); the loss of every step."""
    model = MlpAdam(state_dict, learning_rate)
    losses = []
    for permutation in order:
        for start, stop in batch_slices(len(permutation), batch_size, max_steps):
            losses.append(model.train_step(features, labels, permutation[start:stop]))
    return np.array(losses)
