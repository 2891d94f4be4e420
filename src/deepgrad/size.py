"""``dg.Size``, what ``Tensor.shape`` and ``Tensor.size()`` return: torch.Size.

A tuple of ints: it compares, hashes, indexes and unpacks as that tuple
(``x.shape == (2, 3)``; not equal to the list ``[2, 3]``, as a tuple is not),
and NumPy takes it wherever it takes a shape. It prints as torch prints a shape,
with deepgrad's name: ``dg.Size([2, 3])``, as dtypes print ``dg.float32`` (the
mechanical translation of torch's ``torch.Size([2, 3])``). ``+`` with a tuple and
``*`` with an int give a Size; ``numel()`` is the number of elements. One difference
from torch: a slice (``shape[1:]``) is a plain tuple. A Python ``__getitem__`` would
make every ``shape[0]`` cost ~150 ns more (215 instead of 65 ns), and shapes are
indexed on every op.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from typing import Any, SupportsIndex

__all__ = ["Size"]

_tuple_new = tuple.__new__


class Size(tuple[int, ...]):
    """The sizes of a tensor's dimensions, as ``torch.Size``.

    Example
    -------
    >>> shape = dg.zeros(2, 3, 4).shape
    >>> shape, shape[1:], shape.numel(), shape == (2, 3, 4)
    (dg.Size([2, 3, 4]), (3, 4), 24, True)
    """

    __slots__ = ()

    def __new__(cls, sizes: Iterable[Any] = ()) -> Size:
        return _tuple_new(cls, _checked(sizes))

    def __repr__(self) -> str:
        return f"dg.Size({list(self)})"

    def numel(self) -> int:
        """The number of elements of a tensor of this shape (1 for ``Size([])``)."""
        return math.prod(self)

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, tuple):
            return NotImplemented
        return _tuple_new(Size, tuple.__add__(self, _checked(other, len(self))))

    def __radd__(self, other: Any) -> Any:
        # (4,) + size: Python asks the subclass first
        if not isinstance(other, tuple):
            return NotImplemented
        return _tuple_new(Size, tuple.__add__(_checked(other), self))

    def __mul__(self, count: SupportsIndex) -> Size:
        return _tuple_new(Size, tuple.__mul__(self, count))

    __rmul__ = __mul__

    def __reduce__(self) -> tuple[type[Size], tuple[tuple[int, ...]]]:
        return (Size, (tuple(self),))


def _checked(sizes: Iterable[Any], start: int = 0) -> tuple[int, ...]:
    """``sizes`` as ints, or torch's TypeError naming the first item that is not
    one (``start`` numbers the items after a Size's own)."""
    values = []
    for position, size in enumerate(sizes, start):
        try:
            values.append(operator.index(size))
        except TypeError:
            raise TypeError(
                f"dg.Size() takes an iterable of 'int' (item {position} is "
                f"{type(size).__name__!r})"
            ) from None
    return tuple(values)
