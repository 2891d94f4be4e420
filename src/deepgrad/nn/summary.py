"""Keras' model summary: a table of a model's layers, output shapes and parameter counts.

``Module.summary()`` prints it and ``Module._repr_html_`` shows it as an HTML
table in Jupyter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from deepgrad.nn.layers import Embedding, Linear
from deepgrad.nn.module import Module
from deepgrad.tensor import Tensor, no_grad


def _first_linear(model: Module) -> Linear | None:
    for module in model.modules():
        if not module._modules:
            return module if isinstance(module, Linear) else None
    return None


def _shape_text(output: Any) -> str:
    if isinstance(output, Tensor):
        return (
            "("
            + ", ".join(["None", *map(str, output.shape[1:])])
            + (",)" if output.ndim == 1 else ")")
        )
    if isinstance(output, (tuple, list)):
        return "[" + ", ".join(_shape_text(item) for item in output) + "]"
    return "?"


def _own_counts(module: Module) -> tuple[int, int]:
    """(trainable, non-trainable) weights a module holds itself; float buffers
    such as BatchNorm's running statistics count as non-trainable, as in Keras."""
    trainable = frozen = 0
    for param in module._parameters.values():
        if param is None:
            continue
        if param.requires_grad:
            trainable += param.numel()
        else:
            frozen += param.numel()
    for name, buffer in module._buffers.items():
        persistent = name not in module._non_persistent_buffers_set
        if buffer is not None and persistent and buffer.dtype.kind == "f":
            frozen += buffer.numel()
    return trainable, frozen


def _record_output_shapes(
    model: Module, rows: list[tuple[str, Module]], input_shape: tuple[int, ...]
) -> dict[int, str]:
    """Run a zero batch through the model, noting each row module's output shape."""
    shapes: dict[int, str] = {}
    wrapped: list[Module] = []

    def recording(module: Module) -> Callable[..., Any]:
        forward = type(module).forward

        def forward_and_record(*args: Any, **kwargs: Any) -> Any:
            output = forward(module, *args, **kwargs)
            shapes[id(module)] = _shape_text(output)
            return output

        return forward_and_record

    dtype = next((p.dtype for p in model.parameters() if p.dtype.kind == "f"), None)
    first = next((module for module in model.modules() if not module._modules), None)
    if isinstance(first, Embedding):  # a model of indices, not of features
        dtype = np.dtype(np.int64)
    batch = Tensor(np.zeros((2, *input_shape), dtype=dtype or np.float32))
    was_training = model.training
    try:
        for _, module in rows:
            object.__setattr__(module, "forward", recording(module))
            wrapped.append(module)
        model.eval()  # BatchNorm and Dropout behave as at prediction time
        with no_grad():
            model(batch)
    except Exception as error:
        raise ValueError(
            f"summary: the forward pass on a zero batch of shape {tuple(batch.shape)} "
            f"failed ({error}); pass the shape of one sample as input_shape"
        ) from error
    finally:
        for module in wrapped:
            object.__delattr__(module, "forward")
        model.train(was_training)
    return shapes


class _SummaryTable(NamedTuple):
    """What a summary shows, for the text and the HTML table."""

    model_name: str
    rows: list[tuple[str, str, int]]  # layer (type), output shape, parameters
    trainable: int
    non_trainable: int


def _summary_table(
    model: Module, input_shape: int | Sequence[int] | None
) -> _SummaryTable:
    """The rows and totals of :func:`summary` (whose docstring has the details)."""
    if not isinstance(model, Module):
        raise TypeError(
            f"summary expects a deepgrad.nn.Module, received: {type(model).__name__}"
        )
    rows = [
        (name, module)
        for name, module in model.named_modules()
        if not module._modules or any(_own_counts(module))
    ]
    if input_shape is None:
        first = _first_linear(model)
        input_shape = None if first is None else (first.in_features,)
    if isinstance(input_shape, (int, np.integer)):
        input_shape = (int(input_shape),)
    shapes = (
        {}
        if input_shape is None
        else _record_output_shapes(model, rows, tuple(input_shape))
    )
    table = [
        (
            f"{name} ({type(module).__name__})" if name else type(module).__name__,
            shapes.get(id(module), "?"),
            sum(_own_counts(module)),
        )
        for name, module in rows
    ]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    non_trainable = sum(_own_counts(module)[1] for module in model.modules())
    return _SummaryTable(type(model).__name__, table, trainable, non_trainable)


def summary(model: Module, input_shape: int | Sequence[int] | None = None) -> str:
    """A Keras-style table of a model's layers, output shapes and parameter counts.

    Parameters
    ----------
    model : Module
        The model.
    input_shape : int or tuple of int, optional
        The shape of one sample (without the batch). Output shapes come from a
        forward pass on a zero batch (eval mode, no gradients), run when it is
        given or when the first layer is a Linear (whose ``in_features`` gives
        it); otherwise they show as ``?``.

    Returns
    -------
    str
        The table; ``Module.summary()`` prints it.

    Example
    -------
    >>>     >>> print(summary(nn.Sequential(Linear(2, 4), nn.Sigmoid(), Linear(4, 1))))
    Model: "Sequential"
    _________________________________________________________________
     Layer (type)                Output Shape              Param #
    =================================================================
     0 (Linear)                  (None, 4)                 12
     1 (Sigmoid)                 (None, 4)                 0
     2 (Linear)                  (None, 1)                 5
    =================================================================
    Total params: 17
    Trainable params: 17
    Non-trainable params: 0
    _________________________________________________________________
    """
    data = _summary_table(model, input_shape)
    table = [(layer, shape, f"{count:,}") for layer, shape, count in data.rows]
    widths = [
        max(28, *(len(row[0]) + 2 for row in table)),
        max(26, *(len(row[1]) + 2 for row in table)),
        10,
    ]

    def line(cells: Sequence[str]) -> str:
        return (
            " "
            + "".join(
                cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
            )
        ).rstrip()

    trainable, non_trainable = data.trainable, data.non_trainable
    rule = 1 + sum(widths)
    return "\n".join(
        [
            f'Model: "{data.model_name}"',
            "_" * rule,
            line(("Layer (type)", "Output Shape", "Param #")),
            "=" * rule,
            *(line(row) for row in table),
            "=" * rule,
            f"Total params: {trainable + non_trainable:,}",
            f"Trainable params: {trainable:,}",
            f"Non-trainable params: {non_trainable:,}",
            "_" * rule,
        ]
    )


def summary_html(model: Module, input_shape: int | Sequence[int] | None = None) -> str:
    """:func:`summary` as an HTML table: how Jupyter shows a model.

    ``Module._repr_html_`` returns it, so a model on the last line of a notebook
    cell displays its layers, output shapes and parameter counts.

    Parameters
    ----------
    model : Module
        The model.
    input_shape : int or tuple of int, optional
        The shape of one sample, as for :func:`summary`.

    Returns
    -------
    str
        A ``<table>`` with a header row, one row per layer and the totals below.

    Example
    -------
    >>>     >>> table = summary_html(nn.Sequential(Linear(2, 4), nn.Sigmoid(), Linear(4, 1)))
    >>> table.count("<tr>"), "Total params: 17" in table
    (4, True)
    """
    from html import escape

    data = _summary_table(model, input_shape)
    right = ' style="text-align: right"'
    header = (
        f"<tr><th>Layer (type)</th><th>Output Shape</th><th{right}>Param #</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(layer)}</td><td>{escape(shape)}</td>"
        f"<td{right}>{count:,}</td></tr>"
        for layer, shape, count in data.rows
    )
    total = data.trainable + data.non_trainable
    return (
        f'<div><p><b>Model: "{escape(data.model_name)}"</b></p>'
        f"<table><thead>{header}</thead><tbody>{body}</tbody></table>"
        f"<p>Total params: {total:,}<br>Trainable params: {data.trainable:,}<br>"
        f"Non-trainable params: {data.non_trainable:,}</p></div>"
    )
