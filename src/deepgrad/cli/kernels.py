"""``deepgrad kernels``: which kernels ``fit`` runs here, and building them once.

The compiled step of ``fit`` runs NumPy (the reference), Numba's kernels compiled
in each process (JIT), or the same kernels built ahead of time for this machine
(``deepgrad.kernels_aot``). ``deepgrad kernels`` says which are available and what
``auto`` picks; ``--build`` builds them (Numba and a C compiler needed, once).
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from deepgrad.cli.app import RunFailed, app, console


@app.command()
def kernels(
    build: Annotated[
        bool,
        typer.Option(
            "--build",
            help="Compile the kernels for this machine into the user cache "
            "(about 10 s, once; needs the fast extra and a C compiler).",
        ),
    ] = False,
    remove: Annotated[
        bool, typer.Option("--remove", help="Delete every kernel build in the cache.")
    ] = False,
) -> None:
    """Show which compiled kernels fit can use here; build them with --build.

    With the fast extra, fit's compiled step can run its elementwise work as
    fused Numba kernels. Built once with --build, they load in milliseconds
    without Numba in later runs; otherwise Numba compiles them in each process
    (about 0.7 s and 125 MB), so only long runs use them. DEEPGRAD_KERNELS=
    auto|numba|numba-aot|numba-jit|numpy chooses.
    """
    from deepgrad import fast, kernels_aot

    if remove:
        removed = kernels_aot.remove()
        typer.echo(
            f"removed {len(removed)} kernel build(s) from {kernels_aot.cache_folder()}"
        )
    if build:
        if not fast.kernels_installed():
            raise ImportError(
                "building the kernels needs Numba: pip install 'deepgrad[fast]'",
                name="numba",
            )
        console.print("building the kernels for this machine (float32 and float64)...")
        started = time.perf_counter()
        try:
            path = kernels_aot.build()
        except RuntimeError as error:
            raise RunFailed(str(error)) from error
        typer.echo(f"built {path} in {time.perf_counter() - started:.1f} s")
    path = kernels_aot.library_path()
    jit = fast.kernels_installed()
    typer.echo("numpy      always available (the reference path)")
    typer.echo(
        "numba-jit  "
        + (
            "available (Numba installed; compiles in each process)"
            if jit
            else "not installed: pip install 'deepgrad[fast]'"
        )
    )
    typer.echo(
        "numba-aot  "
        + (
            f"built: {path}"
            if path is not None
            else "not built: deepgrad kernels --build"
        )
    )
    folder = kernels_aot.cache_folder()
    others = [
        build
        for build in (sorted(folder.iterdir()) if folder.is_dir() else [])
        if path is None or build != path.parent
    ]
    if others:
        typer.echo(
            f"           {len(others)} other build(s) in {folder} (for other "
            "versions or machines); --remove deletes every build"
        )
    if path is not None:
        auto = (
            f"numba-aot for runs of {int(fast.KERNELS_BREAK_EVEN_AOT):,} parameter "
            "updates (parameters x steps) or more, else numpy"
        )
    elif jit:
        auto = (
            f"numba-jit for runs of {int(fast.KERNELS_BREAK_EVEN):,} parameter updates "
            f"or more ({int(fast.KERNELS_BREAK_EVEN_PLAIN_SGD):,} with plain SGD), "
            "else numpy"
        )
    else:
        auto = "numpy"
    typer.echo(f"auto picks {auto}")
