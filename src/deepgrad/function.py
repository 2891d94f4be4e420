"""``dg.autograd.Function``: an op with a hand-written backward, PyTorch's way.

A subclass writes the forward pass and the vector-Jacobian product as two
static methods; ``apply`` runs the forward without recording it and puts one
node in the graph whose backward calls the subclass's::

    class Exp(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):   # d exp(x)/dx = exp(x)
            (result,) = ctx.saved_tensors
            return grad_output * result

    y = Exp.apply(x)

The node is an ordinary op of the engine (``Tensor._make``): the tensors saved
with ``ctx.save_for_backward`` are version-checked before backward runs, as
every op's, and ``gradcheck`` works on ``apply``. A forward that returns several
tensors gets one more node, "joint", that gathers their gradients: each output
sends its gradient to its own slice of the joint's flat array, the engine sums
them there, and the joint calls ``backward`` once with all of them.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from deepgrad.ops._common import unbroadcast
from deepgrad.tensor import (
    Tensor,
    _move_node,
    _new_leaf,
    is_grad_enabled,
    no_grad,
)


class FunctionCtx:
    """The ``ctx`` a Function's forward fills in and its backward reads.

    Attributes
    ----------
    needs_input_grad : tuple of bool
        For each argument of ``forward``, whether a gradient is wanted (a tensor
        that requires one, while recording); backward may skip the others.
    """

    def __init__(self) -> None:
        self.needs_input_grad: tuple[bool, ...] = ()
        self.materialize_grads = True
        self._to_save: tuple[Tensor | None, ...] = ()
        self._saved: tuple[Any, ...] | None = None
        self._non_differentiable: list[Tensor] = []

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep inputs or outputs (or None) for backward, as ``ctx.saved_tensors``.

        backward() raises PyTorch's "modified by an inplace operation" error if
        one of them is changed in place in between.
        """
        for index, tensor in enumerate(tensors):
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors (or None), but "
                    f"argument {index} is a {type(tensor).__name__}; keep other "
                    "values as attributes of ctx (ctx.alpha = alpha)"
                )
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The tensors given to ``save_for_backward``, in the same order."""
        if self._saved is None:
            return self._to_save  # still inside forward
        return tuple(
            entry() if isinstance(entry, weakref.ref) else entry
            for entry in self._saved
        )

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """Declare outputs (e.g. indices) that get no gradient: they don't
        require grad, and backward receives zeros for them."""
        self._non_differentiable.extend(outputs)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for the gradient of an
        output that did not take part in the loss."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise NotImplementedError(
            "mark_dirty: deepgrad Functions cannot change their inputs in place; "
            "return a new tensor from forward instead"
        )


class Function:
    """Base class of ops with a custom backward (``torch.autograd.Function``).

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
    as static methods, and are called through ``apply``. Arguments that are not
    tensors (numbers, flags) are passed to forward as they are, and their
    gradients must be None. backward returns one gradient per argument of
    forward (a tensor, or None), as a tuple when there are several. A forward may
    also take its inputs alone (``forward(*args)``) and fill the ctx in
    ``setup_context(ctx, inputs, output)``, as in PyTorch 2.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "A Function subclass must define forward(ctx, *args) as a staticmethod"
        )

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "A Function subclass must define backward(ctx, *grad_outputs) as a "
            "staticmethod to be differentiated"
        )

    setup_context: Any = None  # PyTorch 2's optional split of forward

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` outside the graph and record one node for ``backward``."""
        ctx = FunctionCtx()
        recording = is_grad_enabled()
        ctx.needs_input_grad = tuple(
            recording and isinstance(arg, Tensor) and arg.requires_grad for arg in args
        )
        with no_grad():
            if cls.setup_context is None:
                result = cls.forward(ctx, *args, **kwargs)
            else:
                result = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, result)
        if not any(ctx.needs_input_grad):
            return result
        outputs = list(result) if isinstance(result, tuple) else [result]
        for index, output in enumerate(outputs):
            if isinstance(output, Tensor) and _taken(output, args):
                outputs[index] = _new_leaf(output.array)  # a fresh node, same values
        _record(cls, ctx, args, outputs)
        return tuple(outputs) if isinstance(result, tuple) else outputs[0]


def _taken(output: Tensor, args: tuple[Any, ...]) -> bool:
    """Whether ``output`` cannot become the node: it is an input, has a history,
    or shares another tensor's version counter."""
    return (
        any(output is arg for arg in args)
        or output._requires_grad
        or hasattr(output, "_base")  # a view, or a detach()ed alias
    )


def _record(
    cls: type[Function], ctx: FunctionCtx, args: tuple[Any, ...], outputs: list[Any]
) -> None:
    """Make the differentiable outputs nodes whose backward calls ``cls.backward``."""
    name = f"{cls.__name__}Backward"
    parents = tuple(arg for arg in args if isinstance(arg, Tensor))
    tensors = [output for output in outputs if isinstance(output, Tensor)]
    differentiable = [
        output
        for output in tensors
        if output.array.dtype.kind in "fc"
        and not any(output is other for other in ctx._non_differentiable)
    ]
    if not differentiable:
        return
    saved_entries = []
    for tensor in ctx._to_save:  # outputs held weakly: they hold the node
        output = any(tensor is other for other in tensors)
        saved_entries.append(weakref.ref(tensor) if output else tensor)
    ctx._saved = tuple(saved_entries)

    def call_backward(grads: list[np.ndarray | None]) -> tuple[Any, ...]:
        grad_outputs = [
            _new_leaf(grad)
            if grad is not None
            else (
                _new_leaf(np.zeros_like(output.array))
                if ctx.materialize_grads
                else None
            )
            for output, grad in zip(tensors, grads, strict=True)
        ]
        with no_grad():
            returned = cls.backward(ctx, *grad_outputs)
        return _input_gradients(name, returned, args)

    if len(differentiable) == 1 and len(tensors) == 1:
        (output,) = differentiable

        def backward(grad_output: np.ndarray) -> tuple[Any, ...]:
            return call_backward([grad_output])

        saved = tuple(
            (None, t._version) if t is output else (t, t._version)
            for t in ctx._to_save
            if t is not None
        )
        _make_node(output, parents, backward, name, saved)
        return
    _record_joint(name, parents, tensors, differentiable, ctx, call_backward)


def _record_joint(
    name: str,
    parents: tuple[Tensor, ...],
    tensors: list[Tensor],
    differentiable: list[Tensor],
    ctx: FunctionCtx,
    call_backward: Any,
) -> None:
    """Several outputs: a joint node over their flattened values, and each
    differentiable output a node sending its gradient to its slice of it."""
    dtype = np.result_type(*(output.array.dtype for output in differentiable))
    ends = np.cumsum([output.array.size for output in tensors])
    starts = ends - np.array([output.array.size for output in tensors])
    received: set[int] = set()  # the outputs whose gradient arrived

    def joint_backward(grad_flat: np.ndarray) -> tuple[Any, ...]:
        grads = [
            grad_flat[start:end].reshape(output.shape).astype(output.dtype, copy=False)
            if index in received
            else None
            for index, (output, start, end) in enumerate(
                zip(tensors, starts, ends, strict=True)
            )
        ]
        received.clear()
        return call_backward(grads)

    saved = tuple((t, t._version) for t in ctx._to_save if t is not None)
    joint_values = np.zeros(int(ends[-1]) if len(ends) else 0, dtype)
    joint = Tensor._make(joint_values, parents, joint_backward, name, saved)
    for index, output in enumerate(tensors):
        if not any(output is other for other in differentiable):
            continue

        def backward(grad_output: np.ndarray, index: int = index) -> tuple[Any]:
            received.add(index)
            grad_flat = np.zeros(joint_values.size, dtype)
            grad_flat[starts[index] : ends[index]] = grad_output.ravel()
            return (grad_flat,)

        _make_node(output, (joint,), backward, name, ())


def _make_node(
    output: Tensor,
    parents: tuple[Tensor, ...],
    backward: Any,
    name: str,
    saved: tuple[tuple[Tensor | None, int], ...],
) -> None:
    """Give ``output``, the tensor forward returned, a graph node."""
    node = Tensor._make(output.array, parents, backward, name, saved)
    if node._requires_grad:
        _move_node(node, output)


def _input_gradients(
    name: str, returned: Any, args: tuple[Any, ...]
) -> tuple[np.ndarray | None, ...]:
    """The arrays of what backward returned for each tensor argument, checked."""
    grads = list(returned) if isinstance(returned, tuple | list) else [returned]
    while len(grads) > len(args) and grads[-1] is None:
        grads.pop()  # extra trailing Nones are allowed, as in PyTorch
    if len(grads) != len(args):
        raise RuntimeError(
            f"function {name} returned an incorrect number of gradients (expected "
            f"{len(args)}, got {len(grads)}): one per argument of forward, None for "
            "those that need none"
        )
    arrays = []
    for index, (arg, grad) in enumerate(zip(args, grads, strict=True)):
        if not isinstance(arg, Tensor):
            if grad is not None:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at "
                    f"position {index + 1}, but the corresponding forward input was "
                    f"not a Tensor (a {type(arg).__name__})"
                )
            continue
        if grad is None:
            arrays.append(None)
            continue
        if not isinstance(grad, Tensor):
            raise TypeError(
                f"function {name} returned a {type(grad).__name__} as the gradient "
                f"at position {index + 1}; return a Tensor (or None)"
            )
        array = grad.array
        if array.shape != arg.shape:
            # a gradient with broadcast dimensions is summed back, as PyTorch
            try:
                compatible = np.broadcast_shapes(array.shape, arg.shape) == array.shape
            except ValueError:
                compatible = False
            if not compatible:
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {index} "
                    f"- got {list(array.shape)} but expected shape compatible with "
                    f"{list(arg.shape)}"
                )
            array = unbroadcast(array, arg.shape)
        arrays.append(array.astype(arg.array.dtype, copy=False))
    return tuple(arrays)
