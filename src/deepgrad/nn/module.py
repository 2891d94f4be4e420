"""Module, the base class of layers and models, and Parameter, its learnable tensors.

A Module registers the Parameters, buffers and sub-Modules assigned to its
attributes, so that ``parameters()`` finds every weight of a model for the
optimizer and ``state_dict()`` names each one by its dotted path
(``"encoder.0.weight"``), exactly as PyTorch does. A PyTorch ``state_dict``
converted to NumPy therefore loads into the same architecture built with deepgrad.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from deepgrad.devices import check_device
from deepgrad.tensor import Tensor, _to_array, get_default_dtype, parse_to


class Parameter(Tensor):
    """A Tensor a Module registers as learnable: a leaf with ``requires_grad=True``.

    Parameters
    ----------
    data : Tensor or array_like, optional
        The initial values. A Tensor or ndarray is shared, not copied (as
        ``torch.nn.Parameter``). An empty float32 tensor when omitted.
    requires_grad : bool
        Whether the optimizer should receive a gradient for it (default True).

    Example
    -------
    >>> import numpy as np
    >>> Parameter(np.zeros(2, dtype=np.float32))
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=get_default_dtype())
        # `.array` of a Tensor: the new leaf shares the values but not the graph
        super().__init__(_to_array(data), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        # As torch: a fresh copy of the values; the gradient is not carried over.
        if id(self) in memo:
            copied: Parameter = memo[id(self)]
            return copied
        copied = type(self)(self.array.copy(), self.requires_grad)
        memo[id(self)] = copied
        return copied


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: the keys it could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )

    def __str__(self) -> str:
        return repr(self)


def _add_indent(text: str, spaces: int) -> str:
    """Indent every line of a multi-line ``repr`` after the first."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


def _check_member_name(
    module: Module, name: Any, kind: str, registry: Mapping[str, Any]
) -> None:
    if not isinstance(name, str):
        raise TypeError(
            f"{kind} name should be a string, received: {type(name).__name__}"
        )
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", received: "{name}"')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if hasattr(module, name) and name not in registry:
        raise KeyError(f"attribute '{name}' already exists")


class Module:
    """Base class for layers and models, with PyTorch's ``nn.Module`` semantics.

    Subclasses call ``super().__init__()`` first, assign Parameters, sub-Modules
    and buffers as attributes, and define ``forward``; calling the module runs it.

    Example
    -------
    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.weight = Parameter(np.ones((2, 3), dtype=np.float32))
    ...         self.bias = Parameter(np.zeros(2, dtype=np.float32))
    >>> [name for name, _ in Affine().named_parameters()]
    ['weight', 'bias']
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers_set: set[str]
    _modules: dict[str, Module | None]

    def __init__(self) -> None:
        # object.__setattr__: our __setattr__ needs these registries to exist
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", {})

    # -- forward -----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" '
            "function: define forward(self, ...) in the subclass."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- registration ------------------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a Parameter (or a ``None`` placeholder) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                "cannot assign parameter before Module.__init__() call: call "
                "super().__init__() first in the subclass's __init__"
            )
        _check_member_name(self, name, "parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(deepgrad.nn.Parameter or None required); wrap it as Parameter(...) "
                "or use register_buffer for state that is not learned"
            )
        self._parameters[name] = param

    def register_buffer(
        self, name: str, tensor: Tensor | None, persistent: bool = True
    ) -> None:
        """Add a Tensor that is state but not learned (e.g. BatchNorm's running mean).

        Persistent buffers are part of ``state_dict()``; non-persistent ones are not.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError(
                "cannot assign buffer before Module.__init__() call: call "
                "super().__init__() first in the subclass's __init__"
            )
        _check_member_name(self, name, "buffer", self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(deepgrad Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (also what ``self.name = module`` does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if "_modules" not in self.__dict__:
            raise AttributeError(
                "cannot assign module before Module.__init__() call: call "
                "super().__init__() first in the subclass's __init__"
            )
        _check_member_name(self, name, "module", self._modules)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        def remove_from(*registries: dict[str, Any] | set[str]) -> None:
            for registry in registries:
                if name in registry:
                    if isinstance(registry, dict):
                        del registry[name]
                    else:
                        registry.discard(name)

        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError(
                    "cannot assign parameters before Module.__init__() call: call "
                    "super().__init__() first in the subclass's __init__"
                )
            remove_from(
                self.__dict__,
                self._buffers,
                self._modules,
                self._non_persistent_buffers_set,
            )
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(deepgrad.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        else:
            modules = self.__dict__.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError(
                        "cannot assign module before Module.__init__() call: call "
                        "super().__init__() first in the subclass's __init__"
                    )
                remove_from(
                    self.__dict__,
                    self._parameters,
                    self._buffers,
                    self._non_persistent_buffers_set,
                )
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign '{type(value).__name__}' as child module "
                        f"'{name}' (deepgrad.nn.Module or None expected)"
                    )
                modules[name] = value
            else:
                buffers = self.__dict__.get("_buffers")
                if buffers is not None and name in buffers:
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(
                            f"cannot assign '{type(value).__name__}' as buffer "
                            f"'{name}' (deepgrad Tensor or None expected)"
                        )
                    buffers[name] = value
                else:
                    object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails. Read the registries through
        # __dict__: during copy/unpickling they may not exist yet.
        for registry in ("_parameters", "_buffers", "_modules"):
            members = self.__dict__.get(registry)
            if members is not None and name in members:
                return members[name]
        raise AttributeError(
            f"'{type(self).__name__}' object has no attribute '{name}'"
        )

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = [
            *dir(type(self)),
            *self.__dict__,
            *self._parameters,
            *self._modules,
            *self._buffers,
        ]
        # Sequential's children are named "0", "1", ...: not valid attributes
        return sorted({key for key in keys if not key[0].isdigit()})

    # -- traversal ---------------------------------------------------------------------
    def named_modules(
        self,
        memo: set[Module] | None = None,
        prefix: str = "",
        remove_duplicate: bool = True,
    ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, with dotted names.

        A module reachable by two paths is yielded once (its first name) unless
        ``remove_duplicate=False``.
        """
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            submodule_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, submodule_prefix, remove_duplicate)

    def get_submodule(self, target: str) -> Module:
        """The descendant at the dotted path ``target`` ("" is this module).

        Raises
        ------
        AttributeError
            Naming the first part of the path that is not a sub-module.
        """
        module = self
        if target == "":
            return module
        for part in target.split("."):
            child = module._modules.get(part)
            if not isinstance(child, Module):
                raise AttributeError(
                    f"{module._get_name()} has no attribute `{part}` that is a "
                    f"Module (looking for the sub-module '{target}')"
                )
            module = child
        return module

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names, each module once."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(
        self,
        get_members: Callable[[Module], Iterator[tuple[str, Any]]],
        prefix: str,
        recurse: bool,
        remove_duplicate: bool,
    ) -> Iterator[tuple[str, Any]]:
        # Deduplicate by identity: a weight shared by two layers is trained once.
        seen: set[int] = set()
        modules = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for module_prefix, module in modules:
            for name, member in get_members(module):
                if member is None or id(member) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(member))
                yield module_prefix + ("." if module_prefix else "") + name, member

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Every Parameter with its dotted name, in registration order, each once.

        Example
        -------
        ``[n for n, _ in Sequential(Linear(2, 4), ReLU()).named_parameters()]`` is
        ``['0.weight', '0.bias']``.
        """
        return self._named_members(
            lambda module: iter(module._parameters.items()),
            prefix,
            recurse,
            remove_duplicate,
        )

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(
            lambda module: iter(module._buffers.items()),
            prefix,
            recurse,
            remove_duplicate,
        )

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def num_parameters(self, only_trainable: bool = False) -> int:
        """The number of scalar weights (a shared Parameter counts once)."""
        return sum(
            param.numel()
            for param in self.parameters()
            if param.requires_grad or not only_trainable
        )

    # -- modes and gradients -----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every descendant (Dropout, BatchNorm)."""
        if not isinstance(mode, bool):
            raise ValueError(
                f"training mode is expected to be boolean, received: {mode!r}"
            )
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze (True) every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: ``None`` by default, else zeros."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad.zero_()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every descendant, then on this module (e.g. to initialise)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- dtype -------------------------------------------------------------------------
    def _convert_floating(self, dtype: np.dtype) -> Module:
        # Replace the arrays, keep the objects: an optimizer built before the
        # conversion still holds the module's Parameters.
        for module in self.modules():
            tensors = [*module._parameters.values(), *module._buffers.values()]
            for tensor in tensors:
                if tensor is None or tensor.array.dtype.kind != "f":
                    continue
                tensor.array = tensor.array.astype(dtype, copy=False)
                if tensor.grad is not None:
                    tensor.grad.array = tensor.grad.array.astype(dtype, copy=False)
        return self

    def float(self) -> Module:
        """Convert floating-point parameters and buffers to float32 (in place)."""
        return self._convert_floating(np.dtype(np.float32))

    def double(self) -> Module:
        """Convert floating-point parameters and buffers to float64 (in place)."""
        return self._convert_floating(np.dtype(np.float64))

    def half(self) -> Module:
        """Convert floating-point parameters and buffers to float16 (in place)."""
        return self._convert_floating(np.dtype(np.float16))

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Convert floating-point parameters and buffers, as ``torch.nn.Module.to``.

        Accepts ``to(dtype)``, ``to(tensor)`` (its dtype), ``to("cpu")``,
        ``to(device, dtype)`` and the keywords ``dtype=``, ``device=``,
        ``non_blocking=``; integer tensors are left unchanged. deepgrad runs on
        NumPy, so the only device is ``"cpu"``: another raises.
        """
        dtype, _ = parse_to(args, kwargs, "Module.to")
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(
                "Module.to only accepts floating point dtypes (dg.float32, "
                f"dg.float64), received: {dtype}"
            )
        return self._convert_floating(dtype)

    def cpu(self) -> Module:
        """This module itself: its parameters are on the CPU already."""
        return self

    def cuda(self, device: Any = None) -> Module:
        """Raises: deepgrad runs on the CPU only."""
        check_device("cuda" if device is None else device, "Module.cuda()")
        return self

    # -- state_dict --------------------------------------------------------------------
    def state_dict(
        self,
        *,
        destination: OrderedDict[str, Tensor] | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name, with PyTorch's keys.

        Values share memory with the module; they are plain tensors outside the
        graph unless ``keep_vars=True``, which returns the Parameter objects
        themselves. Unlike ``detach()`` (and torch's state_dict), they do not share
        the parameter's version counter: writing into one is like writing into
        ``.array``. A Parameter shared by two sub-modules appears under both names,
        as in torch.
        """
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else Tensor(param.array)
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = (
                    buffer if keep_vars else Tensor(buffer.array)
                )
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(
                    destination=destination,
                    prefix=prefix + name + ".",
                    keep_vars=keep_vars,
                )
        return destination

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values into this module's parameters and buffers, keeping their dtype.

        Values may be Tensors or NumPy arrays (anything with ``__array__``, so a
        ``{k: v.numpy() for k, v in torch_model.state_dict().items()}`` loads
        unchanged). Nothing is written unless every value can be: a shape
        mismatch, or with ``strict`` a missing or unexpected key, raises a
        RuntimeError listing all problems, as torch does.

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``; both empty when everything matched.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, received: {type(state_dict)}"
            )
        targets = self.state_dict(keep_vars=True)
        missing_keys = [key for key in targets if key not in state_dict]
        unexpected_keys = [key for key in state_dict if key not in targets]
        errors: list[str] = []
        if strict and unexpected_keys:
            listed = ", ".join(f'"{key}"' for key in unexpected_keys)
            errors.append(f"Unexpected key(s) in state_dict: {listed}. ")
        if strict and missing_keys:
            listed = ", ".join(f'"{key}"' for key in missing_keys)
            errors.insert(0, f"Missing key(s) in state_dict: {listed}. ")

        updates: list[tuple[Tensor, np.ndarray]] = []
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if isinstance(value, Tensor):
                array = value.array
            elif hasattr(value, "__array__"):
                array = np.asarray(value)
            else:
                errors.append(
                    f'While copying the parameter named "{key}", expected a Tensor '
                    f"or NumPy array from the checkpoint but received {type(value)}"
                )
                continue
            if array.shape != target.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{array.shape} from checkpoint, the shape in current model is "
                    f"{tuple(target.shape)}."
                )
                continue
            updates.append((target, array))

        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for target, array in updates:
            target.array[...] = array  # in place, cast to the model's dtype
            target._version += 1
        return IncompatibleKeys(missing_keys, unexpected_keys)

    # -- printing and copying ----------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr; override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def summary(self, input_shape: Any = None) -> None:
        """Print a Keras-style table of layers, output shapes and parameter counts."""
        from deepgrad.nn.summary import summary  # built on Module: imported when used

        print(summary(self, input_shape))

    def _repr_html_(self) -> str | None:
        """Jupyter shows a module as its summary table (``deepgrad.nn.summary.summary_html``).

        None (Jupyter then shows the text repr) when the output shapes cannot be
        inferred because the forward pass on a zero batch fails.
        """
        from deepgrad.nn.summary import (
            summary_html,  # built on Module: imported when used
        )

        try:
            return summary_html(self)
        except ValueError:
            return None

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + _add_indent(repr(module), 2)
            for name, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"
