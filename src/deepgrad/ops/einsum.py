"""einsum: Einstein summation in torch.einsum's equation language, and its gradient.

An equation names every dimension of every operand with a letter, and names
the output's::

    out[i, k] = sum_j A[i, j] B[j, k]          "ij,jk->ik"

In general the output at one index is the sum, over every letter missing from
the output, of the product of the operands' elements at those letters. With no
``->`` (implicit mode) the output is the letters that appear exactly once,
sorted (A-Z before a-z). ``...`` stands for any number of dimensions,
broadcast between operands as ``+`` does, and comes first in an implicit output.
A letter twice in one operand reads its diagonal ("ii->i"); a letter of size 1
broadcasts against the other operands' size.

The gradient (vector-Jacobian product): the output is linear in each operand,
so with G = dL/d(out),

    dL/dA_k[labels of A_k] = sum over the other letters of G[out] prod_{j != k} A_j

another einsum, from G and the other operands to A_k's letters. Three details:
a letter only A_k has, summed out of the output, cannot be an einsum output, but
every element along it received the same gradient, so the gradient is broadcast
over it; a letter repeated in A_k (a diagonal) sends the gradient onto the
diagonal, zeros elsewhere; a dimension broadcast from size 1 receives the sum
of the gradient over the copies.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from deepgrad.ops._common import saved
from deepgrad.tensor import Tensor

# torch's letter order: an implicit output sorts A-Z before a-z, and the sublist
# form numbers the letters 0..51 in this order
LETTERS = string.ascii_uppercase + string.ascii_lowercase
ELLIPSIS = "..."


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Sum of products of the operands' elements, as ``equation`` says (torch.einsum).

    Parameters
    ----------
    equation : str
        Subscripts of each operand separated by commas, optionally ``->`` and the
        output's: letters a-z and A-Z, ``...`` for broadcast dimensions, spaces
        ignored. torch's sublist form, ``einsum(a, [0, 1], b, [1, 2], [0, 2])``
        (integers 0-51 and ``...``), works too.
    *operands : Tensor
        One tensor per operand in the equation, or a single list/tuple of them.
        All of one dtype (convert with ``.float()`` or ``.double()``).

    Returns
    -------
    Tensor
        A new tensor (never a view of an operand), in the graph when an operand
        requires grad.

    Raises
    ------
    ValueError
        The equation is malformed, or does not fit the operands' number or shapes.
    TypeError
        An operand is not a Tensor, or the operands' dtypes differ.

    Example
    -------
    >>> q, k = dg.randn(2, 4, 5, 8), dg.randn(2, 4, 6, 8)
    >>> dg.einsum("bhqd,bhkd->bhqk", q, k).shape  # attention scores
    dg.Size([2, 4, 5, 6])
    """
    if not isinstance(equation, str):
        equation, operands = _from_sublists((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    _check_operands(operands)
    subscripts, output, sizes = _resolve(*_parse(equation, len(operands)), operands)

    # dimensions broadcast from size 1 are dropped: the operand does not vary
    # along them, which is what broadcasting means
    arrays = [
        operand.array.reshape([sizes[label] for label in labels])
        for operand, labels in zip(operands, subscripts, strict=True)
    ]
    out = _contract(subscripts, output, arrays)
    if any(np.may_share_memory(out, array) for array in arrays):
        out = out.copy()  # "ij->ji" is a view in NumPy; an op's result owns its array

    def backward(grad_output):
        return tuple(
            _operand_gradient(k, grad_output) if operand._requires_grad else None
            for k, operand in enumerate(operands)
        )

    def _operand_gradient(k: int, grad_output: np.ndarray) -> np.ndarray:
        labels = subscripts[k]
        others = [subscripts[j] for j in range(len(operands)) if j != k]
        letters = list(dict.fromkeys(labels))  # each of A_k's letters once
        # letters G or another operand has: the einsum can produce them
        reached = [a for a in letters if a in output or any(a in s for s in others)]
        grad = _contract(
            [output, *others],
            "".join(reached),
            [grad_output, *(arrays[j] for j in range(len(operands)) if j != k)],
        )
        # letters only A_k has: each element along them got the same gradient
        grad = grad.reshape([sizes[a] if a in reached else 1 for a in letters])
        grad = np.broadcast_to(grad, [sizes[a] for a in letters])
        if len(letters) < len(labels):  # a repeated letter: onto the diagonal
            full = np.zeros(arrays[k].shape, dtype=grad.dtype)
            _diagonal(full, labels, letters)[...] = grad
            grad = full
        # back to the operand's shape: a broadcast size-1 dimension was summed over
        # by the einsum, since the letter was dropped from this operand
        return grad.reshape(operands[k].shape)

    reads = [
        operand
        for j, operand in enumerate(operands)
        if any(other._requires_grad for i, other in enumerate(operands) if i != j)
    ]
    return Tensor._make(out, tuple(operands), backward, "EinsumBackward", saved(*reads))


def _contract(
    subscripts: Sequence[str], output: str, arrays: Sequence[np.ndarray]
) -> np.ndarray:
    """NumPy's einsum; with two operands or more, along the path its optimizer
    picks (pairwise products through BLAS, as torch contracts)."""
    equation = ",".join(subscripts) + "->" + output
    return np.asarray(np.einsum(equation, *arrays, optimize=len(arrays) > 1))


def _diagonal(array: np.ndarray, labels: str, letters: list[str]) -> np.ndarray:
    """A writable view of ``array``'s diagonal: one axis per letter, whose stride
    is the sum of the strides of the axes that letter names ("ii": stride n + 1)."""
    strides = [
        sum(
            stride
            for label, stride in zip(labels, array.strides, strict=True)
            if label == a
        )
        for a in letters
    ]
    shape = [array.shape[labels.index(a)] for a in letters]
    return np.lib.stride_tricks.as_strided(array, shape, strides, writeable=True)


def _check_operands(operands: Sequence[Any]) -> None:
    if not operands:
        raise ValueError(
            "einsum(): must specify the equation string and at least one operand, "
            'e.g. einsum("ij,jk->ik", a, b)'
        )
    for position, operand in enumerate(operands):
        if not isinstance(operand, Tensor):
            raise TypeError(
                f"einsum(): operand {position} must be a Tensor, received "
                f"{type(operand).__name__}; wrap it with dg.tensor(...)"
            )
    dtypes = list(dict.fromkeys(operand.array.dtype for operand in operands))
    if len(dtypes) > 1:  # as matmul: no silent promotion inside a product
        raise TypeError(
            "einsum(): expected all operands to have the same dtype, received "
            f"{', '.join(map(str, dtypes))}; convert them with .float() or .double()"
        )


def _parse(equation: str, count: int) -> tuple[list[list[str]], list[str] | None]:
    """Each operand's subscripts as a list of letters and ``...``; the output's,
    or None in implicit mode. Spaces are skipped; anything else but letters,
    ``,``, one ``->`` and whole ``...`` is an error, as in torch."""
    inputs: list[list[str]] = [[]]
    output: list[str] | None = None
    current = inputs[0]
    position = 0
    while position < len(equation):
        char = equation[position]
        if char == " ":
            pass
        elif char in LETTERS:
            current.append(char)
        elif char == "." and equation.startswith(ELLIPSIS, position):
            if ELLIPSIS in current:
                raise _error(
                    f"found '.' for {_where(output, inputs)} for which an ellipsis "
                    "was already found; an operand may have one '...'"
                )
            current.append(ELLIPSIS)
            position += 2
        elif char == ".":
            raise _error(
                f"found '.' for {_where(output, inputs)} that is not part of any "
                "ellipsis; write '...'"
            )
        elif char == "," and output is None:
            current = []
            inputs.append(current)
        elif equation.startswith("->", position) and output is None:
            output = current = []
            position += 1
        else:
            raise _error(
                f"invalid subscript given at index {position} in the equation "
                f"string {equation!r}, subscripts must be in [a-zA-Z]"
            )
        position += 1
    if len(inputs) != count:
        relation = "fewer" if count < len(inputs) else "more"
        raise _error(
            f"{relation} operands were provided than specified in the equation "
            f"{equation!r} ({count} given, {len(inputs)} in the equation)"
        )
    return inputs, output


def _where(output: list[str] | None, inputs: list[list[str]]) -> str:
    return "the output" if output is not None else f"operand {len(inputs) - 1}"


def _resolve(
    inputs: list[list[str]], output: list[str] | None, operands: Sequence[Tensor]
) -> tuple[list[str], str, dict[str, int]]:
    """The subscripts NumPy's einsum gets: ``...`` spelled out as one letter per
    dimension, each operand's size-1 dimensions that broadcast left out; the
    output's; and every letter's size.

    Letters are renamed in order of appearance (NumPy has 52 of them and an
    equation may use them all plus ``...``'s dimensions).
    """
    ellipsis_ndims = [
        _ellipsis_ndim(labels, o, k)
        for k, (labels, o) in enumerate(zip(inputs, operands, strict=True))
    ]
    # "...": one label per dimension, shared from the right, as broadcasting aligns
    ellipsis = [f"...{d}" for d in range(max(ellipsis_ndims, default=0))]

    def spelled(labels: list[str], ndim: int) -> list[str]:
        at = labels.index(ELLIPSIS) if ELLIPSIS in labels else len(labels)
        covered = ellipsis[len(ellipsis) - ndim :] if ndim else []
        return labels[:at] + covered + labels[at + 1 :]

    full = [
        spelled(labels, n) for labels, n in zip(inputs, ellipsis_ndims, strict=True)
    ]
    sizes = _sizes(full, operands)

    if output is None:  # implicit: "...", then the letters seen once, sorted
        counts: dict[str, int] = {}
        for labels in full:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        once = [a for a in LETTERS if counts.get(a) == 1]
        output_labels = ellipsis + once
    else:
        output_labels = _explicit_output(output, full, ellipsis)

    # a size-1 dimension against a larger size broadcasts: drop it from the operand
    kept = [
        [
            label
            for label, n in zip(labels, o.shape, strict=True)
            if not (n == 1 and sizes[label] != 1)
        ]
        for labels, o in zip(full, operands, strict=True)
    ]
    labels_used = list(dict.fromkeys(a for labels in full for a in labels))
    if len(labels_used) > len(LETTERS):
        raise _error(
            f"the equation uses {len(labels_used)} distinct dimensions ('...' "
            "counting one per dimension); NumPy's einsum handles at most 52"
        )
    names = dict(zip(labels_used, LETTERS, strict=False))
    subscripts = ["".join(names[a] for a in labels) for labels in kept]
    return (
        subscripts,
        "".join(names[a] for a in output_labels),
        {names[a]: n for a, n in sizes.items()},
    )


def _ellipsis_ndim(labels: list[str], operand: Tensor, k: int) -> int:
    named = len(labels) - (ELLIPSIS in labels)
    if ELLIPSIS not in labels and named != operand.ndim:
        raise _error(
            f"the number of subscripts in the equation ({named}) does not match the "
            f"number of dimensions ({operand.ndim}) for operand {k} of shape "
            f"{tuple(operand.shape)} and no ellipsis was given"
        )
    if named > operand.ndim:
        raise _error(
            f"the number of subscripts in the equation ({named}) is more than the "
            f"number of dimensions ({operand.ndim}) for operand {k} of shape "
            f"{tuple(operand.shape)}"
        )
    return operand.ndim - named


def _sizes(full: list[list[str]], operands: Sequence[Tensor]) -> dict[str, int]:
    """Every label's size: equal within an operand, equal or 1 between operands."""
    sizes: dict[str, int] = {}
    for k, (labels, operand) in enumerate(zip(full, operands, strict=True)):
        own: dict[str, int] = {}
        for label, n in zip(labels, operand.shape, strict=True):
            if own.setdefault(label, n) != n:
                raise _error(
                    f"subscript {label} is repeated for operand {k} but the sizes "
                    f"don't match, {own[label]} != {n} (shape {tuple(operand.shape)}); "
                    "a repeated subscript reads a diagonal, which needs equal sizes"
                )
        for label, n in own.items():
            seen = sizes.setdefault(label, n)
            if seen != n and 1 not in (seen, n):
                what = (
                    f"dimension {label[3:]} covered by ellipsis"
                    if label.startswith(ELLIPSIS)
                    else f"subscript {label}"
                )
                raise _error(
                    f"{what} has size {n} for operand {k} (shape "
                    f"{tuple(operand.shape)}) which does not broadcast with "
                    f"previously seen size {seen}; sizes must be equal or 1"
                )
            sizes[label] = n if seen == 1 else seen
    return sizes


def _explicit_output(
    output: list[str], full: list[list[str]], ellipsis: list[str]
) -> list[str]:
    seen = {label for labels in full for label in labels}
    labels: list[str] = []
    for label in output:
        if label != ELLIPSIS and label not in seen:
            raise _error(
                f"output subscript {label} does not appear in the equation for any "
                "input operand; an output dimension must come from an input"
            )
        if label in labels:
            raise _error(
                f"output subscript {label} appears more than once in the output; "
                "for a diagonal, repeat the subscript in an input instead"
            )
        labels.append(label)
    at = labels.index(ELLIPSIS) if ELLIPSIS in labels else None
    if at is None:  # the dimensions "..." covers are summed over
        return labels
    return labels[:at] + ellipsis + labels[at + 1 :]


def _from_sublists(arguments: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """torch's sublist form, ``einsum(a, [0, 1], b, [1, 2], [0, 2])``, as an
    equation: integer n is the n-th of LETTERS, Ellipsis is ``...``."""
    output = arguments[-1] if len(arguments) % 2 else None
    if output is not None:
        arguments = arguments[:-1]
    operands, sublists = arguments[0::2], arguments[1::2]
    if not operands:
        raise _error(
            "the sublist form needs one subscript list after each operand: "
            "einsum(a, [0, 1], b, [1, 2], [0, 2])"
        )

    def letters(sublist: Any) -> str:
        if not isinstance(sublist, list | tuple):
            raise TypeError(
                f"einsum(): expected a list of subscripts, received "
                f"{type(sublist).__name__}"
            )
        for n in sublist:
            if n is not Ellipsis and not (isinstance(n, int) and 0 <= n < 52):
                raise _error(
                    f"subscript {n!r} in subscript list is not within the valid "
                    "range [0, 52)"
                )
        return "".join(ELLIPSIS if n is Ellipsis else LETTERS[n] for n in sublist)

    equation = ",".join(letters(s) for s in sublists)
    if output is not None:
        equation += "->" + letters(output)
    return equation, operands


def _error(message: str) -> ValueError:
    return ValueError(f"einsum(): {message}")
