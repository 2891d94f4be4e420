"""Stochastic gradient descent, optionally with (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.optim.optimizer import Optimizer, ParamsT


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's ``torch.optim.SGD``).

    For each parameter ``theta`` with gradient ``grad``, at step t = 1, 2, ...::

        g_t = -grad if maximize else grad
        if weight_decay != 0:
            g_t = g_t + weight_decay * theta_{t-1}
        if momentum != 0:
            if t > 1:
                b_t = momentum * b_{t-1} + (1 - dampening) * g_t
            else:
                b_t = g_t
            if nesterov:
                g_t = g_t + momentum * b_t
            else:
                g_t = b_t
        theta_t = theta_{t-1} - lr * g_t

    The momentum buffer ``b`` starts as the first gradient, so dampening applies
    from the second step on, and ``lr`` multiplies the whole velocity (unlike
    Sutskever et al., who fold ``lr`` into ``b``).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Tensors to optimise, or parameter groups.
    lr : float
        Learning rate (default 1e-3, as in PyTorch 2.x).
    momentum : float
        Momentum factor ``mu`` (default 0: plain gradient descent).
    dampening : float
        Dampening ``tau`` for momentum (default 0).
    weight_decay : float
        L2 penalty added to the gradient (default 0).
    nesterov : bool
        Use Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool
        Maximise the objective instead of minimising it.

    Raises
    ------
    ValueError
        For a negative lr, momentum or weight_decay, or nesterov without
        momentum or with dampening.

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0, -2.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD([weight], lr=0.1, momentum=0.9)
    >>> (weight * weight).sum().backward()
    >>> optimizer.step()
    >>> weight
    tensor([ 0.8000, -1.6000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_options(self, options: dict[str, Any]) -> None:
        super()._check_options(options)
        if options.get("nesterov") and (
            options["momentum"] <= 0 or options["dampening"] != 0
        ):
            raise ValueError(
                "Nesterov momentum requires a momentum and zero dampening, received: "
                f"momentum={options['momentum']}, dampening={options['dampening']}"
            )

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        momentum = group["momentum"]
        dampening = group["dampening"]
        weight_decay = group["weight_decay"]
        for param, grad in self._params_with_grad(group):
            if group["maximize"]:
                grad = -grad
            if weight_decay != 0:
                grad = grad + weight_decay * param.array
            if momentum != 0:
                state = self.state[param]
                momentum_buffer = state.get("momentum_buffer")
                if momentum_buffer is None:
                    momentum_buffer = np.array(grad, dtype=param.array.dtype, copy=True)
                    state["momentum_buffer"] = momentum_buffer
                else:
                    momentum_buffer *= momentum
                    momentum_buffer += (1 - dampening) * grad
                if group["nesterov"]:
                    grad = grad + momentum * momentum_buffer
                else:
                    grad = momentum_buffer
            param.array -= lr * grad
            param._version += 1
