"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.optim.optimizer import Optimizer, ParamsT, _lerp_
from deepgrad.tensor import Tensor


class RMSprop(Optimizer):
    """RMSprop (PyTorch's ``torch.optim.RMSprop``), Hinton's lecture 6e.

    For each parameter ``theta`` with gradient ``grad``, starting from
    ``v_0 = b_0 = g^ave_0 = 0``, at step t = 1, 2, ...::

        g_t = -grad if maximize else grad
        if weight_decay != 0:
            g_t = g_t + weight_decay * theta_{t-1}
        v_t = alpha * v_{t-1} + (1 - alpha) * g_t^2
        v~_t = v_t
        if centered:
            g^ave_t = alpha * g^ave_{t-1} + (1 - alpha) * g_t
            v~_t = v~_t - (g^ave_t)^2
        if momentum > 0:
            b_t = momentum * b_{t-1} + g_t / (sqrt(v~_t) + eps)
            theta_t = theta_{t-1} - lr * b_t
        else:
            theta_t = theta_{t-1} - lr * g_t / (sqrt(v~_t) + eps)

    The square root is taken before eps is added (TensorFlow swaps the two).
    The centered form (Graves, 2013) divides by an estimate of the gradient's
    variance instead of its second moment. State names match PyTorch's:
    ``step``, ``square_avg`` (v), ``momentum_buffer`` (b), ``grad_avg`` (g^ave).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Tensors to optimise, or parameter groups.
    lr : float
        Learning rate (default 1e-2).
    alpha : float
        Smoothing constant of the moving averages (default 0.99).
    eps : float
        Added to the denominator for numerical stability (default 1e-8).
    weight_decay : float
        L2 penalty (default 0).
    momentum : float
        Momentum factor (default 0).
    centered : bool
        Normalise by the estimated variance of the gradient.
    maximize : bool
        Maximise the objective instead of minimising it.

    Raises
    ------
    ValueError
        For a negative lr, alpha, eps, momentum or weight_decay.

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0, -2.0], requires_grad=True)
    >>> optimizer = dg.optim.RMSprop([weight], lr=0.01, centered=True)
    >>> (weight * weight).sum().backward()
    >>> optimizer.step()
    >>> sorted(optimizer.state[weight])
    ['grad_avg', 'square_avg', 'step']
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {
            "step": 0.0,
            "square_avg": np.zeros_like(param.array),
        }
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param.array)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param.array)
        return state

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        alpha = group["alpha"]
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        momentum = group["momentum"]
        for param, grad in self._params_with_grad(group):
            state = self._lazy_state(param, group)
            if group["maximize"]:
                grad = -grad
            square_avg = state["square_avg"]
            state["step"] += 1

            if weight_decay != 0:
                grad = grad + weight_decay * param.array

            square_avg *= alpha
            square_avg += (1 - alpha) * grad * grad

            if group["centered"]:
                grad_avg = state["grad_avg"]
                _lerp_(grad_avg, grad, 1 - alpha)
                avg = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = np.sqrt(square_avg)
            avg += eps

            if momentum > 0:
                momentum_buffer = state["momentum_buffer"]
                momentum_buffer *= momentum
                momentum_buffer += grad / avg
                param.array -= lr * momentum_buffer
            else:
                param.array -= lr * (grad / avg)
            param._version += 1
