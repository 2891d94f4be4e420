"""The Optimizer base class: parameter groups, lazy per-parameter state, state_dict.

An optimizer holds ``param_groups``, a list of dicts each with its ``params`` and
its own hyper-parameters (``lr``, ``momentum``, ...), and ``state``, a dict from
parameter to that parameter's buffers (momentum, moving averages, step count),
created on the first step that parameter has a gradient. ``step()`` hands each
group to the subclass's ``_update_group``, which changes ``param.array`` in place
and counts the change in ``param._version``, as PyTorch's in-place update does
(so a backward() through a graph built before the step raises).
Everything follows ``torch.optim.Optimizer``, so code and checkpoints move
between the two.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any

import numpy as np

from deepgrad.tensor import Tensor, enable_grad

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]

# Options that must be >= 0, with the words PyTorch's error message uses for each.
_NON_NEGATIVE_OPTIONS = {
    "lr": "learning rate",
    "eps": "epsilon value",
    "momentum": "momentum value",
    "weight_decay": "weight_decay value",
    "alpha": "alpha value",
    "lr_decay": "lr_decay value",
    "initial_accumulator_value": "initial_accumulator_value value",
}

_UNORDERED_PARAMS = (
    "optimizer parameters need to be organized in ordered collections, but the "
    "ordering of tensors in sets will change between runs. Please use a list instead."
)


def _lerp_(
    start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray | None = None
) -> None:
    """``start <- start + weight * (end - start)`` in place, rounded as ``torch.lerp``.

    Like PyTorch, interpolate from the nearer end so that a weight close to 1
    loses no precision: ``end - (end - start) * (1 - weight)`` when weight >= 0.5.
    """
    # `scratch` (an array shaped like start) spares allocating a temporary each step
    difference = np.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        difference *= weight
        start += difference
    else:
        difference *= 1 - weight
        np.subtract(end, difference, out=start)


class Optimizer:
    """Base class of all optimizers (PyTorch's ``torch.optim.Optimizer``).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The tensors to optimise, or parameter groups: dicts with a ``"params"``
        entry and any hyper-parameters that differ from ``defaults`` for them.
    defaults : dict
        Hyper-parameters for groups that do not set their own.

    Raises
    ------
    ValueError
        If ``params`` is empty, a hyper-parameter is out of range, a tensor is
        not a leaf, or a tensor appears in two groups.
    TypeError
        If ``params`` is a single Tensor or a set, or holds something that is
        not a Tensor.

    Example
    -------
    >>> import deepgrad as dg
    >>> weight = dg.tensor([1.0, 2.0], requires_grad=True)
    >>> bias = dg.tensor([0.0], requires_grad=True)
    >>> optimizer = dg.optim.SGD(
    ...     [{"params": [weight]}, {"params": [bias], "lr": 0.5}], lr=0.1
    ... )
    >>> [group["lr"] for group in optimizer.param_groups]
    [0.1, 0.5]
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self._check_options(defaults)
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of "
                "Tensors or dicts, but got a Tensor: wrap it in a list, [tensor]"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED_PARAMS)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self._scratch_buffers: dict[np.dtype, np.ndarray] = {}
        self.param_groups: list[dict[str, Any]] = []
        # read by the LR schedulers, to warn when they step before the optimizer
        self._opt_called = False

        param_groups: list[Any] = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines += [
                f"    {key}: {group[key]}" for key in sorted(group) if key != "params"
            ]
        return "\n".join(lines) + "\n)"

    # -- parameter groups ------------------------------------------------------------
    def _check_options(self, options: dict[str, Any]) -> None:
        """Raise ValueError for a hyper-parameter outside its valid range."""
        for name, description in _NON_NEGATIVE_OPTIONS.items():
            if name in options and not 0.0 <= options[name]:
                raise ValueError(
                    f"Invalid {description}: {options[name]} (expected {name} >= 0)"
                )
        if "betas" in options:
            betas = options["betas"]
            if len(betas) != 2:
                raise ValueError(
                    f"Expected betas to be a pair (beta1, beta2), received: {betas!r}"
                )
            for index, beta in enumerate(betas):
                if not 0.0 <= beta < 1.0:
                    raise ValueError(
                        f"Invalid beta parameter at index {index}: {beta} "
                        "(expected 0 <= beta < 1)"
                    )

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, e.g. layers unfrozen while fine-tuning.

        Options the group does not set are taken from ``defaults``.

        Raises
        ------
        TypeError
            If ``param_group`` is not a dict or holds something that is not a Tensor.
        ValueError
            If a tensor is not a leaf, is already in another group, or an option
            is out of range.
        """
        if not isinstance(param_group, dict):
            raise TypeError(
                f"param_group must be a dict, but got {type(param_group).__name__}"
            )
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED_PARAMS)
        param_group["params"] = params = list(params)

        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(param).__name__}"
                )
            if not (param.is_leaf or param.retains_grad):
                raise ValueError(
                    "can't optimize a non-leaf Tensor (one made by an op); optimise "
                    "the leaf it came from, or a .detach()ed copy with requires_grad"
                )
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        self._check_options(param_group)

        if len({id(param) for param in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "each is updated once per occurrence",
                stacklevel=3,
            )
        for group_index, group in enumerate(self.param_groups):
            in_group = {id(param) for param in group["params"]}
            for index, param in enumerate(params):
                if id(param) in in_group:
                    raise ValueError(
                        "some parameters appear in more than one parameter group: "
                        f"parameter {index} of the new group (shape "
                        f"{tuple(param.shape)}) "
                        f"is already in group {group_index}"
                    )
        self.param_groups.append(param_group)

    # -- the update ----------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimised tensors.

        Parameters
        ----------
        set_to_none : bool
            Set ``.grad`` to None (the default) instead of filling it with zeros.
            The difference shows in ``step()``: a parameter whose grad is None is
            skipped, one with a zero grad still decays and moves with momentum.
        """
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, group by group.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss; called (with gradient
            recording on) before the update.

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update_group(group)
        self._opt_called = True
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        """Apply the optimizer's update rule to one parameter group, in place."""
        raise NotImplementedError

    @staticmethod
    def _params_with_grad(group: dict[str, Any]) -> Iterator[tuple[Tensor, np.ndarray]]:
        """The group's parameters that have a gradient, each with that gradient."""
        for param in group["params"]:
            if param.grad is not None:
                yield param, param.grad.array

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state a parameter starts with (subclasses with state override this)."""
        return {}

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """A reusable work array shaped like ``like`` (not state: never saved)."""
        buffer = self._scratch_buffers.get(like.dtype)
        if buffer is None or buffer.size < like.size:
            buffer = np.empty(like.size, dtype=like.dtype)
            self._scratch_buffers[like.dtype] = buffer
        return buffer[: like.size].reshape(like.shape)

    def _lazy_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The parameter's state, created by ``_init_state`` on first use."""
        state = self.state[param]
        if len(state) == 0:
            state.update(self._init_state(param, group))
        return state

    # -- checkpoints ---------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's layout.

        ``{"state": {index: {name: array or number}}, "param_groups": [group, ...]}``
        where each group's ``params`` is replaced by the parameters' indices (their
        order across all groups) and state is keyed by the same indices. As in
        PyTorch, the arrays are the optimizer's own buffers, not copies: save or
        ``copy.deepcopy`` the dict before stepping again if it must stay fixed.
        """
        index_of: dict[int, int] = {}
        start_index = 0
        param_groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for index, param in enumerate(group["params"], start_index):
                index_of.setdefault(id(param), index)
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            start_index += len(packed["params"])
            param_groups.append(packed)
        state = {index_of[id(param)]: value for param, value in self.state.items()}
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by ``state_dict()`` (deepgrad's or PyTorch's).

        The parameters are matched by position, so build this optimizer over the
        same parameters in the same order. Arrays are copied and cast to their
        parameter's dtype; ``step`` counts become Python floats.

        Raises
        ------
        ValueError
            If the number of groups, a group's size, or a state index does not
            match this optimizer.
        """
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} saved, {len(self.param_groups)} in this optimizer"
            )
        for index, (group, saved) in enumerate(
            zip(self.param_groups, saved_groups, strict=True)
        ):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match "
                    f"the size of optimizer's group: group {index} has "
                    f"{len(saved['params'])} saved and {len(group['params'])} here"
                )
        param_of = dict(
            zip(
                chain.from_iterable(saved["params"] for saved in saved_groups),
                chain.from_iterable(group["params"] for group in self.param_groups),
                strict=True,
            )
        )

        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            if index not in param_of:
                raise ValueError(
                    f"loaded state dict has state for parameter index {index}, which "
                    f"is not among the saved groups' params {sorted(param_of)}"
                )
            param = param_of[index]
            state[param] = {
                name: _cast_state_value(param, name, value)
                for name, value in saved_state.items()
            }
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            saved["params"] = group["params"]
        self.param_groups = saved_groups
        self.state = state


def _cast_state_value(param: Tensor, name: str, value: Any) -> Any:
    """A private copy of one saved state value, as the optimizer keeps it."""
    if name == "step":
        return float(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    array = np.asarray(value)  # also takes a torch checkpoint's CPU tensors
    dtype = param.array.dtype if param.array.dtype.kind in "fc" else array.dtype
    return array.astype(dtype, copy=True)
