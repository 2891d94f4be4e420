"""In-place ops: they write into the tensor's own array and count a new version.

Every in-place op adds 1 to the tensor's ``_version`` (shared with its views and
``detach()``ed aliases), so that backward() refuses a closure whose saved
values changed after the forward pass. Outside a recorded graph (inside
``no_grad``, or when nothing involved requires a gradient) that is all they do:
the lab's ``W -= lr * W.grad`` is one ufunc call into W's array, and the count.

Inside a graph an in-place op is recorded as its out-of-place twin, as PyTorch
records ``add_`` as AddBackward: the twin runs on the tensor's node so far
(``_split_history``), its result is written back into the same array, and the
tensor becomes the twin's output (``_rebase_history``), so later ops and
``backward()`` see the new value and its gradient. Refused, with an error: on a
leaf that requires grad (PyTorch's error), and on a view or a tensor that has
views (PyTorch rewrites the views' history; deepgrad does not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from deepgrad import random as _random
from deepgrad.ops._common import unbroadcast
from deepgrad.ops.arithmetic import add, clamp, div, mul, sub
from deepgrad.ops.comparison import masked_fill
from deepgrad.ops.shape import (
    index_key,
    index_put,
    scatter,
    scatter_add,
    write_indexed,
)
from deepgrad.tensor import (
    Tensor,
    _generator_or_default,
    _rebase_history,
    _split_history,
    _thread,
    _threads_without_grad,
    _View,
    is_grad_enabled,
)


def _record(
    tensor: Tensor,
    op: str,
    twin: Callable[..., Tensor],
    args: tuple[Any, ...],
    keep_values: bool = False,
) -> Tensor:
    """Do ``op`` in a recorded graph as ``twin(tensor, *args)``, written in place.

    ``keep_values``: the twin's backward reads its input's values (mul, div,
    clamp), so the node the tensor was keeps a copy of them.
    """
    _check_recordable(tensor, op)
    previous = _split_history(tensor, keep_values)
    output = twin(previous, *args)
    if output.shape != tensor.shape:
        raise ValueError(
            f"in-place {op}: cannot write a result of shape {tuple(output.shape)} into "
            f"a tensor of shape {tuple(tensor.shape)}"
        )
    np.copyto(tensor.array, output.array, casting="same_kind")  # int += float fails
    _rebase_history(tensor, output, previous)
    tensor._version += 1
    return tensor


def _check_recordable(tensor: Tensor, op: str) -> None:
    if tensor._backward is None and tensor._requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place "
            f"operation. ({op} on a weight, say: wrap parameter updates in "
            "`with dg.no_grad():`.)"
        )
    if isinstance(tensor, _View):
        base = tensor._base
        if base._backward is None and base._requires_grad:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an "
                f"in-place operation. ({op}: apply it to the leaf inside "
                "`with dg.no_grad():`, or to a clone() of the view.)"
            )
        raise RuntimeError(
            f"in-place {op} on a view (reshape, view, transpose, permute, expand) "
            "of a tensor in a recorded graph is not supported: the tensor it views "
            "would change without its gradient knowing. Use the out-of-place form "
            "(y = y + 1), or clone() the view first."
        )
    if getattr(tensor, "_viewed", False):  # set by the view ops only
        raise RuntimeError(
            f"in-place {op} on a tensor that has views (reshape, view, transpose, "
            "permute, expand) in a recorded graph is not supported: the views "
            "would change without their gradients knowing. Use the out-of-place "
            "form (y = y + 1), or change a clone() of it."
        )


def _needs_recording(tensor: Tensor, other: Any) -> bool:
    """Whether an in-place op of ``tensor`` with ``other`` belongs in the graph."""
    return (
        tensor._requires_grad or (isinstance(other, Tensor) and other._requires_grad)
    ) and is_grad_enabled()


def _arithmetic(op: str, ufunc: np.ufunc, twin: Callable[..., Tensor], keep: bool):
    """The in-place form of a binary op: ``+=``, ``add_``, ``*=``, ..."""

    def update(self: Tensor, other: Any) -> Tensor:
        # _needs_recording, inline: `W -= lr * W.grad` runs six times a lab step
        if isinstance(other, Tensor):
            value = other.array
            in_graph = self._requires_grad or other._requires_grad
        else:
            value = other
            in_graph = self._requires_grad
        if in_graph and (not _threads_without_grad or _thread.switches.grad):
            return _record(self, op, twin, (other,), keep)
        try:
            ufunc(self.array, value, self.array)  # out= costs more; int += float fails
        except ValueError as error:
            raise _write_error(self, op, np.shape(value), error) from None
        self._version += 1
        return self

    return update


def _write_error(tensor: Tensor, op: str, shape: tuple[int, ...], error: Exception):
    if not tensor.array.flags.writeable:
        return ValueError(
            f"in-place {op}: this tensor is read-only, an expand() of another "
            "(one value stands for many elements); clone() it first"
        )
    return ValueError(
        f"in-place {op}: cannot write the result for an operand of shape {shape} "
        f"into a tensor of shape {tuple(tensor.shape)} ({error})"
    )


_iadd = _arithmetic("+=", np.add, add, keep=False)
_isub = _arithmetic("-=", np.subtract, sub, keep=False)
_imul = _arithmetic("*=", np.multiply, mul, keep=True)
_itruediv = _arithmetic("/=", np.divide, div, keep=True)
_add = _arithmetic("add_", np.add, add, keep=False)
_sub = _arithmetic("sub_", np.subtract, sub, keep=False)


def add_(self: Tensor, other: Any, alpha: float = 1.0) -> Tensor:
    """``self += alpha * other``, in place."""
    return _add(self, other if alpha == 1 else _scaled(other, alpha))


def sub_(self: Tensor, other: Any, alpha: float = 1.0) -> Tensor:
    """``self -= alpha * other``, in place."""
    return _sub(self, other if alpha == 1 else _scaled(other, alpha))


def _scaled(other: Any, alpha: float) -> Any:
    return other * alpha if isinstance(other, Tensor) else np.multiply(other, alpha)


mul_ = _arithmetic("mul_", np.multiply, mul, keep=True)
div_ = _arithmetic("div_", np.divide, div, keep=True)


def clamp_(self: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Limit the values to [min, max], in place."""
    if self._requires_grad and is_grad_enabled():
        return _record(self, "clamp_", clamp, (min, max), keep_values=True)
    if min is None and max is None:
        raise ValueError("clamp_: at least one of min and max must be given")
    np.clip(self.array, min, max, out=self.array)
    self._version += 1
    return self


def masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    """Write ``value`` where the bool ``mask`` (broadcast to this shape) is True."""
    if _needs_recording(self, value):
        return _record(self, "masked_fill_", masked_fill, (mask, value))
    filled = masked_fill(self, mask, value)
    if filled.shape != self.shape:
        raise ValueError(
            f"in-place masked_fill_: a mask of shape {tuple(mask.shape)} does not fit "
            f"a tensor of shape {tuple(self.shape)}; it must broadcast to the "
            "tensor's shape"
        )
    np.copyto(self.array, filled.array)
    self._version += 1
    return self


def _scattering(op: str, twin: Callable[..., Tensor]):
    """The in-place form of scatter / scatter_add: recorded as the twin in a graph."""

    def update(self: Tensor, dim: int, index: Tensor, src: Any) -> Tensor:
        if _needs_recording(self, src):
            return _record(self, op, twin, (dim, index, src))
        np.copyto(self.array, twin(self, dim, index, src).array)
        self._version += 1
        return self

    update.__name__ = update.__qualname__ = op
    update.__doc__ = f"``{twin.__name__}``, written into this tensor."
    return update


scatter_ = _scattering("scatter_", scatter)
scatter_add_ = _scattering("scatter_add_", scatter_add)


def _overwritten(previous: Tensor, source: Any, op: str) -> Tensor:
    """The out-of-place twin of the ops that overwrite every value: copy_, fill_,
    zero_, uniform_, normal_. ``source`` broadcasts to ``previous``'s shape."""
    out = np.empty_like(previous.array)
    out[...] = source.array if isinstance(source, Tensor) else source
    gets_gradient = isinstance(source, Tensor) and source._requires_grad

    def backward(grad_output):
        # the old values are gone: their gradient is 0; each source element
        # gets the gradient of every place it was copied to
        grad_source = (
            unbroadcast(grad_output, source.shape).astype(source.dtype, copy=False)
            if gets_gradient
            else None
        )
        return np.zeros_like(previous.array), grad_source

    parents = (previous, source) if isinstance(source, Tensor) else (previous,)
    return Tensor._make(out, parents, backward, op)


def _overwrite(self: Tensor, source: Any, op: str, name: str) -> Tensor:
    """Write ``source``, or what the function ``source`` draws, into every element."""
    in_graph = _needs_recording(self, source)
    if in_graph:
        _check_recordable(self, op)  # before random values are drawn, as PyTorch
    if callable(source):
        source = source()
    if in_graph:
        return _record(self, op, _overwritten, (source, name))
    self.array[...] = source.array if isinstance(source, Tensor) else source
    self._version += 1
    return self


def zero_(self: Tensor) -> Tensor:
    """Set every value to 0, in place."""
    if self._requires_grad and is_grad_enabled():
        return _record(self, "zero_", _overwritten, (0, "ZeroBackward"))
    self.array.fill(0)
    self._version += 1
    return self


def fill_(self: Tensor, value: Any) -> Tensor:
    """Set every value to ``value`` (a number, or a one-element tensor), in place."""
    return _overwrite(self, value, "fill_", "FillBackward")


def copy_(self: Tensor, source: Any) -> Tensor:
    """Copy ``source`` (broadcast to this tensor's shape, cast to its dtype) in."""
    shape = source.shape if isinstance(source, Tensor) else np.shape(source)
    if np.broadcast_shapes(shape, self.shape) != self.shape:
        raise ValueError(
            f"copy_: cannot copy a source of shape {tuple(shape)} into a tensor of "
            f"shape {tuple(self.shape)}"
        )
    return _overwrite(self, source, "copy_", "CopyBackwards")


def _in_memory_order(
    self: Tensor, draw: Callable[[tuple[int, ...]], np.ndarray]
) -> np.ndarray:
    """``draw(shape)`` laid out in the order torch's TensorIterator fills the
    tensor: its memory order (the axes by decreasing stride), so a transposed
    view gets the numbers its storage would get, as in torch."""
    strides = self.array.strides
    axes = sorted(range(self.array.ndim), key=lambda axis: -abs(strides[axis]))
    values = draw(tuple(self.shape[axis] for axis in axes))
    return values.transpose(np.argsort(axes))


def uniform_(
    self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None
) -> Tensor:
    """Fill with samples from U(a, b): PyTorch's numbers (``random.uniform``)."""

    def draw() -> np.ndarray:  # looked up now: the default generator is global
        gen = _generator_or_default(generator)
        return _in_memory_order(
            self, lambda shape: _random.uniform(gen, shape, self.dtype, a, b)
        )

    return _overwrite(self, draw, "uniform_", "UniformBackward")


def normal_(
    self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None
) -> Tensor:
    """Fill with samples from N(mean, std^2): PyTorch's numbers (``random.normal``,
    whose path depends on the size and on the tensor being contiguous)."""

    def draw() -> np.ndarray:
        gen = _generator_or_default(generator)
        contiguous = self.array.flags.c_contiguous
        return _in_memory_order(
            self,
            lambda shape: _random.normal(gen, shape, self.dtype, mean, std, contiguous),
        )

    return _overwrite(self, draw, "normal_", "NormalBackward")


def random_(
    self: Tensor,
    low: int | None = None,
    high: int | None = None,
    *,
    generator: Any = None,
) -> Tensor:
    """Fill with integers: ``random_()`` over [0, 2**63) for int64 (2**53 + 1
    values for float64, 2**24 + 1 for float32), ``random_(high)`` over
    [0, high), ``random_(low, high)`` over [low, high), as torch."""

    def draw() -> np.ndarray:
        gen = _generator_or_default(generator)
        if low is None:
            return _in_memory_order(
                self, lambda shape: _random.random_full(gen, shape, self.dtype)
            )
        bounds = (0, low) if high is None else (low, high)
        return _in_memory_order(
            self, lambda shape: _random.randint(gen, *bounds, shape, self.dtype)
        )

    return _overwrite(self, draw, "random_", "RandomBackward")


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Fill with 1 (probability ``p``, a number or a tensor of them) or 0."""

    def draw() -> np.ndarray:
        gen = _generator_or_default(generator)
        if isinstance(p, Tensor):
            probabilities = np.broadcast_to(p.array, self.shape)
            return _random.bernoulli_tensor(gen, probabilities)
        return _in_memory_order(
            self, lambda shape: _random.bernoulli(gen, shape, float(p))
        )

    return _overwrite(self, draw, "bernoulli_", "BernoulliBackward")


def setitem(self: Tensor, key: Any, value: Any) -> None:
    """``tensor[key] = value``: write the indexed elements, in place."""
    if _needs_recording(self, value):
        _record(self, "__setitem__", index_put, (key, value))
        return
    write_indexed(self.array, index_key(key), value)
    self._version += 1


METHODS = {
    "__iadd__": _iadd,
    "__isub__": _isub,
    "__imul__": _imul,
    "__itruediv__": _itruediv,
    "__setitem__": setitem,
    "add_": add_,
    "sub_": sub_,
    "mul_": mul_,
    "div_": div_,
    "clamp_": clamp_,
    "masked_fill_": masked_fill_,
    "scatter_": scatter_,
    "scatter_add_": scatter_add_,
    "zero_": zero_,
    "fill_": fill_,
    "copy_": copy_,
    "uniform_": uniform_,
    "normal_": normal_,
    "random_": random_,
    "bernoulli_": bernoulli_,
}
