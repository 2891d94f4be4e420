"""The ``deepgrad`` command line: train, evaluate, predict, datasets, gradcheck,
explain, sweep, serve (the web playground), export and kernels.

A thin typer app: each command parses its options, calls the library
(``deepgrad.recipes``, ``deepgrad.data``, ``deepgrad.train``, ``deepgrad.io``,
``deepgrad.metrics``, ...) and formats the result with rich. Exit codes: 0 on
success, 1 when ``gradcheck`` or ``explain`` finds a gradient off, when training
diverges (NaN loss) or when the run fails after it began (a save after training, a
full disk, memory running out), 2 for bad usage or bad input (an option out of
range, an unreadable file, an output that cannot be written, a network too large
for memory), each with one ``Error: ...`` line on stderr and no traceback, 130 when
training is interrupted with Ctrl-C.

``app`` holds the typer app and what the commands share, ``options`` the option
types declared once; each other module registers one group of commands on the app.
This package imports typer and rich at the top; ``import deepgrad`` never imports
it.
"""

from __future__ import annotations

import sys

try:
    from deepgrad.cli.app import app, main

    # isort: off
    # importing a module registers its commands; --help lists them in this order
    from deepgrad.cli import (  # noqa: F401
        train, models, datasets, backprop, sweep, serve,
    )  # fmt: skip
    from deepgrad.cli import export, kernels  # noqa: F401
except ModuleNotFoundError as missing:  # typer or rich: the command cannot start
    if missing.name not in ("typer", "rich"):
        raise
    _MISSING = missing.name

    def main() -> None:
        """Say in one line what installs the command line (typer and rich are
        dependencies of deepgrad, so only a broken install lacks them); exit 2."""
        print(
            f"Error: the deepgrad command needs {_MISSING}, which is not installed: "
            f"pip install {_MISSING}",
            file=sys.stderr,
        )
        raise SystemExit(2)


__all__ = ["app", "main"]
