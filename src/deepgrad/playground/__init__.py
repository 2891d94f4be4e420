"""The web playground (``deepgrad serve``): train in the browser on deepgrad.

``server`` is the FastAPI app (imported only by ``create_app``, so that
``deepgrad.playground.data`` and the code the page exports need no web
framework), ``sessions`` one training session per browser tab, ``data`` the
datasets and the plane they are drawn on, ``frames`` what the page draws,
``code`` the run as Python and as a command, ``config`` the options and the
server's limits; ``static/`` holds the page (HTML, CSS, ES modules; no build step).
"""

from __future__ import annotations

from typing import Any

from deepgrad.playground.config import Limits

__all__ = ["Limits", "create_app"]


def create_app(limits: Limits | None = None) -> Any:
    """The FastAPI app; see :func:`deepgrad.playground.server.create_app`.

    Raises
    ------
    ImportError
        Without FastAPI, with the command that installs it.
    """
    try:
        from deepgrad.playground.server import create_app as create
    except ImportError as error:
        if error.name not in ("fastapi", "starlette"):
            raise
        raise ImportError(
            "the playground needs FastAPI and uvicorn: pip install 'deepgrad[serve]'"
        ) from None
    return create(limits)
