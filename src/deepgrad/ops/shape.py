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
            f"reshape: cannot view a tensor of shape {tuple(a.shape)} ({a.array.size} "
            f"elements) as shape {new_shape}"
        ) from None

    def backward(grad_output):
        return (grad_output.reshape(a.array.shape),)

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
            f"expand: cannot expand shape {tuple(a.shape)} to {tuple(target)}"
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
            f"indexing a tensor of shape {tuple(a.shape)} with {key!r}: {error}"
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
                f"{op}: tensor 0 has shape {tuple(first)} but tensor {i} has shape "
                f"{tuple(other)}; "
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


def numel(input: Tensor) -> int:
    """The number of elements: the product of the shape (1 for a 0-d tensor)."""
    return input.numel()


def is_contiguous(a: Tensor) -> bool:
    """Whether the values lie in memory in row-major (C) order, without gaps."""
    return bool(a.array.flags.c_contiguous)


def contiguous(a: Tensor) -> Tensor:
    """``a`` itself when it is C-contiguous, else a C-ordered copy in the graph
    (its gradient passes through unchanged)."""
    if a.array.flags.c_contiguous:
        return a

    def backward(grad_output):
        return (grad_output,)

    return Tensor._make(np.ascontiguousarray(a.array), (a,), backward, "CloneBackward")


def flip(a: Tensor, dims: Any, *more_dims: int) -> Tensor:
    """The elements in reverse order along ``dims`` (a sequence, or ints:
    ``x.flip(0, 1)``); the gradient is flipped back."""
    dims = _sizes((dims, *more_dims))
    axes = normalize_dims(dims, a.ndim, "flip")
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"flip: dims {list(dims)} name a dimension twice")

    def backward(grad_output):
        return (np.flip(grad_output, axes),)

    return Tensor._make(np.flip(a.array, axes).copy(), (a,), backward, "FlipBackward")


def repeat(a: Tensor, *sizes: Any) -> Tensor:
    """PyTorch's ``repeat``: the whole tensor tiled ``sizes[d]`` times along each
    dimension d (NumPy's ``tile``; ``repeat_interleave`` repeats each element).

    ``sizes`` may have more entries than ``a`` has dimensions: ``a`` is then seen
    with leading dimensions of size 1. Each input element appears once per tile,
    so its gradient is the sum of the output gradient over the tiles.
    """
    reps = _sizes(sizes)
    if len(reps) < a.ndim:
        raise RuntimeError(
            f"repeat: the number of repeat dims ({len(reps)}) can not be smaller than "
            f"the number of dimensions of the tensor ({a.ndim}); give one count for "
            "each dimension"
        )
    if any(r < 0 for r in reps):
        raise RuntimeError(f"repeat: repeat counts must be >= 0, received {list(reps)}")
    shape = (1,) * (len(reps) - a.ndim) + a.shape

    def backward(grad_output):
        # out[r0*s0 + i0, ...] = a[i0, ...]: split each dim into (tile, element)
        split = grad_output.reshape(
            [n for pair in zip(reps, shape, strict=True) for n in pair]
        )
        grad = split.sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return (grad.reshape(a.shape),)

    out = np.tile(a.array.reshape(shape), reps)
    return Tensor._make(out, (a,), backward, "RepeatBackward")


def repeat_interleave(a: Tensor, repeats: int, dim: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times along ``dim`` (NumPy's ``repeat``);
    without ``dim`` the flattened tensor. The gradient of an element is the sum
    over its copies."""
    if isinstance(repeats, Tensor) or not isinstance(repeats, int | np.integer):
        raise TypeError(
            "repeat_interleave: repeats must be an int (per-element counts are not "
            f"supported), received {type(repeats).__name__}"
        )
    if repeats < 0:
        raise RuntimeError(
            f"repeat_interleave: repeats must be >= 0, received {repeats}"
        )
    source = a.array.reshape(-1) if dim is None else a.array
    (axis,) = (0,) if dim is None else normalize_dims(dim, a.ndim, "repeat_interleave")
    out = np.repeat(source, repeats, axis=axis)

    def backward(grad_output):
        length = source.shape[axis]
        split = grad_output.reshape(
            source.shape[:axis] + (length, repeats) + source.shape[axis + 1 :]
        )
        return (split.sum(axis=axis + 1).reshape(a.shape),)

    return Tensor._make(out, (a,), backward, "RepeatInterleaveBackward")


def _narrow(a: Tensor, axis: int, start: int, stop: int) -> Tensor:
    """``a``'s elements start:stop along ``axis``, a view; zeros elsewhere in the
    gradient."""
    key = (slice(None),) * axis + (slice(start, stop),)

    def backward(grad_output):
        grad = np.zeros_like(a.array)
        grad[key] = grad_output
        return (grad,)

    return _view(Tensor._make(a.array[key], (a,), backward, "SplitBackward"), a)


def split(a: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces along ``dim``: of ``split_size`` each (the last one smaller), or
    of the given sizes, which must add up to the dimension's length. Views of ``a``."""
    (axis,) = normalize_dims(dim, a.ndim, "split")
    length = a.shape[axis]
    if isinstance(split_size_or_sections, int | np.integer):
        size = int(split_size_or_sections)
        if size <= 0 and not (size == 0 and length == 0):
            raise RuntimeError(f"split: split_size must be positive, received {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length or any(s < 0 for s in sizes):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {length} "
                f"(input tensor's size at dimension {dim}), but got "
                f"split_sizes={sizes}"
            )
    starts = np.cumsum([0, *sizes])
    return tuple(
        _narrow(a, axis, int(start), int(stop))
        for start, stop in zip(starts[:-1], starts[1:], strict=True)
    )


def chunk(a: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces of ceil(length / chunks) along ``dim`` (fewer
    when the length runs out, as PyTorch's)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be greater than 0, received {chunks}")
    (axis,) = normalize_dims(dim, a.ndim, "chunk")
    length = a.shape[axis]
    return split(a, max(-(-length // chunks), 1), axis)


def unbind(a: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, that dimension removed: ``tuple(a)`` for dim 0."""
    (axis,) = normalize_dims(dim, a.ndim, "unbind")
    return tuple(squeeze(piece, axis) for piece in split(a, 1, axis) if a.shape[axis])


def _check_index(index: Any, op: str) -> np.ndarray:
    if not isinstance(index, Tensor) or index.dtype != np.int64:
        received = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(
            f"{op}(): Expected dtype int64 for index, received {received}; "
            "build it with dg.tensor([...]) or convert it with .long()"
        )
    return index.array


def _along(index: np.ndarray, axis: int, op: str, size: int) -> tuple[np.ndarray, ...]:
    """The full index tuple of the elements ``index`` picks along ``axis``: the
    position itself in every other dimension (gather and scatter's addressing)."""
    if index.size and (index.min() < -size or index.max() >= size):
        bad = index.max() if index.max() >= size else index.min()
        raise RuntimeError(
            f"{op}(): index {bad} is out of bounds for dimension {axis} with size {size}"
        )
    positions = list(np.indices(index.shape, sparse=True))
    positions[axis] = index
    return tuple(positions)


def _check_index_shape(index: np.ndarray, a: Tensor, axis: int, op: str) -> None:
    if index.ndim != a.ndim:
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as input "
            f"tensor ({index.ndim} vs {a.ndim})"
        )
    if any(
        i > s
        for d, (i, s) in enumerate(zip(index.shape, a.shape, strict=True))
        if d != axis
    ):
        raise RuntimeError(
            f"{op}(): Size does not match: index {list(index.shape)} is larger than "
            f"input {list(a.shape)} apart from dimension {axis}"
        )


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j][k] = input[index[i][j][k]][j][k] for dim 0 (and likewise for the
    others): ``index``'s shape. Each picked element gets the gradient of every
    place it was picked for (summed: an index may repeat)."""
    index_array = _check_index(index, "gather")
    (axis,) = normalize_dims(dim, input.ndim, "gather")
    _check_index_shape(index_array, input, axis, "gather")
    key = _along(index_array, axis, "gather", input.shape[axis])
    out = input.array[key]

    def backward(grad_output):
        grad = np.zeros_like(input.array)
        np.add.at(grad, key, grad_output)
        return (grad,)

    return Tensor._make(out, (input,), backward, "GatherBackward")


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices ``index`` (1-D int64) along ``dim``, in that order; repeated
    slices send their gradients back summed."""
    index_array = _check_index(index, "index_select")
    if index_array.ndim > 1:
        raise RuntimeError(
            f"index_select(): Index is supposed to be a vector, received shape "
            f"{list(index.shape)}"
        )
    index_array = index_array.reshape(-1)
    (axis,) = normalize_dims(dim, input.ndim, "index_select")
    size = input.shape[axis] if input.ndim else 1
    if index_array.size and (index_array.min() < 0 or index_array.max() >= size):
        raise IndexError(
            f"index_select(): index out of range in self: indices {index_array.tolist()}"
            f" for dimension {dim} of size {size}"
        )
    if input.ndim == 0:
        out = input.array.reshape(1)[index_array].reshape(())
    else:
        out = np.take(input.array, index_array, axis=axis)

    def backward(grad_output):
        grad = np.zeros_like(input.array)
        if input.ndim == 0:
            return (grad + grad_output.sum(),)
        np.add.at(
            np.moveaxis(grad, axis, 0), index_array, np.moveaxis(grad_output, axis, 0)
        )
        return (grad,)

    return Tensor._make(out, (input,), backward, "IndexSelectBackward")


def _scatter_key(input, dim, index, src, op):
    index_array = _check_index(index, op)
    (axis,) = normalize_dims(dim, input.ndim, op)
    _check_index_shape(index_array, input, axis, op)
    if isinstance(src, Tensor):
        if src.ndim != index_array.ndim or any(
            i > s for i, s in zip(index_array.shape, src.shape, strict=True)
        ):
            raise RuntimeError(
                f"{op}(): Expected index {list(index_array.shape)} to be smaller than "
                f"src {list(src.shape)} in every dimension"
            )
        values = src.array[tuple(slice(0, n) for n in index_array.shape)]
    else:
        values = np.asarray(src, dtype=input.dtype)
    return _along(index_array, axis, op, input.shape[axis]), values


def _src_gradient(grad_output, key, src):
    """The gradient of scatter's ``src``: that of the places each element went to,
    zeros for the elements the index does not reach."""
    grad = np.zeros_like(src.array)
    reached = np.broadcast(*key).shape
    grad[tuple(slice(0, n) for n in reached)] = grad_output[key]
    return grad


def scatter(input: Tensor, dim: int, index: Tensor, src: Any) -> Tensor:
    """``input`` with out[index[i][j]][j] = src[i][j] for dim 0 (and likewise for
    the others); ``src`` may be a number. The overwritten elements pass no
    gradient to ``input``; ``src`` gets the gradient of where it was written. As
    in PyTorch, which of two values written to one place wins is unspecified."""
    key, values = _scatter_key(input, dim, index, src, "scatter")
    out = input.array.copy()
    out[key] = values

    def backward(grad_output):
        grad_input = grad_output.copy()
        grad_input[key] = 0
        if not isinstance(src, Tensor):
            return (grad_input,)
        return grad_input, _src_gradient(grad_output, key, src)

    parents = (input, src) if isinstance(src, Tensor) else (input,)
    return Tensor._make(out, parents, backward, "ScatterBackward")


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` with out[index[i][j]][j] += src[i][j] for dim 0 (repeats add up):
    ``input`` gets the whole gradient, ``src`` that of where each element went."""
    if not isinstance(src, Tensor):
        raise TypeError(
            f"scatter_add(): src must be a Tensor, received {type(src).__name__}"
        )
    key, values = _scatter_key(input, dim, index, src, "scatter_add")
    out = input.array.copy()
    np.add.at(out, key, values)

    def backward(grad_output):
        return grad_output, _src_gradient(grad_output, key, src)

    return Tensor._make(out, (input, src), backward, "ScatterAddBackward")


def _triangle(name: str, keep):
    def triangle(input: Tensor, diagonal: int = 0) -> Tensor:
        if input.ndim < 2:
            raise RuntimeError(
                f"{name}: input tensor must have at least 2 dimensions, received "
                f"shape {list(input.shape)}"
            )

        def backward(grad_output):  # the kept elements pass their gradient
            return (keep(grad_output, diagonal),)

        op = name.capitalize() + "Backward"
        return Tensor._make(keep(input.array, diagonal), (input,), backward, op)

    triangle.__name__ = triangle.__qualname__ = name
    return triangle


tril = _triangle("tril", np.tril)
tril.__doc__ = (
    "The lower triangle of the last two dimensions: elements on and below the "
    "``diagonal``-th diagonal (above it for diagonal > 0), zeros elsewhere."
)
triu = _triangle("triu", np.triu)
triu.__doc__ = (
    "The upper triangle of the last two dimensions: elements on and above the "
    "``diagonal``-th diagonal, zeros elsewhere."
)


def _diagonal_positions(rows: int, cols: int, offset: int):
    """Row and column of each element of the ``offset``-th diagonal of a
    rows x cols matrix (above the main one for offset > 0)."""
    length = max(min(rows + min(offset, 0), cols - max(offset, 0)), 0)
    steps = np.arange(length)
    return steps - min(offset, 0), steps + max(offset, 0)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal of the matrices in dims ``dim1`` and ``dim2``,
    as a new last dimension; the gradient goes back onto that diagonal."""
    if input.ndim < 2:
        raise RuntimeError(
            f"diagonal: expected a tensor with at least 2 dimensions, received shape "
            f"{list(input.shape)}"
        )
    d1, d2 = normalize_dims((dim1, dim2), input.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be the same, both are {d1}")
    rows, cols = _diagonal_positions(input.shape[d1], input.shape[d2], offset)
    out = np.moveaxis(input.array, (d1, d2), (-2, -1))[..., rows, cols]

    def backward(grad_output):
        grad = np.zeros_like(input.array)
        np.moveaxis(grad, (d1, d2), (-2, -1))[..., rows, cols] = grad_output
        return (grad,)

    return Tensor._make(out, (input,), backward, "DiagonalBackward")


_matrix_diagonal = diagonal  # diag's argument `diagonal` hides the function


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A vector made the ``diagonal``-th diagonal of a square matrix of zeros, or
    a matrix's ``diagonal``-th diagonal as a vector."""
    if input.ndim == 2:
        return _matrix_diagonal(input, diagonal)
    if input.ndim != 1:
        raise RuntimeError(
            f"diag: expected a 1-D or 2-D tensor, received shape {list(input.shape)}"
        )
    size = input.shape[0] + abs(diagonal)
    rows, cols = _diagonal_positions(size, size, diagonal)
    out = np.zeros((size, size), dtype=input.dtype)
    out[rows, cols] = input.array

    def backward(grad_output):
        return (grad_output[rows, cols],)

    return Tensor._make(out, (input,), backward, "DiagEmbedBackward")


def trace(input: Tensor) -> Tensor:
    """The sum of a matrix's main diagonal."""
    if input.ndim != 2:
        raise RuntimeError(
            f"trace: expected a matrix (2-D tensor), received shape {list(input.shape)}"
        )
    return diagonal(input).sum()
