"""Checking gradients: finite differences against backprop, and anomaly detection;
``grad``, the gradients of outputs with respect to chosen inputs.

``gradcheck`` is how this project proves an op's hand-written backward is
right without trusting any other library: it compares the Jacobian that
backward() produces with central differences computed in float64.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from deepgrad.function import Function, FunctionCtx
from deepgrad.tensor import Tensor, _run_backward, _to_array, detect_anomaly, no_grad

__all__ = [
    "Variable",
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "detect_anomaly",
    "grad",
    "gradcheck",
    "model_gradcheck",
    "numerical_jacobian",
    "analytical_jacobian",
]


class GradcheckError(AssertionError):
    """Backprop and finite differences disagree; the message has the worst errors."""


def _outputs(fn: Callable[..., Any], inputs: Sequence[Tensor]) -> list[Tensor]:
    result = fn(*inputs)
    outputs = list(result) if isinstance(result, tuple | list) else [result]
    return [o for o in outputs if isinstance(o, Tensor)]


def numerical_jacobian(
    fn: Callable[..., Any], inputs: Sequence[Tensor], eps: float = 1e-6
) -> list[np.ndarray]:
    """For each input, d(all outputs, flattened)/d(input, flattened) by central differences.

    (f(x + eps) - f(x - eps)) / (2 eps) has error O(eps^2), so float64 gives
    about 10 correct digits at eps = 1e-6.
    """
    jacobians = []
    with no_grad():
        for tensor in inputs:
            if not isinstance(tensor, Tensor) or not tensor.requires_grad:
                jacobians.append(np.zeros((0, 0)))
                continue
            flat = tensor.array.reshape(-1)  # a view: perturbs the tensor itself
            columns = []
            for i in range(flat.size):
                original = flat[i]
                flat[i] = original + eps
                plus = np.concatenate([o.array.ravel() for o in _outputs(fn, inputs)])
                flat[i] = original - eps
                minus = np.concatenate([o.array.ravel() for o in _outputs(fn, inputs)])
                flat[i] = original
                columns.append((plus - minus) / (2 * eps))
            jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((0, 0)))
    return jacobians


def analytical_jacobian(
    fn: Callable[..., Any], inputs: Sequence[Tensor]
) -> list[np.ndarray]:
    """The same Jacobians, one row per output element, from backward()."""
    outputs = _outputs(fn, inputs)
    tensors = [tensor for tensor in inputs if isinstance(tensor, Tensor)]
    sizes = [o.array.size for o in outputs]
    rows: list[list[np.ndarray]] = [[] for _ in inputs]
    for k, output in enumerate(outputs):
        for j in range(sizes[k]):
            for tensor in tensors:
                tensor.grad = None
            if not output.requires_grad:
                for i, tensor in enumerate(inputs):
                    rows[i].append(np.zeros(np.size(tensor)))
                continue
            seed = np.zeros(output.array.size, dtype=output.array.dtype)
            seed[j] = 1
            output.backward(seed.reshape(output.shape), retain_graph=True)
            for i, tensor in enumerate(inputs):
                if isinstance(tensor, Tensor) and tensor.requires_grad:
                    grad = tensor.grad
                    rows[i].append(
                        np.zeros(tensor.array.size)
                        if grad is None
                        else grad.array.ravel().astype(np.float64)
                    )
    for tensor in tensors:
        tensor.grad = None
    return [np.array(r) if r else np.zeros((0, 0)) for r in rows]


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:
    """``torch.autograd.Variable``, from before PyTorch 0.4, for old tutorials:
    a Tensor sharing ``data``'s memory (a leaf that requires grad if asked).
    Since 0.4 Tensors record gradients themselves: write
    ``x.requires_grad_()`` or ``dg.tensor(..., requires_grad=True)`` instead."""
    if not isinstance(data, Tensor):
        raise TypeError(
            f"Variable(data): data must be a Tensor, received {type(data).__name__}"
        )
    return data.detach().requires_grad_(requires_grad)


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check ``fn``'s backward against central finite differences.

    Parameters
    ----------
    fn : callable
        Takes the tensors in ``inputs`` and returns a tensor (or a tuple of them).
    inputs : Tensor or sequence of Tensor
        float64 tensors; those with ``requires_grad=True`` are checked.
    eps, atol, rtol : float
        Step of the differences; the check passes where
        ``|analytical - numerical| <= atol + rtol * |numerical|`` everywhere.
    raise_exception : bool
        Raise GradcheckError with a report on failure (default) or return False.

    Returns
    -------
    bool
        True when every input's gradient matches.

    Example
    -------
    >>> x = dg.randn(3, 4, dtype=dg.float64, requires_grad=True)
    >>> dg.gradcheck(lambda t: (t.sigmoid() * t).sum(), (x,))
    True
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    for t in checked:
        if t.dtype != np.float64:
            raise TypeError(
                f"gradcheck: inputs must be float64 for finite differences to be "
                f"accurate, received {t.dtype}; create them with dtype=dg.float64"
            )
    numeric = numerical_jacobian(fn, inputs, eps)
    analytic = analytical_jacobian(fn, inputs)
    failures = []
    for index, (tensor, num, ana) in enumerate(
        zip(inputs, numeric, analytic, strict=True)
    ):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad or num.size == 0:
            continue
        abs_error = np.abs(ana - num)
        rel_error = abs_error / np.maximum(np.abs(num), 1e-12)
        if not np.all(abs_error <= atol + rtol * np.abs(num)):
            worst = np.unravel_index(np.argmax(abs_error), abs_error.shape)
            failures.append(
                f"input {index} (shape {tuple(tensor.shape)}): max abs error "
                f"{abs_error.max():.3e}, max rel error {rel_error.max():.3e}; worst at "
                f"output {worst[0]}, element {worst[1]}: backprop {ana[worst]:.10g} vs "
                f"numerical {num[worst]:.10g}"
            )
    if failures:
        if raise_exception:
            raise GradcheckError(
                "gradcheck failed: backward disagrees with finite "
                "differences\n  " + "\n  ".join(failures)
            )
        return False
    return True


def model_gradcheck(
    model: Any,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    inputs: Any,
    targets: Any,
    eps: float = 1e-6,
) -> dict[str, float]:
    """Relative error between backprop and numerical gradients for each parameter.

    Works on a float64 copy of ``model`` (the model itself is not changed), so a
    student can print e.g. ``layer 2 weight: rel. error 3e-10``. The relative
    error is ||g_backprop - g_numeric|| / max(||g_backprop|| + ||g_numeric||, 1e-30).

    Returns
    -------
    dict
        Parameter name (as in ``named_parameters``) -> relative error.
    """
    checked = copy.deepcopy(model).double()
    x = Tensor(
        np.asarray(
            inputs.array if isinstance(inputs, Tensor) else inputs, dtype=np.float64
        )
    )
    raw_targets = targets.array if isinstance(targets, Tensor) else np.asarray(targets)
    if raw_targets.dtype.kind == "f":
        raw_targets = raw_targets.astype(np.float64)
    y = Tensor(raw_targets)

    checked.zero_grad()
    loss_fn(checked(x), y).backward()
    errors = {}
    for name, parameter in checked.named_parameters():
        analytic = (
            np.zeros_like(parameter.array)
            if parameter.grad is None
            else parameter.grad.array.copy()
        )
        numeric = np.zeros_like(parameter.array)
        flat, flat_numeric = parameter.array.reshape(-1), numeric.reshape(-1)
        with no_grad():
            for i in range(flat.size):
                original = flat[i]
                flat[i] = original + eps
                plus = float(loss_fn(checked(x), y).item())
                flat[i] = original - eps
                minus = float(loss_fn(checked(x), y).item())
                flat[i] = original
                flat_numeric[i] = (plus - minus) / (2 * eps)
        norm_sum = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        errors[name] = float(np.linalg.norm(analytic - numeric) / max(norm_sum, 1e-30))
    return errors


def _graph_tensors(outputs: Sequence[Tensor]) -> list[Tensor]:
    """Every tensor the backward pass from ``outputs`` can reach, each once."""
    seen: dict[int, Tensor] = {}
    stack = list(outputs)
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen[id(tensor)] = tensor
        stack.extend(tensor._parents)
        previous = getattr(tensor, "_previous", None)
        if previous is not None:
            stack.append(previous)
    return list(seen.values())


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple,
    without touching any tensor's ``.grad``.

    sum_k (dL/d output_k)^T d output_k / d input, for the upstream gradients
    ``grad_outputs`` (ones for scalar outputs when None). The graph is freed
    afterwards unless ``retain_graph``.

    Raises
    ------
    NotImplementedError
        For ``create_graph=True``: backward closures compute with NumPy arrays,
        so a gradient has no graph of its own to differentiate again.
    RuntimeError
        For an input that does not require grad, an output without a graph,
        and (unless ``allow_unused``) an input the outputs do not depend on.

    Example
    -------
    >>> x = dg.tensor([1.0, 2.0], requires_grad=True)
    >>> dg.autograd.grad((x * x).sum(), x)
    (tensor([2., 4.]),)
    """
    if create_graph:
        raise NotImplementedError(
            "grad(create_graph=True): higher-order gradients are not supported; "
            "deepgrad's backward computes with NumPy arrays, outside the graph. "
            "Use gradcheck for second-order checks by finite differences."
        )
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad: grad_outputs has {len(grad_outputs)} entries but there are "
            f"{len(outputs)} outputs; give one gradient for each output"
        )
    for position, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(
                f"grad: input {position} does not require grad; create it with "
                "requires_grad=True"
            )
    seeds = []
    for position, (output, upstream) in enumerate(
        zip(outputs, grad_outputs, strict=True)
    ):
        if not output.requires_grad:
            raise RuntimeError(
                f"grad: element {position} of outputs does not require grad and "
                "does not have a grad_fn"
            )
        if upstream is None:
            if output.numel() != 1:
                raise RuntimeError(
                    f"grad: output {position} has shape {tuple(output.shape)}; grad "
                    "can be implicitly created only for scalar outputs, pass "
                    "grad_outputs"
                )
            seeds.append(np.ones(output.shape, dtype=output.dtype))
            continue
        seed = _to_array(upstream, output.dtype)
        if seed.shape != output.shape:
            raise RuntimeError(
                f"grad: grad_outputs[{position}] has shape {seed.shape} but output "
                f"{position} has shape {tuple(output.shape)}; they must match"
            )
        seeds.append(seed)
    # the pass adds gradients to .grad: the reachable leaves' and the inputs'
    # .grad are set aside, the inputs' read, and everything put back
    touched = [t for t in _graph_tensors(outputs) if t.is_leaf] + inputs
    kept = {id(t): (t, t.grad, t._retains_grad) for t in touched}
    for tensor, _, _ in kept.values():
        tensor.grad = None
    for tensor in inputs:
        if not tensor.is_leaf:
            tensor._retains_grad = True
    try:
        for number, (output, seed) in enumerate(zip(outputs, seeds, strict=True)):
            last = number == len(outputs) - 1
            _run_backward(output, seed, bool(retain_graph) or not last)
        results = [tensor.grad for tensor in inputs]
    finally:
        for tensor, old_grad, retains in kept.values():
            tensor.grad = old_grad
            tensor._retains_grad = retains
    for position, result in enumerate(results):
        if result is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {position} appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
    return tuple(results)
