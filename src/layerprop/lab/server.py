"""The lab's web app (Starlette) and :func:`serve` (uvicorn), behind :class:`~.security.Guard`.

Routes — every one needs the token (see :mod:`.security`):

=====================  ===============================================================================
``GET /``              the page (graph and train tabs); its asset links carry the token
``GET /static/NAME``   the page's own script and style (shipped in the package, nothing from a CDN)
``POST /api/graph``    :func:`.graphs.evaluate` of ``{"expr"|"preset", "values"}`` → drawing and numbers
``POST /api/check``    :func:`.graphs.check` → each input's numerical-gradient error
``POST /api/dataset``  :func:`.userdata.parse_csv` of ``{"csv", "name"}`` → the points of a CSV file
``GET /api/limits``    :data:`~.limits.LIMITS`
``WS /ws/train``       commands in (``create``, ``start``, ``pause``, ``step``, ``inspect``, ``export``),
                       snapshots, errors and exports (a file, base64) out
=====================  ===============================================================================

A mistake in a request (a typo in an expression, a bad CSV file, a broken limit) is answered
``200`` with ``{"error": …, "error_ko": …}`` — the page shows it; it is not a failed request.

Parsing and gradient checks run in the thread pool, training in the job's own thread
(:mod:`.training`): the event loop only moves messages. The WebSocket's sender sends the job's
*latest* snapshot whenever the previous send has finished (at most every :data:`SEND_INTERVAL_S`),
so a slow browser sees fewer frames and the training never waits; when the page closes, its job stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import graphs, userdata
from .assets import ASSETS, asset, lab_page
from .limits import LIMITS, REQUEST_ERRORS, error_answer
from .security import Guard, allowed_hosts, new_token
from .training import JobSlots, TrainSession

#: request bodies above this size are refused (an expression and its values fit in far less)
MAX_BODY_BYTES = 64 * 1024
#: ... except a CSV file's (JSON escaping may double its size)
MAX_DATASET_BODY_BYTES = 2 * LIMITS["csv_bytes"] + 4096
#: the shortest time between two snapshots sent to one page
SEND_INTERVAL_S = 0.05


async def _json_body(request, limit: int = MAX_BODY_BYTES) -> dict:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ValueError(f"the request body is {declared} bytes; the limit is {limit}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ValueError(f"the request body is larger than the limit of {limit} bytes")
    data = json.loads(body or b"{}")
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


def _dataset(request: dict) -> dict:
    return userdata.parse_csv(request.get("csv"), request.get("name") or "")


def create_app(token: str, hosts: set, slots: JobSlots | None = None):
    """The ASGI app: routes (see the module docstring) wrapped in the token/Host/Origin guard."""
    slots = slots or JobSlots()

    async def page(request):
        return HTMLResponse(lab_page(token), headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    async def static(request):
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("not found\n", status_code=404)
        return Response(asset(name), media_type=ASSETS[name], headers={"Cache-Control": "no-store"})

    def api(function, limit=MAX_BODY_BYTES):
        async def endpoint(request):
            try:
                data = await _json_body(request, limit)
                return JSONResponse(await run_in_threadpool(function, data))
            except REQUEST_ERRORS as exc:
                return JSONResponse(error_answer(exc))  # a mistake is an answer, not a failed request

        return endpoint

    async def limits(request):
        return JSONResponse(LIMITS)

    async def train_socket(websocket: WebSocket):
        await websocket.accept()
        session = TrainSession(slots)
        sending = asyncio.Lock()

        async def send(message: dict):
            async with sending:
                await websocket.send_text(json.dumps(message))

        async def sender():
            version, watched = -1, None
            while True:
                job = session.job
                if job is not watched:  # a new job counts its snapshots from the start
                    version, watched = -1, job
                if job is not None:
                    new_version, snapshot = job.snapshot(version)
                    if snapshot is not None:
                        version = new_version
                        await send({"type": "snapshot", "snapshot": snapshot})
                await asyncio.sleep(SEND_INTERVAL_S)

        task = asyncio.create_task(sender())
        try:
            while True:
                text = await websocket.receive_text()
                for reply in await run_in_threadpool(session.handle_text, text):  # errors and exported files
                    await send(reply)
        except WebSocketDisconnect:
            pass
        finally:  # closing the page stops its job
            task.cancel()
            await run_in_threadpool(session.close)

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/graph", api(graphs.evaluate), methods=["POST"]),
        Route("/api/check", api(graphs.check), methods=["POST"]),
        Route("/api/dataset", api(_dataset, MAX_DATASET_BODY_BYTES), methods=["POST"]),
        Route("/api/limits", limits),
        WebSocketRoute("/ws/train", train_socket),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        slots.close_all()  # the server stops: so do the jobs

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.slots = slots
    return Guard(app, token, hosts)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True, announce=print) -> None:
    """Run the lab until Ctrl-C: bind, print the URL (with its token), optionally open the browser."""
    import uvicorn

    sock = bind(host, port)
    port = sock.getsockname()[1]
    token = new_token()
    slots = JobSlots()
    app = create_app(token, allowed_hosts(host, port), slots)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)
    url = f"http://{shown}:{port}/?token={token}"
    announce(f"layerprop lab: {url}")
    announce("(press Ctrl-C to stop)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    try:
        server.run(sockets=[sock])
    finally:
        slots.close_all()
        sock.close()
