"""Numba kernels for the compiled MLP step: one pass where NumPy needs several.

``deepgrad.fast`` writes an MLP's training step as NumPy calls over preallocated
buffers. Its GEMMs run at the BLAS's speed, but every elementwise stage is a
chain of ufuncs, each a full pass over memory (Adam alone is 13 passes over the
whole model). Each kernel here fuses one such chain into a single loop, in the
same order of operations as the NumPy code it replaces (and as PyTorch), so the
results agree within float32 rounding; tests/test_kernels.py checks each against
its NumPy twin and the fused optimizers against ``torch.optim`` over 50 steps.

This module imports Numba at its top, so only ``deepgrad.fast`` imports it, lazily
(``fast.load_kernels``), when Numba is installed and the run is long enough to pay
for the import and the compilation. The NumPy step stays the reference and the
fallback (``DEEPGRAD_KERNELS=numpy``).

Scalars are passed in the arrays' dtype (``fast`` casts them), so float32 arithmetic
stays float32 as NumPy's weak Python scalars keep it. ``error_model="numpy"`` lets
division vectorise (the default "python" model checks every divisor, 8x slower);
``cache=True`` keeps the machine code in ``NUMBA_CACHE_DIR`` (deepgrad sets it to
``~/.cache/deepgrad/numba`` when unset) so a later process loads instead of compiling.
"""

from __future__ import annotations

import math

import numba

_jit = numba.njit(cache=True, error_model="numpy", fastmath=False, nogil=True)


# ---------------------------------------------------------------------------
# Optimizers over the flat buffers (fast._FlatUpdate): one pass for the model
# ---------------------------------------------------------------------------
@_jit
def sgd(values, grads, lr):  # pragma: no cover - compiled
    """theta -= lr * g. Replaces ``_FlatSGD``'s multiply and subtract."""
    for i in range(values.size):
        values[i] -= lr * grads[i]


@_jit
def sgd_momentum(
    values, grads, buffer, lr, momentum, damp, weight_decay, nesterov, first
):  # pragma: no cover - compiled
    """SGD with weight decay, momentum and Nesterov: ``optim.SGD._update_group``.

    g = grad + wd theta; b = g at the first step, else momentum b + (1 - dampening) g;
    g = g + momentum b (Nesterov) or b; theta -= lr g. ``damp`` is 1 - dampening.
    """
    for i in range(values.size):
        g = grads[i]
        if weight_decay != 0:
            g = g + weight_decay * values[i]
        if first:
            b = g
        else:
            b = buffer[i] * momentum + damp * g
        buffer[i] = b
        if nesterov:
            g = g + momentum * b
        else:
            g = b
        values[i] -= lr * g


@_jit
def adam(
    values,
    grads,
    exp_avg,
    exp_avg_sq,
    lr,
    beta1_weight,
    beta2,
    beta2_weight,
    eps,
    weight_decay,
    decay_factor,
    step_size,
    bias_correction2_sqrt,
):  # pragma: no cover - compiled
    """Adam and AdamW: the 13 NumPy passes of ``optim.Adam._update_array`` in one.

    With ``decay_factor`` = 1 - lr wd for AdamW (else 1) and ``weight_decay`` for
    Adam's L2 (else 0)::

        theta *= decay_factor;  g = grad + weight_decay theta
        m += (1 - beta1) (g - m)                  (torch.lerp, weight < 0.5)
        v = beta2 v + ((1 - beta2) g) g
        theta -= step_size (m / (sqrt(v) / sqrt(1 - beta2^t) + eps))
    """
    for i in range(values.size):
        value = values[i] * decay_factor
        g = grads[i] + weight_decay * value
        m = exp_avg[i]
        m = m + beta1_weight * (g - m)
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta2 + beta2_weight * g * g
        exp_avg_sq[i] = v
        denom = math.sqrt(v) / bias_correction2_sqrt + eps
        values[i] = value - (m / denom) * step_size


@_jit
def rmsprop(
    values, grads, square_avg, buffer, lr, alpha, alpha_weight, eps, weight_decay,
    momentum,
):  # pragma: no cover - compiled  # fmt: skip
    """RMSprop, not centered: ``optim.RMSprop._update_group`` in one pass::

    g = grad + wd theta;  s = alpha s + ((1 - alpha) g) g
    avg = sqrt(s) + eps
    b = momentum b + g / avg;  theta -= lr b      (momentum > 0)
    theta -= lr (g / avg)                          (otherwise)
    """
    for i in range(values.size):
        g = grads[i]
        if weight_decay != 0:
            g = g + weight_decay * values[i]
        s = square_avg[i] * alpha + alpha_weight * g * g
        square_avg[i] = s
        avg = math.sqrt(s) + eps
        if momentum > 0:
            b = buffer[i] * momentum + g / avg
            buffer[i] = b
            values[i] -= lr * b
        else:
            values[i] -= lr * (g / avg)


# ---------------------------------------------------------------------------
# Forward: Z += b and A = f(Z) in one pass (fast.CompiledStep._forward)
# ---------------------------------------------------------------------------
@_jit
def bias_relu(z, bias, a):  # pragma: no cover - compiled
    """Z += b; A = max(Z, 0). Replaces ``z += bias`` and ``fast._relu``."""
    rows, columns = z.shape
    for i in range(rows):
        for j in range(columns):
            value = z[i, j] + bias[j]
            z[i, j] = value
            a[i, j] = value if value > 0 else 0


@_jit
def bias_leaky_relu(z, bias, a, slope):  # pragma: no cover - compiled
    """Z += b; A = Z where Z > 0, else slope Z. Replaces ``fast._leaky``'s forward."""
    rows, columns = z.shape
    for i in range(rows):
        for j in range(columns):
            value = z[i, j] + bias[j]
            z[i, j] = value
            a[i, j] = value if value > 0 else value * slope


@_jit
def bias_sigmoid(z, bias, a):  # pragma: no cover - compiled
    """Z += b; A = 1 / (1 + e^-Z), overflow-free: ``ops.activations.stable_sigmoid``.

    e = e^-|z| <= 1, then 1 / (1 + e) for z >= 0 and e / (1 + e) below.
    """
    rows, columns = z.shape
    one = z.dtype.type(1)
    for i in range(rows):
        for j in range(columns):
            value = z[i, j] + bias[j]
            z[i, j] = value
            e = math.exp(-abs(value))
            a[i, j] = one / (one + e) if value >= 0 else e / (one + e)


@_jit
def bias_tanh(z, bias, a):  # pragma: no cover - compiled
    """Z += b; A = tanh(Z). Replaces ``z += bias`` and ``fast._tanh``."""
    rows, columns = z.shape
    for i in range(rows):
        for j in range(columns):
            value = z[i, j] + bias[j]
            z[i, j] = value
            a[i, j] = math.tanh(value)


# ---------------------------------------------------------------------------
# Backward: delta *= f'(Z), then db = the column sums of delta
# ---------------------------------------------------------------------------
@_jit
def relu_backward(delta, a, grad_bias):  # pragma: no cover - compiled
    """delta *= (A > 0); db = sum of delta over the batch.

    Replaces ``fast._relu_grad`` and the ``np.add.reduce`` of the layer's bias
    gradient (summed in row order, so float32 rounding differs from NumPy's
    pairwise sum by a few ulps). Each backward is the elementwise derivative
    below, then ``bias_sum``; Numba inlines both calls.
    """
    relu_grad(delta, a)
    bias_sum(delta, grad_bias)


@_jit
def leaky_relu_backward(delta, z, grad_bias, slope):  # pragma: no cover - compiled
    """delta *= (1 where Z > 0, else slope); db = sum of delta. ``fast._leaky``."""
    leaky_relu_grad(delta, z, slope)
    bias_sum(delta, grad_bias)


@_jit
def sigmoid_backward(delta, a, grad_bias):  # pragma: no cover - compiled
    """delta *= A (1 - A); db = sum of delta. ``fast._sigmoid_grad``."""
    sigmoid_grad(delta, a)
    bias_sum(delta, grad_bias)


@_jit
def tanh_backward(delta, a, grad_bias):  # pragma: no cover - compiled
    """delta *= 1 - A^2; db = sum of delta. ``fast._tanh_grad``."""
    tanh_grad(delta, a)
    bias_sum(delta, grad_bias)


@_jit
def bias_sum(delta, grad_bias):  # pragma: no cover - compiled
    """db = sum of delta over the batch (a layer without activation)."""
    rows, columns = delta.shape
    grad_bias[:] = 0
    for i in range(rows):
        for j in range(columns):
            grad_bias[j] += delta[i, j]


# ---------------------------------------------------------------------------
# Fused losses: the mean loss, and delta_L = dL/dZ_L written in the same pass
# ---------------------------------------------------------------------------
@_jit
def cross_entropy(z, labels, delta):  # pragma: no cover - compiled
    """Softmax + cross-entropy: ``fast._cross_entropy``, in its order.

    Per row: m = max z, log s = log(sum e^(z - m)), log p = z - m - log s;
    loss = -mean(log p_y) (summed in float64); delta = (e^(log p) - onehot(y)) / N.
    """
    rows, columns = z.shape
    n = z.dtype.type(rows)
    one = z.dtype.type(1)
    total = 0.0
    for i in range(rows):
        largest = z[i, 0]
        for j in range(1, columns):
            largest = max(largest, z[i, j])
        norm = z.dtype.type(0)
        for j in range(columns):
            norm += math.exp(z[i, j] - largest)
        log_norm = math.log(norm)
        for j in range(columns):
            delta[i, j] = math.exp(z[i, j] - largest - log_norm)
        label = labels[i]
        total -= float(z[i, label] - largest - log_norm)
        delta[i, label] -= one
        for j in range(columns):
            delta[i, j] /= n
    return total / rows


@_jit
def bce_after_sigmoid(p, y, delta):  # pragma: no cover - compiled
    """Binary cross-entropy of a sigmoid output: ``fast._bce_after_sigmoid``.

    loss = -mean(y log p + (1 - y) log(1 - p)), logs clamped at -100 as PyTorch;
    delta = (p - y) / N.
    """
    rows, columns = p.shape
    inverse_n = p.dtype.type(1.0 / p.size)
    one = p.dtype.type(1)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            log_p = max(math.log(p[i, j]), -100.0)
            log_q = max(math.log1p(-p[i, j]), -100.0)
            total += float(log_p * y[i, j] + log_q * (one - y[i, j]))
            delta[i, j] = (p[i, j] - y[i, j]) * inverse_n
    return -total / p.size


@_jit
def bce_with_logits(z, y, delta):  # pragma: no cover - compiled
    """``fast._bce_with_logits``: loss = mean((1 - y) z + log(1 + e^-z)),
    delta = (sigmoid(z) - y) / N, both without overflow."""
    rows, columns = z.shape
    inverse_n = z.dtype.type(1.0 / z.size)
    one = z.dtype.type(1)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            value = z[i, j]
            e = math.exp(-abs(value))
            softplus_neg = math.log1p(e) + max(-value, 0)
            total += float((one - y[i, j]) * value + softplus_neg)
            sigmoid = one / (one + e) if value >= 0 else e / (one + e)
            delta[i, j] = (sigmoid - y[i, j]) * inverse_n
    return total / z.size


@_jit
def mse(a, y, delta):  # pragma: no cover - compiled
    """Mean squared error: ``fast._mse``. loss = mean((a - y)^2), delta = 2 (a - y) / N."""
    rows, columns = a.shape
    scale = a.dtype.type(2.0 / a.size)
    total = 0.0
    for i in range(rows):
        for j in range(columns):
            difference = a[i, j] - y[i, j]
            total += float(difference) * float(difference)
            delta[i, j] = difference * scale
    return total / a.size


# ---------------------------------------------------------------------------
# Feature-major hidden layers: Z^T, A^T and delta^T are (features, samples)
# ---------------------------------------------------------------------------
# With the kernels, fast keeps a hidden layer's buffers transposed: NumPy then
# runs each GEMM of the step in the layout where OpenBLAS is fastest (W A^T
# instead of A W^T; about 7% of W2's GEMM time). The forward kernels add the
# bias per row; the derivatives are elementwise, so they take either layout;
# the bias gradient (the row sums of delta^T) is one BLAS gemv in fast.
@_jit
def bias_relu_t(zt, bias, at):  # pragma: no cover - compiled
    """Z^T += b (per row); A^T = max(Z^T, 0). ``bias_relu`` for transposed buffers."""
    features, samples = zt.shape
    for j in range(features):
        b = bias[j]
        for i in range(samples):
            value = zt[j, i] + b
            zt[j, i] = value
            at[j, i] = value if value > 0 else 0


@_jit
def bias_leaky_relu_t(zt, bias, at, slope):  # pragma: no cover - compiled
    """Z^T += b; A^T = Z^T where Z^T > 0, else slope Z^T (transposed buffers)."""
    features, samples = zt.shape
    for j in range(features):
        b = bias[j]
        for i in range(samples):
            value = zt[j, i] + b
            zt[j, i] = value
            at[j, i] = value if value > 0 else value * slope


@_jit
def bias_sigmoid_t(zt, bias, at):  # pragma: no cover - compiled
    """Z^T += b; A^T = sigmoid(Z^T), overflow-free as ``bias_sigmoid``."""
    features, samples = zt.shape
    one = zt.dtype.type(1)
    for j in range(features):
        b = bias[j]
        for i in range(samples):
            value = zt[j, i] + b
            zt[j, i] = value
            e = math.exp(-abs(value))
            at[j, i] = one / (one + e) if value >= 0 else e / (one + e)


@_jit
def bias_tanh_t(zt, bias, at):  # pragma: no cover - compiled
    """Z^T += b; A^T = tanh(Z^T) (transposed buffers)."""
    features, samples = zt.shape
    for j in range(features):
        b = bias[j]
        for i in range(samples):
            value = zt[j, i] + b
            zt[j, i] = value
            at[j, i] = math.tanh(value)


@_jit
def relu_grad(delta, a):  # pragma: no cover - compiled
    """delta *= (A > 0), elementwise (either layout). ``fast._relu_grad``."""
    rows, columns = delta.shape
    for i in range(rows):
        for j in range(columns):
            delta[i, j] = delta[i, j] if a[i, j] > 0 else 0


@_jit
def leaky_relu_grad(delta, z, slope):  # pragma: no cover - compiled
    """delta *= (1 where Z > 0, else slope), elementwise. ``fast._leaky``."""
    rows, columns = delta.shape
    for i in range(rows):
        for j in range(columns):
            delta[i, j] = delta[i, j] if z[i, j] > 0 else delta[i, j] * slope


@_jit
def sigmoid_grad(delta, a):  # pragma: no cover - compiled
    """delta *= A (1 - A), elementwise. ``fast._sigmoid_grad``."""
    rows, columns = delta.shape
    one = delta.dtype.type(1)
    for i in range(rows):
        for j in range(columns):
            delta[i, j] = delta[i, j] * a[i, j] * (one - a[i, j])


@_jit
def tanh_grad(delta, a):  # pragma: no cover - compiled
    """delta *= 1 - A^2, elementwise. ``fast._tanh_grad``."""
    rows, columns = delta.shape
    one = delta.dtype.type(1)
    for i in range(rows):
        for j in range(columns):
            delta[i, j] = delta[i, j] * (one - a[i, j] * a[i, j])


# activation name -> (bias + forward, backward with the bias gradient)
ACTIVATIONS = {
    "relu": (bias_relu, relu_backward),
    "sigmoid": (bias_sigmoid, sigmoid_backward),
    "tanh": (bias_tanh, tanh_backward),
    "leaky_relu": (bias_leaky_relu, leaky_relu_backward),
}

# activation name -> (bias + forward on Z^T, derivative), for feature-major layers
ACTIVATIONS_T = {
    "relu": (bias_relu_t, relu_grad),
    "sigmoid": (bias_sigmoid_t, sigmoid_grad),
    "tanh": (bias_tanh_t, tanh_grad),
    "leaky_relu": (bias_leaky_relu_t, leaky_relu_grad),
}

LOSSES = {
    "cross_entropy": cross_entropy,
    "bce_sigmoid": bce_after_sigmoid,
    "bce_logits": bce_with_logits,
    "mse": mse,
}
