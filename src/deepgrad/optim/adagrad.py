"""Adagrad: per-coordinate learning rates that shrink as squared gradients add up."""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.optim.optimizer import Optimizer, ParamsT
from deepgrad.tensor import Tensor


class Adagrad(Optimizer):
    """Adagrad (PyTorch's ``torch.optim.Adagrad``), Duchi, Hazan & Singer, 2011.

    For each parameter ``theta`` with gradient ``grad``, starting from
    ``state_sum_0 = initial_accumulator_value``, at step t = 1, 2, ...::

        g_t = -grad if maximize else grad
        lr~ = lr / (1 + (t - 1) * lr_decay)
        if weight_decay != 0:
            g_t = g_t + weight_decay * theta_{t-1}
        state_sum_t = state_sum_{t-1} + g_t^2
        theta_t = theta_{t-1} - lr~ * g_t / (sqrt(state_sum_t) + eps)

    As in PyTorch, the state (``step`` and ``sum``) is created when the optimizer
    is, not on the first step, so ``state_dict()`` holds it from the start.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Tensors to optimise, or parameter groups.
    lr : float
        Learning rate (default 1e-2).
    lr_decay : float
        Learning rate decay ``eta`` per step (default 0).
    weight_decay : float
        L2 penalty (default 0).
    initial_accumulator_value : float
        Starting value of the sum of squared gradients (default 0).
    eps : float
        Added to the denominator for numerical stability (default 1e-10).
    maximize : bool
        Maximise the objective instead of minimising it.

    Raises
    ------
    ValueError
        For a negative lr, lr_decay, weight_decay, initial_accumulator_value or eps.

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0, -2.0], requires_grad=True)
    >>> optimizer = dg.optim.Adagrad([weight], lr=0.1, initial_accumulator_value=0.5)
    >>> optimizer.state[weight]["sum"]
    array([0.5, 0.5], dtype=float32)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self._lazy_state(param, group)

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {
            "step": 0.0,
            "sum": np.full_like(param.array, group["initial_accumulator_value"]),
        }

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        lr_decay = group["lr_decay"]
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        for param, grad in self._params_with_grad(group):
            state = self._lazy_state(param, group)
            state_sum = state["sum"]
            state["step"] += 1
            step = state["step"]
            if group["maximize"]:
                grad = -grad

            if weight_decay != 0:
                grad = grad + weight_decay * param.array

            clr = lr / (1 + (step - 1) * lr_decay)

            state_sum += grad * grad
            std = np.sqrt(state_sum) + eps
            param.array -= clr * (grad / std)
            param._version += 1
