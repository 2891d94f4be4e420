"""The playground's web app: static page, one WebSocket per tab, a few downloads.

Routes::

    GET  /                                   the page (static/index.html)
    GET  /static/...                         its CSS and ES modules
    GET  /api/options                        datasets, activations, losses, ...,
                                             the speeds and the server's limits
    WS   /ws                                 one training session per connection
    POST /api/sessions/{id}/upload?filename= a CSV file as the request body
    GET  /api/sessions/{id}/model            the model file (deepgrad.load reads it)
    GET  /api/sessions/{id}/history.csv      one row per epoch
    GET  /api/sessions/{id}/data.csv         the run's data, for `deepgrad train`

WebSocket messages are JSON objects with a ``type``. The page sends ``config``
(with ``config``: the run's options), ``play``, ``pause``, ``step`` (``unit``:
epoch or batch), ``reset``, ``speed`` (``value``: epochs per second, 0 for as
fast as it goes), ``inspect`` (``layer`` from 1, ``unit`` from 0), ``code`` and
``race`` (``rates``); it receives ``hello``, ``ready`` (the data and the
network), ``frame`` (pictures and the new epochs), the answers ``inspect``,
``code`` and ``race``, ``error`` (one line for a person; after a ``config``
whose other fields applied, ``fields`` maps each refused field to its line) and
``closed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from deepgrad.playground.config import Limits
from deepgrad.playground.data import DATASETS, read_upload
from deepgrad.playground.sessions import SPEEDS, Outbox, Session, SessionManager
from deepgrad.recipes import ACTIVATIONS, INITS, LOSSES, OPTIMIZERS

STATIC = resources.files("deepgrad.playground") / "static"
ANSWER_TIMEOUT = 60.0  # seconds a download waits for the session's thread


def _options(limits: Limits) -> dict[str, Any]:
    return {
        "datasets": [
            {"name": name, "label": label, "kind": kind, "noise": noise}
            for name, (label, kind, noise) in DATASETS.items()
        ],
        "activations": list(ACTIVATIONS),
        "inits": list(INITS),
        "losses": list(LOSSES),
        "optimizers": {name: lr for name, (_, lr, _) in OPTIMIZERS.items()},
        "speeds": list(SPEEDS),
        "limits": limits.as_dict(),
    }


def create_app(limits: Limits | None = None) -> FastAPI:
    """The playground as a FastAPI app (uvicorn serves it: ``deepgrad serve``).

    Parameters
    ----------
    limits : Limits, optional
        What the server allows; :class:`Limits`' defaults when omitted.
    """
    limits = limits or Limits()
    sessions = SessionManager(limits)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.create_task(_free_idle_sessions(sessions))
        try:
            yield
        finally:
            reaper.cancel()
            sessions.close_all()

    app = FastAPI(title="deepgrad playground", lifespan=lifespan, docs_url=None)
    app.state.sessions = sessions
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    @app.get("/api/options")
    async def options() -> dict[str, Any]:
        return _options(limits)

    @app.websocket("/ws")
    async def training(websocket: WebSocket) -> None:
        await websocket.accept()
        outbox = Outbox(asyncio.get_running_loop())
        try:
            session = sessions.create(outbox.post)
        except ValueError as error:
            await websocket.send_json({"type": "error", "message": str(error)})
            await websocket.close(code=1013)  # try again later
            return
        await websocket.send_json(
            {"type": "hello", "session": session.id, **_options(limits)}
        )
        sender = asyncio.create_task(_send(websocket, outbox))
        try:
            while True:
                text = await websocket.receive_text()
                message = _command(text)
                if "error" in message:
                    outbox.post({"type": "error", "message": message["error"]})
                else:
                    session.submit(message)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the tab went away, or the sender closed the socket
        finally:
            sender.cancel()
            sessions.remove(session)

    def _session(session_id: str) -> Session:
        try:
            return sessions.get(session_id)
        except KeyError:
            raise HTTPException(
                404, f"no session {session_id!r}: it was closed; reload the page"
            ) from None

    async def _answer(session: Session, kind: str) -> Any:
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(session.ask(kind)), ANSWER_TIMEOUT
            )
        except ValueError as error:
            raise HTTPException(400, str(error)) from None
        except asyncio.TimeoutError:
            raise HTTPException(
                503, "the session is busy; pause it and try again"
            ) from None

    @app.post("/api/sessions/{session_id}/upload")
    async def upload(
        session_id: str, request: Request, filename: str = "upload.csv"
    ) -> dict[str, Any]:
        session = _session(session_id)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit():
            _check_upload_size(int(declared), filename, limits)
        content = bytearray()
        async for chunk in request.stream():
            content += chunk
            _check_upload_size(len(content), filename, limits)
        try:
            uploaded = read_upload(filename, bytes(content), limits)
        except ValueError as error:
            raise HTTPException(400, str(error)) from None
        session.upload = uploaded  # read by the session's thread at the next config
        session.touch()
        return {
            "filename": uploaded.filename,
            "columns": list(uploaded.columns),
            "target": uploaded.columns[-1],
        }

    @app.get("/api/sessions/{session_id}/model")
    async def model(session_id: str) -> Response:
        content = await _answer(_session(session_id), "model")
        return _download(content, "playground-model.dg", "application/octet-stream")

    @app.get("/api/sessions/{session_id}/history.csv")
    async def history(session_id: str) -> Response:
        content = await _answer(_session(session_id), "history_csv")
        return _download(content, "playground-history.csv", "text/csv")

    @app.get("/api/sessions/{session_id}/data.csv")
    async def data(session_id: str) -> Response:
        content = await _answer(_session(session_id), "data_csv")
        return _download(content, "playground-data.csv", "text/csv")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    return app


def _check_upload_size(size: int, filename: str, limits: Limits) -> None:
    if size > limits.max_upload_bytes:
        raise HTTPException(
            413,
            f"{filename}: larger than the {limits.max_upload_bytes:,} bytes this "
            "server takes (--max-upload-bytes)",
        )


def _download(content: str | bytes, filename: str, media_type: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _command(text: str) -> dict[str, Any]:
    """A message from the page, or ``{"error": ...}`` saying what is wrong."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError as error:
        return {
            "error": f"a message must be JSON ({error.msg}), received: {text[:80]!r}"
        }
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return {
            "error": f"a message must be an object with a type, received: {text[:80]!r}"
        }
    if message["type"] == "close":
        return {"error": "close the WebSocket to end the session"}
    return message


async def _send(websocket: WebSocket, outbox: Outbox) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            message = await outbox.next()
            await websocket.send_json(message)
            if message["type"] == "closed":
                await websocket.close()
                return


async def _free_idle_sessions(sessions: SessionManager) -> None:
    """Close the sessions of tabs that have been silent for too long."""
    period = min(5.0, sessions.limits.idle_timeout / 4)
    while True:
        await asyncio.sleep(period)
        for session in sessions.idle():
            session.post_closed(
                f"this session was freed after {sessions.limits.idle_timeout:g} "
                "seconds without activity; reload the page to start again"
            )
            sessions.remove(session)
