"""``deepgrad serve``: the web playground, on uvicorn.

FastAPI and uvicorn come with the ``serve`` extra and are imported when the
command runs, never by ``deepgrad --help``. Ctrl-C stops the server and every
training session's thread, and exits 0.
"""

from __future__ import annotations

import threading
import webbrowser
from typing import Annotated

import typer

from deepgrad.cli.app import app
from deepgrad.playground.config import Limits

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def serve(
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS",
            help="Address to listen on; 127.0.0.1 (this machine only) by default. "
            "0.0.0.0 lets every machine that reaches this one train on it.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, metavar="PORT", help="Port.")
    ] = 8000,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the playground in the browser.")
    ] = False,
    max_sessions: Annotated[
        int, typer.Option(min=1, metavar="N", help="Browser tabs training at once.")
    ] = Limits.max_sessions,
    max_parameters: Annotated[
        int, typer.Option(min=1, metavar="N", help="Weights and biases of one network.")
    ] = Limits.max_parameters,
    max_samples: Annotated[
        int,
        typer.Option(
            min=4, metavar="N", help="Points of one dataset or uploaded file."
        ),
    ] = Limits.max_samples,
    max_epochs: Annotated[
        int, typer.Option(min=1, metavar="N", help="Epochs of one run.")
    ] = (Limits.max_epochs),
    max_upload_bytes: Annotated[
        int, typer.Option(min=1, metavar="BYTES", help="Size of an uploaded CSV file.")
    ] = Limits.max_upload_bytes,
    idle_timeout: Annotated[
        float,
        typer.Option(
            min=1,
            metavar="SECONDS",
            help="Seconds without activity before a tab's session is freed.",
        ),
    ] = Limits.idle_timeout,
) -> None:
    """Start the web playground: train in the browser, inspect backprop, copy as code.

    Each browser tab gets its own training session on this machine; the limits
    keep a small machine responsive.
    """
    try:
        import uvicorn

        from deepgrad.playground.server import create_app
    except ImportError:
        raise ValueError(
            "deepgrad serve needs FastAPI and uvicorn: pip install 'deepgrad[serve]'"
        ) from None
    limits = Limits(
        max_sessions=max_sessions,
        max_parameters=max_parameters,
        max_samples=max_samples,
        max_epochs=max_epochs,
        max_upload_bytes=max_upload_bytes,
        idle_timeout=idle_timeout,
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    typer.echo(f"deepgrad playground on {url} (listening on {host}; Ctrl-C stops it)")
    if host not in LOOPBACK:
        typer.echo(
            f"Warning: --host {host} lets other machines reach the playground and "
            "train on this one; it has no login. Use 127.0.0.1 unless you mean it.",
            err=True,
        )
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    uvicorn.run(create_app(limits), host=host, port=port, log_level="warning")
    typer.echo("Stopped the playground.")
