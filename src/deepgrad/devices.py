"""Devices, as PyTorch names them: deepgrad computes on the CPU only.

``dg.device("cpu")``, the ``device=`` argument of every creation function,
``Tensor.to(device)``, ``.cpu()`` and ``dg.cuda.is_available()`` exist so that
code written for PyTorch, which picks its device with
``"cuda" if torch.cuda.is_available() else "cpu"``, runs unchanged. A device of
another type (``cuda``, ``mps``, ...) can be named, as in PyTorch, but asking for
memory or a copy there raises one error that says deepgrad runs on the CPU.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

# PyTorch's device types: a string naming another is an error, as in PyTorch
_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "mtia", "ipu")


class device:  # noqa: N801 (PyTorch's name)
    """A device: its ``type`` (``"cpu"``) and optional ``index``, as ``torch.device``.

    ``device("cpu")``, ``device("cpu:0")`` and ``device("cpu", 0)`` are accepted;
    as in PyTorch, ``device("cpu") != device("cpu:0")`` (the index differs).

    Example
    -------
    >>> import deepgrad as dg
    >>> dg.device("cpu")
    device(type='cpu')
    >>> str(dg.device("cpu", 0))
    'cpu:0'
    """

    __slots__ = ("type", "index")
    type: str
    index: int | None

    def __init__(self, type: Any, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            if index is not None:
                raise TypeError(
                    "device(): an index cannot be given with a device object"
                )
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # PyTorch: an integer is a CUDA ordinal
        elif not isinstance(type, str):
            raise TypeError(
                f"device() expects a string such as 'cpu', received: {type!r}"
            )
        name, _, ordinal = type.partition(":")
        if name not in _DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of "
                f"device string: {type}"
            )
        if ordinal:
            if index is not None or not ordinal.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(ordinal)
        if index is not None and (
            not isinstance(index, int) or isinstance(index, bool) or index < 0
        ):
            raise RuntimeError(
                f"Device index must not be negative, received: {index!r}"
            )
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("device objects are immutable")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):  # PyTorch: device("cpu") == "cpu"
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")


class DeviceUnavailableError(RuntimeError, ValueError):
    """A device other than the CPU was asked for (a RuntimeError as PyTorch's,
    and a ValueError: the value of ``device=`` is what is wrong)."""


def check_device(requested: Any, op: str) -> device | None:
    """``requested`` (None, a string, an int or a device) as a CPU device.

    Raises the one error deepgrad has for every other device, naming ``op``.
    """
    if requested is None:
        return None
    resolved = requested if isinstance(requested, device) else device(requested)
    if resolved.type != "cpu":
        raise DeviceUnavailableError(
            f"{op}: device '{resolved}' is not available: deepgrad runs on the CPU "
            "only (dg.cuda.is_available() is False). Use device='cpu', or leave "
            "device out."
        )
    return resolved


def set_default_device(requested: Any) -> None:
    """Set the device creation functions use; only ``"cpu"`` (or None) exists."""
    check_device(requested, "set_default_device")


def get_default_device() -> device:
    """The device tensors are created on: always ``device(type='cpu')``."""
    return CPU


def _not_available() -> bool:
    return False


def _no_devices() -> int:
    return 0


def _no_cuda(*args: Any, **kwargs: Any) -> None:
    check_device("cuda", "cuda")


cuda = SimpleNamespace(
    is_available=_not_available,
    device_count=_no_devices,
    is_initialized=_not_available,
    manual_seed=lambda seed: None,  # as torch without a GPU: nothing to seed
    manual_seed_all=lambda seed: None,
    synchronize=_no_cuda,
    current_device=_no_cuda,
)
cuda.__doc__ = "``torch.cuda``'s queries: deepgrad has no CUDA backend."
backends = SimpleNamespace(
    mps=SimpleNamespace(is_available=_not_available, is_built=_not_available),
    cuda=SimpleNamespace(is_built=_not_available),
)
backends.__doc__ = "``torch.backends``' queries: no MPS or CUDA backend."
