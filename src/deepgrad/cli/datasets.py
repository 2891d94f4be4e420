"""``deepgrad datasets``: the table of built-in datasets."""

from __future__ import annotations

from rich.table import Table

from deepgrad.cli.app import app, console


@app.command()
def datasets() -> None:
    """List the built-in datasets."""
    from deepgrad import data

    table = Table()
    for column in ("name", "task", "samples", "features", "classes", "description"):
        table.add_column(
            column,
            justify="right" if column in ("samples", "features", "classes") else "left",
        )
    for entry in data.available_datasets():
        table.add_row(
            entry["name"],
            entry["task"],
            str(entry["n_samples"]),
            str(entry["n_features"]),
            str(entry["n_classes"] if entry["n_classes"] is not None else "-"),
            entry["description"],
        )
    console.print(table)
