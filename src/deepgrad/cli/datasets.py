"""``deepgrad datasets``: the table of built-in datasets."""

from __future__ import annotations

import importlib.util

import typer
from rich.table import Table

from deepgrad.cli.app import EXTRA_OF_PACKAGE, app, console


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
    listed = data.available_datasets()
    for entry in listed:
        table.add_row(
            entry["name"],
            entry["task"],
            str(entry["n_samples"]),
            str(entry["n_features"]),
            str(entry["n_classes"] if entry["n_classes"] is not None else "-"),
            entry["description"],
        )
    console.print(table)
    # the sets that need an extra not installed here, one line per extra
    for package, extra in EXTRA_OF_PACKAGE.items():
        needing = [entry["name"] for entry in listed if entry["extra"] == extra]
        if needing and importlib.util.find_spec(package) is None:
            names = ", ".join(needing[:-1]) + " and " if len(needing) > 1 else ""
            typer.echo(
                f"{names}{needing[-1]} need the {extra} extra, which is not "
                f"installed: pip install 'deepgrad[{extra}]'"
            )
