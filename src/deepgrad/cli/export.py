"""``deepgrad export``: a model file as an ONNX graph, for other runtimes.

The model file stays the one format deepgrad saves and loads; the ONNX file is
a conversion of it (:func:`deepgrad.export.to_onnx`), written with the ``onnx``
package of the ``onnx`` extra, imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from deepgrad.cli.app import app, check_output_path, failures_during_run
from deepgrad.cli.options import ModelArgument
from deepgrad.export import DEFAULT_OPSET


def _shape_text(value_info: Any) -> str:
    """``probabilities (batch, 3)``: a graph input's or output's name and shape."""
    sizes = [
        dim.dim_param or str(dim.dim_value) or "?"
        for dim in value_info.type.tensor_type.shape.dim
    ]
    return f"{value_info.name} ({', '.join(sizes)})"


@app.command()
def export(
    model: ModelArgument,
    out: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="The .onnx file to write.", show_default=False
        ),
    ],
    opset: Annotated[
        int,
        typer.Option(metavar="N", help="The ONNX operator set version of the graph."),
    ] = DEFAULT_OPSET,
) -> None:
    """Write MODEL as an ONNX graph, its feature scaling included.

    A classifier's graph outputs probabilities and label, a regressor's
    prediction (in the targets' units), as `deepgrad predict` computes them.
    """
    from deepgrad import io
    from deepgrad.export import to_onnx

    if out.suffix.lower() != ".onnx":
        raise ValueError(
            f"export writes an ONNX file: give a .onnx file, received: {out}"
        )
    check_output_path("OUT", out)
    obj = io.load(model)
    with failures_during_run():
        proto = to_onnx(obj, out, opset=opset)
    inputs = ", ".join(_shape_text(value) for value in proto.graph.input)
    outputs = ", ".join(_shape_text(value) for value in proto.graph.output)
    typer.echo(f"Wrote {out} (ONNX opset {opset}): {inputs} -> {outputs}")
