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
import copy
import itertools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from heapq import heappop, heappush
from typing import Any, NoReturn, TypeVar

import numpy as np

from deepgrad import random as _random
from deepgrad.devices import CPU, check_device
from deepgrad.devices import device as Device
from deepgrad.size import Size

float32 = np.float32
float64 = np.float64
float16 = np.float16
int8 = np.int8
int16 = np.int16
int32 = np.int32
int64 = np.int64
uint8 = np.uint8
bool_ = np.bool_
long = np.int64
double = np.float64
half = np.float16
short = np.int16
# dg.float, dg.int and dg.bool (float32, int32, bool) are bound in deepgrad/__init__.py
# only, so that no module of the package shadows Python's float, int and bool

_DEFAULT_FLOAT = np.dtype(np.float32)

BackwardFn = Callable[[np.ndarray], Sequence["np.ndarray | None"]]
_Function = TypeVar("_Function", bound=Callable[..., Any])
_new_tensor = object.__new__
_tuple_new = tuple.__new__  # Tensor.shape builds a dg.Size without its checks
_creation_order = itertools.count()  # gives every recorded op's output its _seq


# ---------------------------------------------------------------------------
# Switches: gradient recording and anomaly detection, per thread
# ---------------------------------------------------------------------------
class _Switches:
    """One thread's switches: grad mode and anomaly detection.

    Grad mode is per thread, as in PyTorch, and so is anomaly detection here
    (PyTorch's is process-wide). A thread with grad mode off is also listed in
    ``_threads_without_grad``: while that set is empty, as in every forward
    pass of a training loop, an op knows that its thread records without
    reading the thread-local, which costs ten times the emptiness check.
    """

    __slots__ = ("grad", "anomaly", "thread", "_without_grad")

    def __init__(self) -> None:
        self.grad = True
        self.anomaly = False
        self.thread = threading.get_ident()
        self._without_grad = _threads_without_grad  # still there in __del__

    def __del__(self) -> None:  # the thread has ended
        self._without_grad.discard(self.thread)


class _ThreadSwitches(threading.local):
    """Each thread's own ``_Switches``, made with PyTorch's defaults (recording
    on, anomaly detection off) on its first use, whatever other threads did."""

    def __init__(self) -> None:
        self.switches = _Switches()


_threads_without_grad: set[int] = set()  # set.add/discard are atomic
_thread = _ThreadSwitches()


def is_grad_enabled() -> bool:
    """Return True when operations are being recorded for ``backward()`` (in this thread)."""
    return not _threads_without_grad or _thread.switches.grad


class _ModeSwitch(contextlib.ContextDecorator):
    """Switch this thread's grad mode to ``mode`` inside a ``with`` block or a
    decorated call (``detect_anomaly`` switches the other mode).

    A decorated function enters a fresh copy of the switch at every call
    (contextlib's ``_recreate_cm`` hook), so recursive and concurrent calls each
    restore the mode they found, as PyTorch's decorators do.
    """

    mode = False

    def _recreate_cm(self) -> _ModeSwitch:
        return copy.copy(self)

    # (the switch is written out in both methods: a call costs as much again,
    # and the lab's step enters no_grad every time)
    def __enter__(self) -> None:
        self.switches = switches = _thread.switches
        self.previous = switches.grad
        switches.grad = mode = self.mode
        if mode:
            _threads_without_grad.discard(switches.thread)
        else:
            _threads_without_grad.add(switches.thread)

    def __exit__(self, *exc: object) -> None:
        switches = self.switches
        switches.grad = mode = self.previous
        if mode:
            _threads_without_grad.discard(switches.thread)
        else:
            _threads_without_grad.add(switches.thread)


class set_grad_enabled(_ModeSwitch):
    """Turn gradient recording on or off, as a context manager or decorator.

    Like PyTorch's, it switches as soon as it is called, so a plain call
    ``dg.set_grad_enabled(False)`` works too; the end of a ``with`` block or of a
    decorated call restores the mode found before. Only the calling thread's
    mode changes.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        super().__enter__()

    def __call__(self, function: _Function) -> _Function:
        self.__exit__()  # decorating switches nothing until a call
        return super().__call__(function)

    def _recreate_cm(self) -> set_grad_enabled:
        return set_grad_enabled(self.mode)

    def __enter__(self) -> None:
        pass  # switched by __init__


class no_grad(_ModeSwitch):
    """Disable gradient recording inside a ``with`` block (or a decorated function).

    Used for the parameter update of gradient descent, where the update itself
    must not become part of the graph::

        with dg.no_grad():
            W -= lr * W.grad

    Only the calling thread stops recording: another thread keeps training.
    """

    mode = False


class enable_grad(_ModeSwitch):
    """Re-enable gradient recording inside a ``no_grad`` block (in this thread)."""

    mode = True


class inference_mode(_ModeSwitch):
    """``no_grad`` under PyTorch's name for inference: nothing inside is recorded.

    A context manager or a decorator, with or without parentheses
    (``@dg.inference_mode``, ``@dg.inference_mode()``); ``inference_mode(False)``
    switches nothing. PyTorch also marks the tensors made inside as "inference
    tensors" that autograd refuses later; deepgrad's are ordinary tensors
    outside the graph, as under ``no_grad``.
    """

    def __new__(cls, mode: Any = True) -> Any:
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # @dg.inference_mode, without parentheses

    def __init__(self, mode: bool = True) -> None:
        self.enabled = mode

    def __enter__(self) -> None:
        if self.enabled:
            super().__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            super().__exit__()


class Generator(_random.Generator):
    """``torch.Generator`` on the CPU: after the same seed, torch's numbers.

    mt19937 and torch's transforms live in :mod:`deepgrad.random`; this class
    only returns its state as a Tensor, as torch does. Pass one as
    ``generator=`` to draw from it instead of the default generator.

    Example
    -------
    >>> first = rand(2, generator=Generator().manual_seed(0))
    >>> again = rand(2, generator=Generator().manual_seed(0))
    >>> first.tolist() == again.tolist()
    True
    """

    def get_state(self) -> Tensor:
        """The state: the 5056 bytes of ``torch.get_rng_state()``, a uint8 Tensor."""
        return Tensor(super().get_state())


# Process-wide, as PyTorch's default generator: every thread draws from it.
# Seeded from the operating system, as torch's, until manual_seed.
_generator = Generator()
_generator.seed()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: then randn, rand, init, dropout and shuffling
    draw exactly the numbers PyTorch draws after ``torch.manual_seed(seed)``."""
    return _generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the operating system; return the seed."""
    return _generator.seed()


def initial_seed() -> int:
    """The default generator's seed."""
    return _generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state (the bytes of ``torch.get_rng_state()``)."""
    return _generator.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restore the default generator's state from ``get_rng_state()``."""
    _generator.set_state(new_state)


def default_generator() -> Generator:
    """The Generator that ``manual_seed`` seeds."""
    return _generator


def _generator_or_default(generator: _random.Generator | None) -> _random.Generator:
    if generator is None:
        return _generator
    if not isinstance(generator, _random.Generator):
        raise TypeError(
            "generator= expects a dg.Generator (or None for the default one), "
            f"received: {type(generator).__name__}"
        )
    return generator


def get_default_dtype() -> np.dtype:
    """The floating point dtype creation functions use (float32 unless set)."""
    return _DEFAULT_FLOAT


def set_default_dtype(dtype: Any) -> None:
    """Set the floating point dtype that creation functions, Python floats and
    new layers use, as ``torch.set_default_dtype`` (process-wide).

    Only floating point dtypes are accepted (float16, float32, float64).
    """
    global _DEFAULT_FLOAT
    resolved = _as_dtype(dtype)
    if resolved is None or resolved.kind != "f":
        raise TypeError(
            "set_default_dtype: only floating-point types are supported as the "
            f"default type (dg.float32, dg.float64, dg.float16), received: {dtype!r}"
        )
    _DEFAULT_FLOAT = resolved


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------
def _as_dtype(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, TensorType):
        return dtype.dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"Expected a dtype such as dg.float32 or dg.float64, received: {dtype!r}"
        ) from None


def _legacy_array(data: tuple[Any, ...], dtype: np.dtype | None) -> np.ndarray:
    """The array of ``Tensor(*data)``, PyTorch's legacy constructor.

    ``Tensor(2, 3)`` is a 2x3 tensor of zeros (PyTorch leaves it uninitialised)
    and ``Tensor([1, 2])`` a float tensor of the default dtype, as in PyTorch. A
    NumPy array or a Tensor is wrapped as it is, sharing memory and keeping its
    dtype: that is how deepgrad itself wraps arrays (``Tensor(array)``).
    """
    if not data:
        return np.empty(0, dtype or _DEFAULT_FLOAT)  # Tensor(): tensor([])
    if len(data) == 1:
        (values,) = data
        if isinstance(values, Tensor | np.ndarray | np.generic):
            return _to_array(values, dtype)
        if isinstance(values, list | tuple):
            return _to_array(values, dtype or _DEFAULT_FLOAT)
        if isinstance(values, float | bool | complex):
            raise TypeError(
                f"Tensor(): data must be a sequence (got {type(values).__name__}); "
                f"use dg.tensor({values!r}) for a 0-d tensor"
            )
        if hasattr(values, "__array__"):
            return _to_array(np.asarray(values), dtype)
    if all(isinstance(size, int | np.integer) for size in data):
        return np.zeros(_shape_args(data), dtype or _DEFAULT_FLOAT)
    raise TypeError(
        "Tensor() expects sizes (Tensor(2, 3)), a sequence of numbers "
        "(Tensor([1, 2])) or an array; received arguments of types "
        f"{[type(value).__name__ for value in data]}"
    )


def _to_array(data: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """Convert Python data to an ndarray with PyTorch's default dtypes.

    Python floats become float32 and Python ints int64, as ``torch.tensor``
    does; NumPy arrays keep their dtype unless one is given.
    """
    if isinstance(data, Tensor):
        array = data.array
    elif isinstance(data, np.ndarray):
        array = data
    else:
        array = np.asarray(data)
        if array.dtype == np.float64 and dtype is None:  # a given dtype: no detour
            if not _contains_numpy_float64(data):
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
    try:
        cached = _CONSTANTS[value][dtype]
    except KeyError:
        return _new_constant(value, dtype)
    # -0.0 == 0.0, so only 0.0 is cached; an int 0 (the hot ops') has no sign
    if value or type(value) is int or _copysign(1.0, value) > 0:
        return cached
    return np.array(value, dtype=dtype)


_copysign = math.copysign  # one global lookup, not two: constant() runs 16 times a step


def _new_constant(value: float, dtype: np.dtype) -> np.ndarray:
    if len(_CONSTANTS) > 1024:  # arbitrary user numbers: keep the cache bounded
        _CONSTANTS.clear()
    array = np.array(value, dtype=dtype)
    if np.isinf(array) and math.isfinite(value):
        return array  # overflowed: uncached, so that every use warns (or raises)
    if value == 0 and _copysign(1.0, value) < 0:
        return array  # uncached: it would take 0.0's key
    array.flags.writeable = False
    _CONSTANTS.setdefault(value, {})[dtype] = array
    return array


def _contains_numpy_float64(data: Any) -> bool:
    if isinstance(data, np.ndarray | np.float64):
        return True
    if isinstance(data, list | tuple) and data:
        return _contains_numpy_float64(data[0])
    return False


# ---------------------------------------------------------------------------
# The Tensor
# ---------------------------------------------------------------------------
def _dimension(dim: Any, ndim: int, op: str) -> int:
    """``dim`` checked against ``ndim`` dimensions, with PyTorch's error."""
    if ndim == 0:
        raise IndexError(
            f"{op}: Dimension specified as {dim} but tensor has no dimensions"
        )
    low, high = -ndim, ndim - 1
    if not isinstance(dim, int | np.integer) or not low <= dim <= high:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{low}, "
            f"{high}], but got {dim})"
        )
    return int(dim)


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
    *data : sizes, a sequence of numbers, or an array
        As PyTorch's legacy constructor: ``Tensor(2, 3)`` is a 2x3 tensor (of
        zeros) and ``Tensor([1, 2])`` a tensor of the default float dtype. A
        NumPy array (or a Tensor) is wrapped as it is, sharing its memory and
        keeping its dtype; ``dg.tensor(data)`` infers dtypes as PyTorch does.
    requires_grad : bool
        Whether ``backward()`` should compute a gradient for this tensor.
    dtype : dtype, optional
        ``dg.float32`` (default for floats) or ``dg.float64``, among others.
    device : optional
        Only the CPU (``"cpu"``, ``dg.device("cpu")``); another device raises.

    Attributes
    ----------
    array : np.ndarray
        The values, as deepgrad's own code reads them. ``data`` is PyTorch's
        ``.data`` (a detached Tensor sharing them) and ``numpy()`` the array.

    Example
    -------
    >>> import deepgrad as dg
    >>> x = dg.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = (
        "array",  # the values: internal code reads t.array; t.data is torch's
        "grad",
        "_version",  # in-place changes so far: a plain int, bumped by every one
        "_requires_grad",
        "_parents",
        "_backward",
        "_op",
        "_retains_grad",
        # set on recorded ops' outputs only:
        "_seq",
        "_pending",
        "_saved",  # ((tensor, its version when saved), ...) that backward reads
        # set only where they apply:
        "_previous",  # the node an in-place op replaced (see _rebase_history)
        "_base",  # the tensor whose memory a view or detach()ed alias shares
        "_viewed",  # True once a view op has been applied to this tensor
        "_hooks",  # register_hook's functions, run on this tensor's gradient
        "__weakref__",
    )
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected op
    _seq: int
    _pending: Any  # the gradient summed during backward, else None
    _saved: tuple[tuple[Tensor | None, int], ...]
    _previous: Tensor
    _base: Tensor
    _viewed: bool

    def __init__(
        self,
        *data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        device: Any = None,
    ) -> None:
        if device is not None:
            check_device(device, "Tensor")
        if dtype is None and len(data) == 1 and type(data[0]) is np.ndarray:
            self.array: np.ndarray = data[0]  # deepgrad's own Tensor(array)
        else:
            self.array = _legacy_array(data, _as_dtype(dtype))
        self.grad: Tensor | None = None
        self._version = 0
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
        saved: tuple[tuple[Tensor | None, int], ...] = (),
    ) -> Tensor:
        """Wrap an op's result; record the graph edge when a parent needs a gradient.

        ``saved`` lists the tensors whose values ``backward`` reads, each with
        its ``_version`` now, e.g. ``((b, b._version),)``; None stands for the
        output itself (whose version starts at 0). ``backward()`` refuses to run
        the closure if one of them has been changed in place since.
        """
        out = _new_tensor(Tensor)
        # NumPy gives scalars, not 0-d arrays, for 0-d results
        out.array = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out._version = 0
        out._op = op
        out._retains_grad = False
        out._requires_grad = False
        out._parents = ()
        out._backward = None
        # a plain loop, not any(): this is the hottest line of the engine
        for parent in parents:
            if parent._requires_grad:
                # is_grad_enabled(), inline
                if not _threads_without_grad or _thread.switches.grad:
                    out._requires_grad = True
                    out._parents = parents
                    out._backward = backward
                    out._saved = saved
                    out._seq = next(_creation_order)
                    out._pending = None  # the gradient summed during backward
                break
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
        if value and self.array.dtype.kind not in "fc":
            raise RuntimeError(
                "Only floating point tensors can require gradients; this one has dtype "
                f"{self.array.dtype}. Convert it first with .float() or .double()."
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
    def data(self) -> Tensor:
        """PyTorch's ``.data``: this tensor's values as a new leaf outside the graph.

        It shares the memory (``p.data.normal_(0, 0.01)`` and
        ``w.data -= lr * w.grad`` change ``p`` and ``w``) but not the version
        counter, and nothing done to it is recorded: the way around autograd's
        checks, as in PyTorch (``detach()`` is the checked way). Assigning a
        tensor, ``p.data = t``, makes ``p`` share ``t``'s memory. ``.numpy()``
        gives the NumPy array.
        """
        return _new_leaf(self.array)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(
                "Tensor.data: can only be set to a Tensor, received "
                f"{type(value).__name__}; wrap an array with dg.from_numpy(array)"
            )
        self.array = value.array

    @property
    def shape(self) -> Size:
        """The sizes of the dimensions, a ``dg.Size`` (a tuple, as torch.Size)."""
        return _tuple_new(Size, self.array.shape)  # unchecked: NumPy's ints

    @property
    def device(self) -> Device:
        """Where the values live: always ``device(type='cpu')``."""
        return CPU

    is_cuda = False
    is_cpu = True

    def cpu(self) -> Tensor:
        """This tensor itself: it is on the CPU already (as PyTorch's ``cpu()``)."""
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> NoReturn:
        check_device("cuda", "Tensor.cuda()")
        raise AssertionError("unreachable")  # check_device raised

    def size(self, dim: int | None = None) -> Size | int:
        """The shape, or with ``dim`` the length of that dimension (negative from the end)."""
        if dim is None:
            return _tuple_new(Size, self.array.shape)
        return self.array.shape[_dimension(dim, self.array.ndim, "size")]

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return int(self.array.size)

    nelement = numel

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

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

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> _HookHandle:
        """Call ``hook(grad)`` when backward() has summed this tensor's gradient.

        A tensor it returns replaces the gradient: the one sent on to the
        inputs, and the one added to a leaf's ``.grad``. Returns a handle whose
        ``remove()`` unregisters it.
        """
        global _hooked_tensors
        if not self._requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't "
                "require gradient; create it with requires_grad=True"
            )
        if not callable(hook):
            raise TypeError(
                f"register_hook: expected a function of the gradient, received "
                f"{type(hook).__name__}"
            )
        hooks = getattr(self, "_hooks", None)
        if hooks is None:
            hooks = self._hooks = []
            _hooked_tensors += 1
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def detach(self) -> Tensor:
        """A new leaf tensor sharing this tensor's data, outside the graph.

        It shares the version counter too, as in PyTorch: an in-place change
        through either one is an in-place change of both.
        """
        return _alias(_new_leaf(self.array), self, _Alias)

    def numpy(self) -> np.ndarray:
        if self._requires_grad:
            raise RuntimeError(
                "Can't call numpy() on a tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self.array

    def tolist(self) -> Any:
        return self.array.tolist()

    def item(self) -> float | int | bool:
        if self.array.size != 1:
            raise ValueError(
                "item() needs a tensor with exactly one element; this one has shape "
                f"{tuple(self.shape)} ({self.array.size} elements). Reduce it first, "
                "e.g. with .sum() or .mean()."
            )
        return self.array.item()

    def clone(self) -> Tensor:
        from deepgrad import ops

        return ops.clone(self)

    # -- conversions (differentiable casts live in ops) -------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None:
            return self.array.astype(dtype)
        return self.array

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be an index")
        return int(self.array.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"The truth value of a tensor with {self.array.size} elements is "
                "ambiguous; use .any() or .all()."
            )
        return bool(self.array.item())

    __hash__ = object.__hash__

    def __iter__(self) -> Iterator[Tensor]:
        if self.array.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    def __repr__(self) -> str:
        return _format_tensor(self)

    def __format__(self, format_spec: str) -> str:
        """``f"{loss:.4f}"`` formats a 0-d tensor's number, as PyTorch; other
        tensors take only the empty format (``f"{x}"`` is ``str(x)``)."""
        if self.array.ndim == 0:
            return format(self.array.item(), format_spec)
        return object.__format__(self, format_spec)

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
            if self.array.size != 1:
                raise RuntimeError(
                    "backward() without a gradient is only defined for a scalar "
                    f"output; this tensor has shape {tuple(self.shape)}. Reduce it "
                    "first (e.g. loss.mean()) or pass backward(gradient) of the "
                    "same shape."
                )
            seed = constant(1.0, self.array.dtype)  # read-only: no backward writes it
            if self.array.ndim:
                seed = seed.reshape(self.array.shape)
        else:
            seed = _to_array(gradient, self.array.dtype)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(gradient): gradient has shape {seed.shape} but the "
                    f"tensor has shape {tuple(self.shape)}; they must match."
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

    Before a node's closure runs, the tensors it saved must still be at the
    versions they had then: one changed in place since raises (PyTorch's
    error), where its closure would compute a wrong gradient. A tensor changed
    in place inside the graph stands for the in-place op's output from then on,
    a node newer than the ops that used it before; an edge from one of those
    therefore points to a newer node, and goes to the node the tensor was when
    that op used it (``_send_back``).
    """
    hooks_on = _hooked_tensors > 0  # one test a node when no hook was registered
    if root._backward is None:  # backward() on a leaf: its gradient is the seed
        _accumulate(root, _run_hooks(root, seed) if hooks_on else seed)
        return
    detect_anomaly = _anomaly_blocks and _thread.switches.anomaly
    hooked_leaves: dict[int, tuple[Tensor, np.ndarray]] = {}
    root._pending = seed
    waiting = [(-root._seq, root)]
    try:
        while waiting:
            order, node = heappop(waiting)
            grad_output = node._pending
            node._pending = None
            if hooks_on:
                grad_output = _run_hooks(node, grad_output)
            for tensor, version in node._saved:  # None: the node's own output
                if (node if tensor is None else tensor)._version != version:
                    _raise_modified(node, tensor, version)
            if node._retains_grad:
                _accumulate(node, grad_output)
            input_grads = node._backward(grad_output)
            if detect_anomaly:
                for grad in input_grads:
                    if grad is not None:
                        _check_finite(grad, node._op, "backward")
            # zip without strict=: the keyword alone costs ~0.1 us a node, and
            # every backward returns one gradient per parent
            for parent, grad in zip(node._parents, input_grads):  # noqa: B905
                if grad is None or not parent._requires_grad:
                    continue
                if parent._backward is None:  # a leaf: AccumulateGrad
                    if hooks_on and getattr(parent, "_hooks", None):
                        # its hooks see the sum of its gradients, after the loop
                        _, summed = hooked_leaves.get(id(parent), (parent, 0))
                        hooked_leaves[id(parent)] = (parent, summed + grad)
                        continue
                    leaf_grad = parent.grad
                    if leaf_grad is None:
                        _accumulate(parent, grad)
                    else:  # _accumulate's in-place branch, inline: 6 leaves a step
                        leaf = leaf_grad.array
                        np.add(leaf, grad, leaf)
                        leaf_grad._version += 1
                    continue
                pending = parent._pending
                if pending is None:
                    parent_order = -parent._seq
                    if parent_order < order:  # newer than node: changed in place
                        _send_back(grad, parent, node._seq, waiting)
                        continue
                    parent._pending = grad
                    heappush(waiting, (parent_order, parent))
                else:  # out-of-place: `grad` may alias another tensor's gradient
                    parent._pending = pending + grad
            if not retain_graph:
                node._parents = ()
                node._saved = ()
                node._backward = _freed_backward
        for leaf, summed in hooked_leaves.values():
            _accumulate(leaf, _run_hooks(leaf, summed))
    finally:  # after an error, nothing may stay pending for the next backward
        for _, node in waiting:
            node._pending = None


def _run_hooks(tensor: Tensor, grad: np.ndarray) -> np.ndarray:
    """``grad`` through ``tensor``'s hooks in the order registered; a tensor one
    returns replaces it (it must keep the shape)."""
    for hook in getattr(tensor, "_hooks", None) or ():
        replaced = hook(_new_leaf(grad))
        if replaced is None:
            continue
        replacement = _to_array(replaced, tensor.array.dtype)
        if replacement.shape != grad.shape:
            raise RuntimeError(
                f"hook {getattr(hook, '__name__', hook)!r} returned a gradient of "
                f"shape {replacement.shape}; the tensor's gradient has shape "
                f"{grad.shape}: a hook must keep the shape"
            )
        grad = replacement
    return grad


class _HookHandle:
    """What register_hook returns: ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _send_back(
    grad: np.ndarray, tensor: Tensor, seq: int, waiting: list[tuple[int, Tensor]]
) -> None:
    """Pass ``grad`` to the node ``tensor`` was when the op numbered ``seq`` used it.

    An in-place op in a graph makes the tensor its output, and keeps the node
    it replaced in ``_previous`` (``_rebase_history``); a chain of them for a
    tensor changed in place several times. The rest is the backward loop's
    handling of a parent.
    """
    while tensor._backward is not None and tensor._seq > seq:
        tensor = tensor._previous
    if not tensor._requires_grad:
        return
    if tensor._backward is None:
        _accumulate(tensor, grad)
    elif tensor._pending is None:
        tensor._pending = grad
        heappush(waiting, (-tensor._seq, tensor))
    else:
        tensor._pending = tensor._pending + grad


def _raise_modified(node: Tensor, tensor: Tensor | None, version: int) -> NoReturn:
    changed = node if tensor is None else tensor
    role = (
        f"which is output 0 of {node._op}" if tensor is None else f"saved by {node._op}"
    )
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by "
        f"an inplace operation: [dg.{changed.array.dtype} {list(changed.shape)}], "
        f"{role}, is at version {changed._version}; expected version {version} "
        "instead. Hint: something changed it in place (an optimizer step, `-=` "
        "inside no_grad, add_, ...) between the forward pass and backward(); call "
        "backward() before changing it, or compute the loss again after."
    )


def _split_history(tensor: Tensor, keep_values: bool) -> Tensor:
    """A new tensor that takes over ``tensor``'s place in the graph so far.

    Called before an in-place op in a graph changes ``tensor``: the op is then
    recorded as its out-of-place twin applied to this tensor, and ``tensor``
    becomes that op's output (``_rebase_history``). The values are copied when
    the op's backward reads them (``keep_values``); otherwise the new tensor
    shares the array that is about to change, which nothing reads any more.

    Its version is the one ``tensor`` is about to reach: if the old node's
    backward reads its own output (``tensor``'s array, about to change), the
    check of its output, now this tensor, fails as it should. It reports that
    version; PyTorch the one at backward time, higher if the tensor changed
    again since (a reference back to ``tensor`` for it would be a cycle).
    """
    previous = _new_leaf(tensor.array.copy() if keep_values else tensor.array)
    previous._version = tensor._version + 1
    if tensor._backward is not None:
        _move_node(tensor, previous)
        if hasattr(tensor, "_previous"):
            previous._previous = tensor._previous
    return previous


def _rebase_history(tensor: Tensor, output: Tensor, previous: Tensor) -> None:
    """Make ``tensor``, just changed in place, the output of ``output``'s op.

    ``output`` is the op's out-of-place result, computed from ``previous``
    (``_split_history``); ``tensor`` now holds those values, so it takes the
    op's place in the graph (PyTorch's rebase_history) and ``output`` is dropped.
    """
    _move_node(output, tensor)
    tensor._previous = previous


def _move_node(source: Tensor, target: Tensor) -> None:
    """Give ``target`` the graph node of ``source``, a recorded op's output."""
    target._requires_grad = source._requires_grad
    target._op = source._op
    target._parents = source._parents
    target._backward = source._backward
    target._saved = source._saved
    target._seq = source._seq
    target._pending = None


def _accumulate(node: Tensor, grad: np.ndarray) -> None:
    if node.grad is None:
        # a private, writable copy: `grad` may be a broadcast view or shared
        node.grad = _new_leaf(np.array(grad, dtype=node.array.dtype, copy=True))
    else:  # in place, as PyTorch accumulates (and counts it as a version)
        leaf_grad = node.grad
        # out= as the third argument: the keyword costs ~0.04 us a call. The
        # default casting, "same_kind", takes a float64 gradient into float32
        np.add(leaf_grad.array, grad, leaf_grad.array)
        leaf_grad._version += 1


def _new_leaf(data: np.ndarray) -> Tensor:
    """A leaf that needs no gradient, around ``data`` as it is (Tensor() converts)."""
    leaf = _new_tensor(Tensor)
    leaf.array = data
    leaf.grad = None
    leaf._version = 0
    leaf._requires_grad = False
    leaf._parents = ()
    leaf._backward = None
    leaf._op = ""
    leaf._retains_grad = False
    return leaf


class _Alias(Tensor):
    """A tensor sharing another's memory: a ``detach()``ed copy, or a view.

    It shares that tensor's version counter as well, as PyTorch's aliases do:
    ``_version`` reads and bumps the base's (the tensor that owns the memory,
    never an alias itself), so backward() sees an in-place change made through
    either. No slots of its own, so a Tensor can become one (``_alias``).
    """

    __slots__ = ()

    @property  # type: ignore[override]
    def _version(self) -> int:
        return self._base._version

    @_version.setter
    def _version(self, value: int) -> None:
        self._base._version = value

    def __getstate__(self) -> Any:  # copy and pickle: the version is the base's
        state, slots = super().__getstate__()
        del slots["_version"]
        return state, slots


class _View(_Alias):
    """The output of a view op: reshape/view, flatten, (un)squeeze, transpose,
    permute, T, expand.

    PyTorch rewrites a view's history when it or its base changes in place
    inside a graph; deepgrad refuses those in-place ops instead (see
    ``ops.inplace``), so the base remembers that it has views (``_viewed``).
    """

    __slots__ = ()


def _alias(tensor: Tensor, base: Tensor, kind: type[_Alias]) -> Tensor:
    """Turn ``tensor``, which shares ``base``'s memory, into an alias of it."""
    tensor.__class__ = kind
    tensor._base = base._base if isinstance(base, _Alias) else base
    if kind is _View:
        tensor._base._viewed = True
    return tensor


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


class detect_anomaly(_ModeSwitch):
    """Raise at the first op whose forward or backward produces NaN or inf, naming it.

    Only in the calling thread (PyTorch's switch is process-wide).

    Example
    -------
    >>> with dg.autograd.detect_anomaly():
    ...     loss = model(x).log().sum()   # raises if log(0) appears
    ...     loss.backward()
    """

    def __enter__(self) -> None:
        switches = _thread.switches
        self.previous = switches.anomaly
        switches.anomaly = True
        _count_anomaly_blocks(+1)

    def __exit__(self, *exc: object) -> None:
        _thread.switches.anomaly = self.previous
        _count_anomaly_blocks(-1)


def _make_checked(*make_arguments: Any) -> Tensor:
    """``Tensor._make`` while a thread detects anomalies: it also checks the output,
    in the threads that asked for it."""
    out = _make(*make_arguments)
    if _thread.switches.anomaly:
        _check_finite(out.array, out._op, "forward")
    return out


_make = Tensor.__dict__["_make"].__func__
_anomaly_lock = threading.Lock()
_anomaly_blocks = 0  # detect_anomaly blocks open, in all threads
_hooked_tensors = 0  # tensors that register_hook has been called on, ever


def _count_anomaly_blocks(change: int) -> None:
    """Every op goes through ``Tensor._make``: ``_make_checked`` while a
    detect_anomaly block is open in any thread, else the plain ``_make``, which
    never looks at the switch."""
    global _anomaly_blocks
    with _anomaly_lock:
        _anomaly_blocks += change
        checked = _make_checked if _anomaly_blocks else _make
        Tensor._make = staticmethod(checked)  # type: ignore[method-assign]


# ---------------------------------------------------------------------------
# Printing like PyTorch
# ---------------------------------------------------------------------------
_THRESHOLD, _EDGEITEMS, _LINEWIDTH = 1000, 3, 81  # PyTorch's print options


def _summarized(array: np.ndarray) -> np.ndarray:
    """The elements PyTorch shows of a tensor of more than 1000 elements: the
    first and last 3 along each dimension (its format is chosen from them)."""
    if array.size <= _THRESHOLD:
        return array
    for axis, size in enumerate(array.shape):
        if size > 2 * _EDGEITEMS:
            keep = np.r_[0:_EDGEITEMS, size - _EDGEITEMS : size]
            array = np.take(array, keep, axis=axis)
    return array


def _float_formatter(array: np.ndarray) -> dict[str, Any]:
    """array2string's options for a float tensor, by PyTorch's ``_Formatter``
    rules: whole numbers as ``3.``; scientific notation when the shown nonzero
    magnitudes span more than 1000x, pass 1e8, or (not whole) fall below 1e-4;
    else 4 decimals. Every element right-aligned to the widest."""
    shown = _summarized(array)
    finite = shown[np.isfinite(shown)]
    nonzero = np.abs(finite[finite != 0]).astype(np.float64)
    integral = bool(np.all(finite == np.round(finite)))
    largest = float(nonzero.max()) if nonzero.size else 0.0
    smallest = float(nonzero.min()) if nonzero.size else 0.0
    scientific = nonzero.size > 0 and (
        largest / smallest > 1000.0
        or largest > 1e8
        or (not integral and smallest < 1e-4)
    )
    if scientific:
        def text(value: float) -> str:
            return f"{value:.4e}"
    elif integral:
        text = _format_integral_float
    else:
        def text(value: float) -> str:
            return f"{value:.4f}"
    width = max((len(text(float(v))) for v in shown.reshape(-1)), default=0)
    return {"formatter": {"float_kind": lambda v: text(float(v)).rjust(width)}}


def _format_tensor(tensor: Tensor) -> str:
    array = tensor.array
    options: dict[str, Any] = {"separator": ", ", "prefix": "tensor("}
    if array.dtype.kind == "f":
        options.update(_float_formatter(array))
    body = np.array2string(
        array,
        threshold=_THRESHOLD,
        edgeitems=_EDGEITEMS,
        max_line_width=_LINEWIDTH,
        **options,
    )
    body = body.replace(", ..., ", ",  ..., ")  # PyTorch's elided elements: " ..."
    suffix = []
    if array.dtype not in (get_default_dtype(), np.dtype(np.int64), np.dtype(bool)):
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
def tensor(
    data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Build a tensor from Python data or a NumPy array (always a copy)."""
    check_device(device, "tensor")
    array = _to_array(data, _as_dtype(dtype))
    if array is data or (isinstance(data, Tensor) and array is data.array):
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
    fill: Callable[[tuple[int, ...], np.dtype], np.ndarray], name: str
) -> Callable[..., Tensor]:
    def create(
        *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
    ) -> Tensor:
        check_device(device, name)
        shape = _shape_args(size)
        dt = _as_dtype(dtype) or _DEFAULT_FLOAT
        return Tensor(fill(shape, dt), requires_grad=requires_grad)

    create.__name__ = create.__qualname__ = name
    return create


zeros = _factory(lambda shape, dt: np.zeros(shape, dt), "zeros")
ones = _factory(lambda shape, dt: np.ones(shape, dt), "ones")
empty = _factory(lambda shape, dt: np.zeros(shape, dt), "empty")  # zeros, not garbage
zeros.__doc__ = "A tensor of zeros of the given size (float32 unless dtype is given)."
ones.__doc__ = "A tensor of ones of the given size (float32 unless dtype is given)."
empty.__doc__ = (
    "A tensor of the given size, filled with zeros (PyTorch leaves it as is)."
)


def randn(
    *size: Any,
    generator: _random.Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples, PyTorch's numbers (``deepgrad.random.normal``)."""
    check_device(device, "randn")
    dt = _as_dtype(dtype) or _DEFAULT_FLOAT
    values = _random.normal(_generator_or_default(generator), _shape_args(size), dt)
    return Tensor(values, requires_grad=requires_grad)


def rand(
    *size: Any,
    generator: _random.Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples in [0, 1), PyTorch's numbers (``deepgrad.random.uniform``)."""
    check_device(device, "rand")
    dt = _as_dtype(dtype) or _DEFAULT_FLOAT
    values = _random.uniform(_generator_or_default(generator), _shape_args(size), dt)
    return Tensor(values, requires_grad=requires_grad)


def normal(
    mean: Any,
    std: Any = 1.0,
    size: Sequence[int] | None = None,
    *,
    generator: _random.Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples: ``normal(mean, std, size)`` with numbers, or with tensors
    (broadcast together) ``normal(mean, std)``, drawn as ``randn`` then
    ``* std + mean``, as torch."""
    check_device(device, "normal")
    gen = _generator_or_default(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        mean_array, std_array = _to_array(mean), _to_array(std)
        if (std_array < 0).any():
            raise ValueError("normal: expects every std >= 0")
        shape = np.broadcast_shapes(mean_array.shape, std_array.shape)
        dt = np.result_type(mean_array, std_array)
        dt = dt if dt.kind == "f" else _DEFAULT_FLOAT
        values = _random.normal(gen, shape, dt) * std_array.astype(dt)
        return Tensor(values + mean_array.astype(dt), requires_grad=requires_grad)
    if size is None:
        raise TypeError(
            "normal(mean, std, size): with numbers for mean and std, pass size"
        )
    dt = _as_dtype(dtype) or _DEFAULT_FLOAT
    values = _random.normal(gen, _shape_args((size,)), dt, float(mean), float(std))
    return Tensor(values, requires_grad=requires_grad)


def randint(
    *args: Any,
    generator: _random.Generator | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``, int64 unless dtype is given, as torch."""
    if len(args) == 2:
        (high, size), low = args, 0
    elif len(args) == 3:
        low, high, size = args
    else:
        raise TypeError(
            "randint expects (high, size) or (low, high, size), "
            f"received {len(args)} positional arguments"
        )
    check_device(device, "randint")
    dt = _as_dtype(dtype) or np.dtype(np.int64)
    gen = _generator_or_default(generator)
    values = _random.randint(gen, int(low), int(high), _shape_args((size,)), dt)
    return Tensor(values, requires_grad=requires_grad)


def randperm(
    n: int,
    *,
    generator: _random.Generator | None = None,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """A random permutation of 0..n-1 (int64 unless dtype is given), as torch."""
    check_device(device, "randperm")
    values = _random.randperm(_generator_or_default(generator), n)
    return Tensor(values.astype(_as_dtype(dtype) or np.int64, copy=False))


def bernoulli(
    input: Tensor, p: float | None = None, *, generator: _random.Generator | None = None
) -> Tensor:
    """0/1 samples in ``input``'s shape and dtype: each 1 with probability
    ``input[i]``, or with probability ``p`` when p is given, as torch."""
    gen = _generator_or_default(generator)
    if p is None:
        mask = _random.bernoulli_tensor(gen, input.array)
    else:
        mask = _random.bernoulli(gen, input.shape, float(p))
    return Tensor(mask.astype(input.dtype))


def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: _random.Generator | None = None,
) -> Tensor:
    """Indices drawn in proportion to the weights in each row of ``input``."""
    gen = _generator_or_default(generator)
    return Tensor(_random.multinomial(gen, input.array, int(num_samples), replacement))


def full(
    size: Sequence[int],
    fill_value: float,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    check_device(device, "full")
    dt = _as_dtype(dtype) or _to_array(fill_value).dtype
    return Tensor(
        np.full(_shape_args((size,)), fill_value, dtype=dt), requires_grad=requires_grad
    )


def _like(name: str, fill: Callable[..., np.ndarray]) -> Callable[..., Tensor]:
    def create(
        other: Tensor,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
    ) -> Tensor:
        check_device(device, name)
        array = fill(other.array, dtype=_as_dtype(dtype))
        return Tensor(array, requires_grad=requires_grad)

    create.__name__ = create.__qualname__ = name
    create.__doc__ = f"Like ``{name[:-5]}`` with ``other``'s shape and dtype."
    return create


zeros_like = _like("zeros_like", np.zeros_like)
ones_like = _like("ones_like", np.ones_like)
empty_like = _like("empty_like", np.zeros_like)


def full_like(
    other: Tensor,
    fill_value: float,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``other``'s shape and dtype filled with ``fill_value``."""
    check_device(device, "full_like")
    array = np.full_like(other.array, fill_value, dtype=_as_dtype(dtype))
    return Tensor(array, requires_grad=requires_grad)


def randn_like(other: Tensor, dtype: Any = None, device: Any = None) -> Tensor:
    return randn(*other.shape, dtype=dtype or other.dtype, device=device)


def rand_like(other: Tensor, dtype: Any = None) -> Tensor:
    return rand(*other.shape, dtype=dtype or other.dtype)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from start to end (exclusive); int64 for integer arguments, as PyTorch."""
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    integral = all(isinstance(v, int | np.integer) for v in (start, end, step))
    dt = _as_dtype(dtype) or (np.dtype(np.int64) if integral else _DEFAULT_FLOAT)
    return Tensor(np.arange(start, end, step).astype(dt), requires_grad=requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    check_device(device, "linspace")
    array = np.linspace(start, end, steps).astype(_as_dtype(dtype) or _DEFAULT_FLOAT)
    return Tensor(array, requires_grad=requires_grad)


def eye(
    n: int,
    m: int | None = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    check_device(device, "eye")
    array = np.eye(n, m, dtype=_as_dtype(dtype) or _DEFAULT_FLOAT)
    return Tensor(array, requires_grad=requires_grad)


def is_tensor(obj: object) -> bool:
    return isinstance(obj, Tensor)


def parse_to(
    args: tuple[Any, ...], kwargs: dict[str, Any], op: str
) -> tuple[np.dtype | None, bool]:
    """The dtype and ``copy`` of a ``to(...)`` call, with PyTorch's signatures:
    ``to(device=None, dtype=None, non_blocking=False, copy=False)``,
    ``to(dtype, non_blocking=False, copy=False)`` and ``to(tensor, ...)``
    (its dtype and device). A device other than the CPU raises."""
    rest = list(args)
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    flags = [kwargs.pop("non_blocking", False), kwargs.pop("copy", False)]
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{op} got unexpected keyword arguments: {sorted(kwargs)}")
    if rest and isinstance(rest[0], Tensor):
        dtype = rest.pop(0).dtype
    elif rest and _names_device(rest[0]):
        device = rest.pop(0)
        if rest and not isinstance(rest[0], bool):
            dtype = rest.pop(0)
    elif rest and not isinstance(rest[0], bool):
        dtype = rest.pop(0)
    if len(rest) > 2 or not all(isinstance(flag, bool) for flag in rest):
        raise TypeError(
            f"{op} received an invalid combination of arguments {args!r}: expected "
            "(device, dtype, non_blocking, copy), (dtype, non_blocking, copy) or "
            "(tensor, non_blocking, copy)"
        )
    flags[: len(rest)] = rest
    check_device(device, op)
    return _as_dtype(dtype), bool(flags[1])


def _names_device(value: Any) -> bool:
    if isinstance(value, str | Device):
        return True
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------
# PyTorch's legacy tensor types: constructors, and arguments of Tensor.type()
# ---------------------------------------------------------------------------
class TensorType:
    """``dg.FloatTensor`` and its kin: ``Tensor(...)`` with a fixed dtype.

    ``dg.LongTensor([1, 2])`` and ``dg.FloatTensor(2, 3)`` build tensors as
    PyTorch's legacy constructors do; ``x.type(dg.DoubleTensor)`` casts.
    ``isinstance(x, dg.FloatTensor)`` is not supported.
    """

    def __init__(self, name: str, dtype: Any) -> None:
        self.__name__ = self.__qualname__ = name
        self.dtype = np.dtype(dtype)

    def __call__(self, *data: Any, device: Any = None) -> Tensor:
        return Tensor(*data, dtype=self.dtype, device=device)

    def __repr__(self) -> str:
        return f"<class 'deepgrad.{self.__name__}'>"


FloatTensor = TensorType("FloatTensor", np.float32)
DoubleTensor = TensorType("DoubleTensor", np.float64)
HalfTensor = TensorType("HalfTensor", np.float16)
LongTensor = TensorType("LongTensor", np.int64)
IntTensor = TensorType("IntTensor", np.int32)
ShortTensor = TensorType("ShortTensor", np.int16)
CharTensor = TensorType("CharTensor", np.int8)
ByteTensor = TensorType("ByteTensor", np.uint8)
BoolTensor = TensorType("BoolTensor", np.bool_)
TENSOR_TYPES = {
    kind.dtype: kind
    for kind in (
        FloatTensor,
        DoubleTensor,
        HalfTensor,
        LongTensor,
        IntTensor,
        ShortTensor,
        CharTensor,
        ByteTensor,
        BoolTensor,
    )
}
