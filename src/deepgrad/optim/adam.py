"""Adam, and AdamW: Adam with weight decay decoupled from the gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from deepgrad.optim.optimizer import Optimizer, ParamsT, _lerp_
from deepgrad.tensor import Tensor


class Adam(Optimizer):
    """Adam (PyTorch's ``torch.optim.Adam``), Kingma & Ba, 2014.

    For each parameter ``theta`` with gradient ``grad``, starting from
    ``m_0 = v_0 = v_0^max = 0``, at step t = 1, 2, ...::

        g_t = -grad if maximize else grad
        if weight_decay != 0:
            g_t = g_t + weight_decay * theta_{t-1}
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        m_hat_t = m_t / (1 - beta1^t)
        if amsgrad:
            v_t^max = max(v_{t-1}^max, v_t)
            v_hat_t = v_t^max / (1 - beta2^t)
        else:
            v_hat_t = v_t / (1 - beta2^t)
        theta_t = theta_{t-1} - lr * m_hat_t / (sqrt(v_hat_t) + eps)

    With ``decoupled_weight_decay=True`` (that is, AdamW) the weight decay line
    becomes ``theta_{t-1} = theta_{t-1} - lr * weight_decay * theta_{t-1}``,
    applied to the parameter instead of the gradient. The state names match
    PyTorch's: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Tensors to optimise, or parameter groups.
    lr : float
        Learning rate (default 1e-3).
    betas : (float, float)
        Decay rates of the moving averages of the gradient and of its square
        (default (0.9, 0.999)); each in [0, 1).
    eps : float
        Added to the denominator for numerical stability (default 1e-8).
    weight_decay : float
        L2 penalty (default 0).
    amsgrad : bool
        Use the AMSGrad variant (Reddi et al., 2018), which divides by the
        largest second moment seen so far.
    maximize : bool
        Maximise the objective instead of minimising it.
    decoupled_weight_decay : bool
        Decay the parameter directly, as AdamW does.

    Raises
    ------
    ValueError
        For a negative lr, eps or weight_decay, or a beta outside [0, 1).

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0, -2.0], requires_grad=True)
    >>> optimizer = dg.optim.Adam([weight], lr=0.1)
    >>> (weight * weight).sum().backward()
    >>> optimizer.step()  # the first step moves each weight by about lr
    >>> weight
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {
            "step": 0.0,
            "exp_avg": np.zeros_like(param.array),
            "exp_avg_sq": np.zeros_like(param.array),
        }
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param.array)
        return state

    def _update_group(self, group: dict[str, Any]) -> None:
        for param, grad in self._params_with_grad(group):
            state = self._lazy_state(param, group)
            self._update_array(
                param.array, grad, state, group, self._scratch(param.array)
            )
            # one in-place write, two with AdamW's decay (PyTorch counts them so)
            decays = group["decoupled_weight_decay"] and group["weight_decay"] != 0
            param._version += 2 if decays else 1

    def _update_array(
        self,
        value: np.ndarray,
        grad: np.ndarray,
        state: dict[str, Any],
        group: dict[str, Any],
        scratch: np.ndarray,
    ) -> None:
        """One step for one array: a parameter, or (deepgrad.fast) all of them
        laid end to end in one flat buffer, with ``state`` holding flat moments."""
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        weight_decay = group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]

        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                value *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * value

        # The arithmetic below runs in one scratch buffer with out= (no
        # temporaries on the hot path), in PyTorch's order of operations so
        # that the rounding, and hence the trajectory, is the same.
        _lerp_(exp_avg, grad, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        np.multiply(grad, 1 - beta2, out=scratch)
        scratch *= grad
        exp_avg_sq += scratch  # v += (1 - beta2) * g * g

        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5

        second_moment = exp_avg_sq
        if group["amsgrad"]:
            second_moment = state["max_exp_avg_sq"]
            np.maximum(second_moment, exp_avg_sq, out=second_moment)
        denom = np.sqrt(second_moment, out=scratch)
        denom /= bias_correction2_sqrt
        denom += eps
        update = np.divide(exp_avg, denom, out=scratch)
        update *= step_size
        value -= update  # theta -= lr / (1 - beta1^t) * m / denom


class AdamW(Adam):
    """AdamW (PyTorch's ``torch.optim.AdamW``), Loshchilov & Hutter, 2019.

    Adam whose weight decay shrinks the parameter directly instead of being
    added to the gradient, so it does not pass through the moving averages::

        g_t = -grad if maximize else grad
        theta_t = theta_{t-1} - lr * weight_decay * theta_{t-1}
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t^2
        m_hat_t = m_t / (1 - beta1^t)
        if amsgrad:
            v_t^max = max(v_{t-1}^max, v_t)
            v_hat_t = v_t^max / (1 - beta2^t)
        else:
            v_hat_t = v_t / (1 - beta2^t)
        theta_t = theta_t - lr * m_hat_t / (sqrt(v_hat_t) + eps)

    Parameters are those of :class:`Adam`, except that ``weight_decay`` defaults
    to 1e-2 and the decay is always decoupled.

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0, -2.0], requires_grad=True)
    >>> optimizer = dg.optim.AdamW([weight], lr=0.1, weight_decay=0.5)
    >>> optimizer.param_groups[0]["decoupled_weight_decay"]
    True
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        # PyTorch does the same: AdamW stays AdamW whatever the checkpoint says
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
