"""Ops that move values around without changing them: reshape, transpose,
indexing, concatenation. Their backward moves the gradient back the same way.

reshape (when NumPy can), transpose, permute and expand return views: tensors
that share their input's memory, and so its version counter (``_View``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deepgrad.ops._common import normalize_dims, saved, unbroadcast
from deepgrad.tensor import Tensor, _alias, _View


def _view(out: Tensor, a: Tensor) -> Tensor:
    """``out`` shares ``a``'s memory: make it a view of ``a``."""
    return _alias(out, a, _View)


def _sizes(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], Sequence | np.ndarray):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(a: Tensor, *shape: Any) -> Tensor:
    new_shape = _sizes(shape)
    try:
        out = a.array.reshape(new_shape)
    except ValueError:
        raise ValueError(
            f"reshape: cannot view a tensor of shape {a.shape} ({a.array.size} "
            f"elements) as shape {new_shape}"
        ) from None

    def backward(grad_output):
        return (grad_output.reshape(a.shape),)

    view = Tensor._make(out, (a,), backward, "ViewBackward")
    return _view(view, a) if np.may_share_memory(out, a.array) else view


def flatten(a: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if a.ndim == 0:
        return reshape(a, 1)
    start, end = normalize_dims((start_dim, end_dim), a.ndim, "flatten")
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim}"
        )
    shape = (
        a.shape[:start] + (int(np.prod(a.shape[start : end + 1])),) + a.shape[end + 1 :]
    )
    return reshape(a, shape)


def t(a: Tensor) -> Tensor:
    """``torch.t``: a 2-D tensor transposed; 0-D and 1-D ones as they are."""
    if a.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {a.ndim}D; "
            "use transpose(dim0, dim1) or permute"
        )
    return transpose(a, 0, 1) if a.ndim == 2 else a


def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    d0, d1 = normalize_dims((dim0, dim1), a.ndim, "transpose")

    def backward(grad_output):  # swapping twice restores the layout
        return (np.swapaxes(grad_output, d0, d1),)

    out = np.swapaxes(a.array, d0, d1)
    return _view(Tensor._make(out, (a,), backward, "TransposeBackward"), a)


def permute(a: Tensor, *dims: Any) -> Tensor:
    order = normalize_dims(_sizes(dims), a.ndim, "permute") or ()
    if sorted(order) != list(range(a.ndim)):
        raise ValueError(
            f"permute: dims {dims} are not a permutation of the {a.ndim} dimensions"
        )
    inverse = np.argsort(order)

    def backward(grad_output):
        return (np.transpose(grad_output, inverse),)

    out = np.transpose(a.array, order)
    return _view(Tensor._make(out, (a,), backward, "PermuteBackward"), a)


def T(a: Tensor) -> Tensor:
    """All dimensions reversed (the matrix transpose for 2-D tensors)."""
    return permute(a, *reversed(range(a.ndim)))


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    if not -a.ndim - 1 <= dim <= a.ndim:
        raise IndexError(
            f"unsqueeze: dimension {dim} is out of range for a tensor with {a.ndim} "
            "dimension(s)"
        )
    return reshape(a, np.expand_dims(a.array, dim).shape)


def squeeze(a: Tensor, dim: Any = None) -> Tensor:
    if dim is None:
        shape = tuple(s for s in a.shape if s != 1)
    else:
        axes = normalize_dims(dim, a.ndim, "squeeze") or ()
        shape = tuple(s for i, s in enumerate(a.shape) if not (i in axes and s == 1))
    return reshape(a, shape)


def expand(a: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to a larger shape (-1 keeps a dimension); gradients are summed back.

    A read-only view, as NumPy's broadcast_to: one value stands for many elements.
    """
    target = list(_sizes(sizes))
    offset = len(target) - a.ndim
    for i, size in enumerate(target):
        if size == -1:
            target[i] = a.shape[i - offset]
    try:
        out = np.broadcast_to(a.array, tuple(target))
    except ValueError:
        raise ValueError(
            f"expand: cannot expand shape {a.shape} to {tuple(target)}"
        ) from None

    def backward(grad_output):
        return (unbroadcast(grad_output, a.shape),)

    return _view(Tensor._make(out, (a,), backward, "ExpandBackward"), a)


def index_key(key: Any) -> Any:
    """An indexing key with the arrays of the tensors in it."""
    if isinstance(key, Tensor):
        return key.array
    if isinstance(key, tuple):
        return tuple(k.array if isinstance(k, Tensor) else k for k in key)
    return key


def _is_basic(key: Any) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(
        isinstance(k, int | np.integer | slice) or k is None or k is Ellipsis
        for k in parts
    )


def _index_tensors(key: Any) -> tuple[tuple[Tensor, int], ...]:
    """``Tensor._make``'s saved: the tensors in a key, whose values pick elements."""
    parts = key if isinstance(key, tuple) else (key,)
    return saved(*(part for part in parts if isinstance(part, Tensor)))


def getitem(a: Tensor, key: Any) -> Tensor:
    index_saved = _index_tensors(key)
    key = index_key(key)
    try:
        out = a.array[key]
    except IndexError as error:
        raise IndexError(
            f"indexing a tensor of shape {a.shape} with {key!r}: {error}"
        ) from None
    basic = _is_basic(key)

    def backward(grad_output):
        grad = np.zeros_like(a.array)
        if basic:  # a view: each element is picked at most once
            grad[key] = grad_output
        else:  # fancy indexing may pick an element twice; add.at sums repeats
            np.add.at(grad, key, grad_output)
        return (grad,)

    if basic:
        out = out.copy() if isinstance(out, np.ndarray) else np.asarray(out)
    return Tensor._make(np.asarray(out), (a,), backward, "IndexBackward", index_saved)


def index_put(a: Tensor, key: Any, value: Any) -> Tensor:
    """``a`` with ``a[key] = value``, out of place: ``tensor[key] = value``'s twin."""
    index_saved = _index_tensors(key)
    key = index_key(key)
    out = a.array.copy()
    write_indexed(out, key, value)
    gets_gradient = isinstance(value, Tensor) and value._requires_grad

    def backward(grad_output):
        # overwritten elements pass no gradient to a; the value gets the
        # gradient of every element it was written to
        grad_a = grad_output.copy()
        grad_a[key] = 0
        if not gets_gradient:
            return grad_a, None
        grad_value = unbroadcast(grad_output[key], value.shape)
        return grad_a, grad_value.astype(value.dtype, copy=False)

    parents = (a, value) if isinstance(value, Tensor) else (a,)
    op = "CopySlices" if _is_basic(key) else "IndexPutBackward"  # PyTorch's names
    return Tensor._make(out, parents, backward, op, index_saved)


def write_indexed(array: np.ndarray, key: Any, value: Any) -> None:
    """``array[key] = value`` (``key`` from ``index_key``), with PyTorch's errors:
    a RuntimeError for a value that does not broadcast to the indexed elements,
    an IndexError for a bad index."""
    try:
        array[key] = value.array if isinstance(value, Tensor) else value
    except ValueError as error:
        try:
            indexed = list(array[key].shape)
        except (IndexError, ValueError):
            indexed = None
        if indexed is None or "could not convert" in str(error):
            raise ValueError(
                f"setting elements of a tensor of shape {array.shape}: {error}"
            ) from None
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(np.shape(value))} cannot be "
            f"broadcast to indexing result of shape {indexed} (setting elements of "
            f"a tensor of shape {list(array.shape)})"
        ) from None
    except IndexError as error:
        keys = key if isinstance(key, tuple) else (key,)
        if any(isinstance(k, np.ndarray) and k.dtype.kind not in "iub" for k in keys):
            raise IndexError(
                "tensors used as indices must be long, int, byte or bool tensors, "
                "received a tensor of another dtype; convert it with .long() or .bool()"
            ) from None
        raise IndexError(
            f"setting elements of a tensor of shape {list(array.shape)}: {error}"
        ) from None


def _check_same_shapes(
    tensors: Sequence[Tensor], skip_axis: int | None, op: str
) -> None:
    first = tensors[0].shape
    for i, t in enumerate(tensors[1:], start=1):
        other = t.shape
        same = len(other) == len(first) and all(
            s == o
            for d, (s, o) in enumerate(zip(first, other, strict=False))
            if d != skip_axis
        )
        if not same:
            detail = f"except in dimension {skip_axis}" if skip_axis is not None else ""
            raise ValueError(
                f"{op}: tensor 0 has shape {first} but tensor {i} has shape {other}; "
                f"all shapes must match {detail}".rstrip()
            )


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    (axis,) = normalize_dims(dim, tensors[0].ndim, "cat")
    _check_same_shapes(tensors, axis, "cat")
    out = np.concatenate([t.array for t in tensors], axis=axis)
    splits = np.cumsum([t.shape[axis] for t in tensors])[:-1]

    def backward(grad_output):  # each input gets back its own slice
        return tuple(np.split(grad_output, splits, axis=axis))

    return Tensor._make(out, tuple(tensors), backward, "CatBackward")


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    _check_same_shapes(tensors, None, "stack")
    (axis,) = normalize_dims(dim, tensors[0].ndim + 1, "stack")
    out = np.stack([t.array for t in tensors], axis=axis)

    def backward(grad_output):
        return tuple(np.take(grad_output, i, axis=axis) for i in range(len(tensors)))

    return Tensor._make(out, tuple(tensors), backward, "StackBackward")
