"""The Tensor, its creation functions, gradient-recording switches and the backward pass.

A Tensor wraps a NumPy array. When an op is applied to tensors that require
gradients (and recording is on), the result remembers its parents and a
``backward`` function: the op's vector-Jacobian product, which maps the gradient
of the loss with respect to the output (``grad_output``) to the gradients with
respect to each input. ``Tensor.backward`` walks that graph in reverse
topological order. The ops themselves live in :mod:`deepgrad.ops`, each forward
next to its backward.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

float32 = np.float32
float64 = np.float64
float16 = np.float16
int32 = np.int32
int64 = np.int64
bool_ = np.bool_
long = np.int64
double = np.float64

_DEFAULT_FLOAT = np.dtype(np.float32)

BackwardFn = Callable[[np.ndarray], Sequence["np.ndarray | None"]]
_new_tensor = object.__new__
_creation_order = itertools.count()  # gives every recorded op's output its _seq


# ---------------------------------------------------------------------------
# Global state: gradient recording, anomaly detection, the random generator
# ---------------------------------------------------------------------------
class _GradMode:
    enabled = True
    detect_anomaly = False


def is_grad_enabled() -> bool:
    """Return True when operations are being recorded for ``backward()``."""
    return _GradMode.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn gradient recording on or off, as a context manager or decorator."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.previous = _GradMode.enabled
        _GradMode.enabled = self.mode  # also works as a plain function call

    def __enter__(self) -> None:
        _GradMode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self.previous


class no_grad(contextlib.ContextDecorator):
    """Disable gradient recording inside a ``with`` block (or a decorated function).

    Used for the parameter update of gradient descent, where the update itself
    must not become part of the graph::

        with dg.no_grad():
            W -= lr * W.grad
    """

    def __enter__(self) -> None:
        self.previous = _GradMode.enabled
        _GradMode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self.previous


class enable_grad(contextlib.ContextDecorator):
    """Re-enable gradient recording inside a ``no_grad`` block."""

    def __enter__(self) -> None:
        self.previous = _GradMode.enabled
        _GradMode.enabled = True

    def __exit__(self, *exc: object) -> None:
        _GradMode.enabled = self.previous


_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed deepgrad's one module-level NumPy Generator (used by randn, init, dropout).

    The numbers differ from PyTorch's for the same seed: NumPy and PyTorch use
    different generators. To start both from the same weights, copy them.
    """
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed expects an integer seed, received: {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The Generator that ``manual_seed`` seeds."""
    return _generator


def get_default_dtype() -> np.dtype:
    return _DEFAULT_FLOAT


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------
def _as_dtype(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"Expected a dtype such as dg.float32 or dg.float64, received: {dtype!r}"
        ) from None


def _to_array(data: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """Convert Python data to an ndarray with PyTorch's default dtypes.

    Python floats become float32 and Python ints int64, as ``torch.tensor``
    does; NumPy arrays keep their dtype unless one is given.
    """
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray):
        array = data
    else:
        array = np.asarray(data)
        if array.dtype == np.float64 and not _contains_numpy_float64(data):
            array = array.astype(_DEFAULT_FLOAT)
        elif array.dtype.kind in "iu" and array.dtype != np.int64:
            array = array.astype(np.int64)
        elif array.dtype == object or array.dtype.kind in "USV":
            raise TypeError(
                f"Cannot build a tensor from data of type {type(data).__name__} with "
                f"elements of dtype {array.dtype}: use numbers or nested lists of numbers"
            )
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


_CONSTANTS: dict[float, dict[np.dtype, np.ndarray]] = {}


def constant(value: float, dtype: np.dtype) -> np.ndarray:
    """``value`` as a cached, read-only 0-d array of ``dtype``.

    A ufunc given a Python number spends about 0.2 us deciding its dtype (NumPy 2's
    "weak" scalars); given a 0-d array of the other operand's dtype it computes the
    same values (the number is rounded to that dtype either way) without that
    cost. On the lab's 4-element arrays a whole ufunc call costs about 0.2 us, so
    the hot ops take their constants from here, and ``backward()`` its seed.
    """
    if value == 0 and math.copysign(1.0, value) < 0:  # -0.0 == 0.0: same dict key
        return np.array(value, dtype=dtype)
    try:
        return _CONSTANTS[value][dtype]
    except KeyError:
        if len(_CONSTANTS) > 1024:  # arbitrary user numbers: keep the cache bounded
            _CONSTANTS.clear()
        cached = np.array(value, dtype=dtype)
        if np.isinf(cached) and math.isfinite(value):
            return cached  # overflowed: uncached, so that every use warns (or raises)
        cached.flags.writeable = False
        _CONSTANTS.setdefault(value, {})[dtype] = cached
        return cached


def _contains_numpy_float64(data: Any) -> bool:
    if isinstance(data, np.ndarray | np.float64):
        return True
    if isinstance(data, list | tuple) and data:
        return _contains_numpy_float64(data[0])
    return False


# ---------------------------------------------------------------------------
# The Tensor
# ---------------------------------------------------------------------------
def _freed_backward(grad_output: np.ndarray) -> Sequence[np.ndarray | None]:
    raise RuntimeError(
        "Trying to backward through the graph a second time: its saved values were "
        "freed by the first backward(). Call backward(retain_graph=True) the first "
        "time if you need to go back through the same graph again."
    )


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Parameters
    ----------
    data : array_like
        The values. Python floats give float32 and ints int64, as in PyTorch.
    requires_grad : bool
        Whether ``backward()`` should compute a gradient for this tensor.
    dtype : dtype, optional
        ``dg.float32`` (default for floats) or ``dg.float64``, among others.

    Example
    -------
    >>> import deepgrad as dg
    >>> x = dg.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = (
        "data",
        "grad",
        "_requires_grad",
        "_parents",
        "_backward",
        "_op",
        "_retains_grad",
        "_seq",
        "_pending",
        "__weakref__",
    )
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected op

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None
    ) -> None:
        self.data: np.ndarray = _to_array(data, _as_dtype(dtype))
        self.grad: Tensor | None = None
        self._parents: tuple[Tensor, ...] = ()
        self._backward: BackwardFn | None = None
        self._op = ""
        self._retains_grad = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # -- graph construction used by every op ---------------------------------
    @staticmethod
    def _make(
        data: np.ndarray,
        parents: tuple[Tensor, ...],
        backward: BackwardFn,
        op: str,
    ) -> Tensor:
        """Wrap an op's result; record the graph edge when a parent needs a gradient."""
        out = _new_tensor(Tensor)
        # NumPy gives scalars, not 0-d arrays, for 0-d results
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out._op = op
        out._retains_grad = False
        out._requires_grad = False
        out._parents = ()
        out._backward = None
        if _GradMode.enabled:
            # a plain loop, not any(): this is the hottest line of the engine
            for parent in parents:
                if parent._requires_grad:
                    out._requires_grad = True
                    out._parents = parents
                    out._backward = backward
                    out._seq = next(_creation_order)
                    out._pending = None  # the gradient summed during backward
                    break
        if _GradMode.detect_anomaly:
            _check_finite(out.data, op, "forward")
        return out

    # -- attributes ------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad can only be changed on leaf tensors (tensors not made "
                "by an op). Use .detach() to get a leaf copy of this value."
            )
        if value and self.data.dtype.kind not in "fc":
            raise RuntimeError(
                "Only floating point tensors can require gradients; this one has dtype "
                f"{self.data.dtype}. Convert it first with .float() or .double()."
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by a recorded op."""
        return self._backward is None

    @property
    def grad_fn(self) -> str | None:
        """The name of the op that produced this tensor (None for leaves)."""
        return None if self._backward is None else f"{self._op}"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.data.shape if dim is None else self.data.shape[dim]

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after ``backward()``.

        Lets a learner read the error signal of a hidden layer, e.g. dL/dZ1.
        """
        if self.is_leaf:
            return
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def detach(self) -> Tensor:
        """A new leaf tensor sharing this tensor's data, outside the graph."""
        return Tensor(self.data)

    def numpy(self) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError(
                "Can't call numpy() on a tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with exactly one element; this one has shape "
                f"{self.shape} ({self.data.size} elements). Reduce it first, e.g. "
                "with .sum() or .mean()."
            )
        return self.data.item()

    def clone(self) -> Tensor:
        from deepgrad import ops

        return ops.clone(self)

    # -- conversions (differentiable casts live in ops) -------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None:
            return self.data.astype(dtype)
        return self.data

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be an index")
        return int(self.data.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"The truth value of a tensor with {self.data.size} elements is "
                "ambiguous; use .any() or .all()."
            )
        return bool(self.data.item())

    __hash__ = object.__hash__

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __repr__(self) -> str:
        return _format_tensor(self)

    # -- in-place updates ----------------------------------------------------------
    def _check_inplace(self, op: str) -> None:
        """Refuse an in-place op that would corrupt a recorded graph.

        Callers test ``self._requires_grad and _GradMode.enabled`` before calling
        (two attribute reads instead of a call: the update loop's hot path).
        """
        if not _GradMode.enabled:
            return
        if self._requires_grad and self.is_leaf:
            raise RuntimeError(
                f"a leaf tensor that requires grad is being used in an in-place "
                f"operation ({op}). Wrap parameter updates in `with dg.no_grad():`."
            )
        if self._requires_grad:
            raise RuntimeError(
                f"in-place operation {op} on a tensor that is part of a recorded graph "
                "is not supported: its old value may be needed by backward(). "
                "Use the out-of-place form (y = y + 1) instead."
            )

    def _inplace(self, op: str, ufunc: np.ufunc, other: Any) -> Tensor:
        if self._requires_grad and _GradMode.enabled:
            self._check_inplace(op)
        value = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(
                self.data, value, out=self.data
            )  # casting "same_kind": int += float fails
        except ValueError as error:
            raise ValueError(
                f"in-place {op}: cannot write a result of shape "
                f"{np.broadcast_shapes(self.shape, np.shape(value))} into a tensor of "
                f"shape {self.shape} ({error})"
            ) from None
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace("+=", np.add, other)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace("-=", np.subtract, other)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace("*=", np.multiply, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace("/=", np.divide, other)

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        if alpha != 1.0:
            other = (other.data if isinstance(other, Tensor) else other) * alpha
        return self._inplace("add_", np.add, other)

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        if alpha != 1.0:
            other = (other.data if isinstance(other, Tensor) else other) * alpha
        return self._inplace("sub_", np.subtract, other)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace("mul_", np.multiply, other)

    def div_(self, other: Any) -> Tensor:
        return self._inplace("div_", np.divide, other)

    def zero_(self) -> Tensor:
        if self._requires_grad and _GradMode.enabled:
            self._check_inplace("zero_")
        self.data.fill(0)
        return self

    def fill_(self, value: float) -> Tensor:
        if self._requires_grad and _GradMode.enabled:
            self._check_inplace("fill_")
        self.data[...] = value
        return self

    def copy_(self, source: Any) -> Tensor:
        if self._requires_grad and _GradMode.enabled:
            self._check_inplace("copy_")
        value = source.data if isinstance(source, Tensor) else np.asarray(source)
        if np.broadcast_shapes(value.shape, self.shape) != self.shape:
            raise ValueError(
                f"copy_: cannot copy a source of shape {value.shape} into a tensor of "
                f"shape {self.shape}"
            )
        self.data[...] = value
        return self

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:
        if self._requires_grad and _GradMode.enabled:
            self._check_inplace("clamp_")
        np.clip(self.data, min, max, out=self.data)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        if self._requires_grad and _GradMode.enabled:
            self._check_inplace("uniform_")
        self.data[...] = _generator.uniform(a, b, size=self.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        if self._requires_grad and _GradMode.enabled:
            self._check_inplace("normal_")
        self.data[...] = _generator.normal(mean, std, size=self.shape)
        return self

    # -- the backward pass -----------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that needs one.

        Gradients are *added* to each leaf's ``.grad`` (zero them between steps).
        The graph's saved values are freed afterwards unless ``retain_graph``.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no graph. "
                "Create the inputs you want gradients for with requires_grad=True "
                "(and don't compute the loss inside dg.no_grad())."
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient is only defined for a scalar "
                    f"output; this tensor has shape {self.shape}. Reduce it first "
                    "(e.g. loss.mean()) or pass backward(gradient) of the same shape."
                )
            seed = constant(1.0, self.data.dtype)  # read-only: no backward writes it
            if self.data.ndim:
                seed = seed.reshape(self.data.shape)
        else:
            seed = _to_array(gradient, self.data.dtype)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(gradient): gradient has shape {seed.shape} but the "
                    f"tensor has shape {self.shape}; they must match."
                )
        _run_backward(self, seed, retain_graph)


def _run_backward(root: Tensor, seed: np.ndarray, retain_graph: bool) -> None:
    """Send ``seed`` back from ``root`` through the graph, by the chain rule.

    A node may pass its gradient on only once all the gradient flowing into it
    has been summed, i.e. after every op that used it. An op's output is always
    created after its inputs, so the creation order (``_seq``, a counter set in
    ``_make``) is a topological order: the nodes wait in a heap, newest first,
    and each node's incoming gradients are summed in its ``_pending`` slot until
    it is popped. A leaf adds each incoming gradient to its ``.grad`` at once,
    as PyTorch's AccumulateGrad does. Iterative, so a deep graph cannot hit
    Python's recursion limit.
    """
    if root._backward is None:  # backward() on a leaf: its gradient is the seed
        _accumulate(root, seed)
        return
    anomaly = _GradMode.detect_anomaly
    root._pending = seed
    waiting = [(-root._seq, root)]
    try:
        while waiting:
            node = heappop(waiting)[1]
            grad_output = node._pending
            node._pending = None
            if node._retains_grad:
                _accumulate(node, grad_output)
            input_grads = node._backward(grad_output)
            if anomaly:
                for grad in input_grads:
                    if grad is not None:
                        _check_finite(grad, node._op, "backward")
            # zip without strict=: the keyword alone costs ~0.1 us a node, and
            # every backward returns one gradient per parent
            for parent, grad in zip(node._parents, input_grads):  # noqa: B905
                if grad is None or not parent._requires_grad:
                    continue
                if parent._backward is None:  # a leaf: AccumulateGrad
                    leaf_grad = parent.grad
                    if leaf_grad is None:
                        _accumulate(parent, grad)
                    else:  # _accumulate's in-place branch, inline: 6 leaves a step
                        leaf = leaf_grad.data
                        np.add(leaf, grad, out=leaf, casting="unsafe")
                    continue
                pending = parent._pending
                if pending is None:
                    parent._pending = grad
                    heappush(waiting, (-parent._seq, parent))
                else:  # out-of-place: `grad` may alias another tensor's gradient
                    parent._pending = pending + grad
            if not retain_graph:
                node._parents = ()
                node._backward = _freed_backward
    finally:  # after an error, nothing may stay pending for the next backward
        for _, node in waiting:
            node._pending = None


def _accumulate(node: Tensor, grad: np.ndarray) -> None:
    if node.grad is None:
        # a private, writable copy: `grad` may be a broadcast view or shared
        leaf_grad = _new_tensor(Tensor)
        leaf_grad.data = np.array(grad, dtype=node.data.dtype, copy=True)
        leaf_grad.grad = None
        leaf_grad._requires_grad = False
        leaf_grad._parents = ()
        leaf_grad._backward = None
        leaf_grad._op = ""
        leaf_grad._retains_grad = False
        node.grad = leaf_grad
    else:  # in place, as PyTorch accumulates
        np.add(node.grad.data, grad, out=node.grad.data, casting="unsafe")


def _check_finite(array: np.ndarray, op: str, phase: str) -> None:
    if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        bad = "nan" if np.any(np.isnan(array)) else "inf"
        raise FloatingPointError(
            f"detect_anomaly: the {phase} of '{op}' produced {bad} values. "
            + (
                "Check its inputs (e.g. log of 0, division by 0, overflow of exp)."
                if phase == "forward"
                else "Gradients exploded or hit a singularity here: a lower learning "
                "rate or a numerically stable op (e.g. BCEWithLogitsLoss) may help."
            )
        )


class detect_anomaly(contextlib.ContextDecorator):
    """Raise at the first op whose forward or backward produces NaN or inf, naming it.

    Example
    -------
    >>> with dg.autograd.detect_anomaly():
    ...     loss = model(x).log().sum()   # raises if log(0) appears
    ...     loss.backward()
    """

    def __enter__(self) -> None:
        self.previous = _GradMode.detect_anomaly
        _GradMode.detect_anomaly = True

    def __exit__(self, *exc: object) -> None:
        _GradMode.detect_anomaly = self.previous


# ---------------------------------------------------------------------------
# Printing like PyTorch
# ---------------------------------------------------------------------------
def _format_tensor(tensor: Tensor) -> str:
    array = tensor.data
    options: dict[str, Any] = {"separator": ", ", "prefix": "tensor("}
    if array.dtype.kind == "f":
        finite = array[np.isfinite(array)]
        integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        large = finite.size and (
            np.abs(finite).max() >= 1e8
            or (0 < np.abs(finite[finite != 0]).min(initial=1) < 1e-4)
        )
        if large:
            options["formatter"] = {"float_kind": lambda v: f"{v:.4e}"}
        elif not integral:
            options.update(precision=4, floatmode="fixed")
        else:
            options["formatter"] = {"float_kind": _format_integral_float}
    body = np.array2string(array, threshold=1000, edgeitems=3, **options)
    suffix = []
    if array.dtype not in (np.dtype(np.float32), np.dtype(np.int64), np.dtype(bool)):
        suffix.append(f"dtype=dg.{array.dtype}")
    if tensor._backward is not None:
        suffix.append(f"grad_fn=<{tensor._op}>")
    elif tensor._requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"


def _format_integral_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.0f}."


# ---------------------------------------------------------------------------
# Creation functions
# ---------------------------------------------------------------------------
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Build a tensor from Python data or a NumPy array (always a copy)."""
    array = _to_array(data, _as_dtype(dtype))
    if array is data or (isinstance(data, Tensor) and array is data.data):
        array = array.copy()
    return Tensor(array, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy), as ``torch.from_numpy``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an np.ndarray, received: {type(array)}")
    return Tensor(array)


def _shape_args(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], Sequence | np.ndarray):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, int | np.integer) or s < 0:
            raise ValueError(
                f"Expected sizes to be non-negative integers, received: {size}"
            )
    return tuple(int(s) for s in size)


def _factory(
    fill: Callable[[tuple[int, ...], np.dtype], np.ndarray],
) -> Callable[..., Tensor]:
    def create(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        shape = _shape_args(size)
        dt = _as_dtype(dtype) or _DEFAULT_FLOAT
        return Tensor(fill(shape, dt), requires_grad=requires_grad)

    return create


zeros = _factory(lambda shape, dt: np.zeros(shape, dt))
ones = _factory(lambda shape, dt: np.ones(shape, dt))
randn = _factory(lambda shape, dt: _generator.standard_normal(shape).astype(dt))
rand = _factory(lambda shape, dt: _generator.random(shape).astype(dt))
empty = zeros
zeros.__doc__ = "A tensor of zeros of the given size (float32 unless dtype is given)."
ones.__doc__ = "A tensor of ones of the given size (float32 unless dtype is given)."
randn.__doc__ = "Standard normal samples from the generator seeded by dg.manual_seed."
rand.__doc__ = "Uniform [0, 1) samples from the generator seeded by dg.manual_seed."


def full(
    size: Sequence[int],
    fill_value: float,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    dt = _as_dtype(dtype) or _to_array(fill_value).dtype
    return Tensor(
        np.full(_shape_args((size,)), fill_value, dtype=dt), requires_grad=requires_grad
    )


def zeros_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(
        np.zeros_like(other.data, dtype=_as_dtype(dtype)), requires_grad=requires_grad
    )


def ones_like(other: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return Tensor(
        np.ones_like(other.data, dtype=_as_dtype(dtype)), requires_grad=requires_grad
    )


def randn_like(other: Tensor, dtype: Any = None) -> Tensor:
    return randn(*other.shape, dtype=dtype or other.dtype)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from start to end (exclusive); int64 for integer arguments, as PyTorch."""
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, int | np.integer) for v in (start, end, step))
    dt = _as_dtype(dtype) or (np.dtype(np.int64) if integral else _DEFAULT_FLOAT)
    return Tensor(np.arange(start, end, step).astype(dt), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None) -> Tensor:
    return Tensor(
        np.linspace(start, end, steps).astype(_as_dtype(dtype) or _DEFAULT_FLOAT)
    )


def eye(n: int, m: int | None = None, dtype: Any = None) -> Tensor:
    return Tensor(np.eye(n, m, dtype=_as_dtype(dtype) or _DEFAULT_FLOAT))


def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)
