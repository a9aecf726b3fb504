"""The lab's web app (Starlette) and :func:`serve` (uvicorn), behind :class:`~.security.Guard`.

Routes — every one needs the token (see :mod:`.security`):

=====================  ===============================================================================
``GET /``              the page (graph and train tabs); its asset links carry the token
``GET /static/NAME``   the page's own script and style (shipped in the package, nothing from a CDN)
``POST /api/graph``    :func:`.graphs.evaluate` of ``{"expr"|"preset", "values"}`` → drawing and numbers
``POST /api/check``    :func:`.graphs.check` → each input's numerical-gradient error
``GET /api/limits``    :data:`~.limits.LIMITS`
``GET /api/layers``    the learner's classes of ``--layers FILE.py`` and the doctor's verdicts
``POST /api/layers/graph``  the graph with chosen nodes run by those classes (:mod:`.learner_layers`)
``WS /ws/train``       commands in (``create``, ``start``, ``pause``, ``step``, ``inspect``), snapshots out
=====================  ===============================================================================

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
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import LayerpropError
from . import graphs
from .limits import LIMITS, LabLimitError
from .security import Guard, allowed_hosts, new_token
from .training import JobSlots

#: the files under ``static/`` the app serves, with their content types
ASSETS = {
    "lab.js": "text/javascript; charset=utf-8",
    "lab.css": "text/css; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "layers.js": "text/javascript; charset=utf-8",
}
#: request bodies above this size are refused (an expression and its values fit in far less)
MAX_BODY_BYTES = 64 * 1024
#: the shortest time between two snapshots sent to one page
SEND_INTERVAL_S = 0.05
#: the errors whose message the page shows (a mistake in the request, not a bug)
REQUEST_ERRORS = (LayerpropError, ValueError, TypeError, RecursionError)


def _error(exc) -> dict:
    """The page's error: one line, and its Korean wording when the error has one."""
    answer = {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
    if getattr(exc, "message_ko", None):
        answer["error_ko"] = exc.message_ko
    return answer


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


async def _json_body(request) -> dict:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ValueError(f"the request body is {declared} bytes; the limit is {MAX_BODY_BYTES}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ValueError(f"the request body is larger than the limit of {MAX_BODY_BYTES} bytes")
    data = json.loads(body or b"{}")
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


def create_app(token: str, hosts: set, slots: JobSlots | None = None, layers=None):
    """The ASGI app: routes (see the module docstring) wrapped in the token/Host/Origin guard.

    ``layers`` — the learner's classes (a :class:`~.learner_layers.LearnerLayers`), from
    ``layerprop lab --layers FILE.py``; None without the option.
    """
    slots = slots or JobSlots()

    def own_layers(request: dict) -> dict:
        if layers is None:
            raise LabLimitError(
                "start the lab with --layers FILE.py to use your own layers",
                "내 계층을 쓰려면 lab을 --layers FILE.py로 시작하세요",
            )
        return layers.evaluate(request)

    async def layer_listing(request):
        if layers is None:
            return JSONResponse({"file": None, "layers": []})
        return JSONResponse(await run_in_threadpool(layers.listing))

    async def page(request):
        html = _asset("index.html").replace("{{TOKEN}}", token)
        return HTMLResponse(html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    async def static(request):
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("not found\n", status_code=404)
        return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "no-store"})

    def api(function):
        async def endpoint(request):
            try:
                data = await _json_body(request)
                return JSONResponse(await run_in_threadpool(function, data))
            except REQUEST_ERRORS as exc:
                return JSONResponse(_error(exc), status_code=400)

        return endpoint

    async def limits(request):
        return JSONResponse(LIMITS)

    async def train_socket(websocket: WebSocket):
        await websocket.accept()
        state = {"job": None}
        sending = asyncio.Lock()

        async def send(message: dict):
            async with sending:
                await websocket.send_text(json.dumps(message))

        async def sender():
            version, watched = -1, None
            while True:
                job = state["job"]
                if job is not watched:  # a new job counts its snapshots from the start
                    version, watched = -1, job
                if job is not None:
                    new_version, snapshot = job.snapshot(version)
                    if snapshot is not None:
                        version = new_version
                        await send({"type": "snapshot", "snapshot": snapshot})
                await asyncio.sleep(SEND_INTERVAL_S)

        async def replace_job(config):
            old, state["job"] = state["job"], None
            await run_in_threadpool(slots.close, old)
            state["job"] = await run_in_threadpool(slots.open, config)

        task = asyncio.create_task(sender())
        try:
            while True:
                try:
                    message = json.loads(await websocket.receive_text())
                    command = message.get("cmd") if isinstance(message, dict) else None
                    job = state["job"]
                    if command == "create":
                        await replace_job(message.get("config") or {})
                    elif command in ("start", "pause", "step") and job is not None:
                        getattr(job, command)()
                    elif command == "inspect" and job is not None:
                        await run_in_threadpool(job.inspect, str(message.get("key")))
                    elif command == "close":
                        await run_in_threadpool(slots.close, job)
                        state["job"] = None
                    elif command not in ("start", "pause", "step", "inspect"):
                        raise ValueError(f"unknown command {command!r}")
                except REQUEST_ERRORS as exc:
                    error = _error(exc)
                    await send({"type": "error", "message": error["error"], "message_ko": error.get("error_ko")})
        except WebSocketDisconnect:
            pass
        finally:  # closing the page stops its job
            task.cancel()
            await run_in_threadpool(slots.close, state["job"])

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/graph", api(graphs.evaluate), methods=["POST"]),
        Route("/api/check", api(graphs.check), methods=["POST"]),
        Route("/api/limits", limits),
        Route("/api/layers", layer_listing),
        Route("/api/layers/graph", api(own_layers), methods=["POST"]),
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


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True, announce=print, layers=None) -> None:
    """Run the lab until Ctrl-C: bind, print the URL (with its token), optionally open the browser.

    ``layers``: the learner's classes for the graph page (see :func:`create_app`)."""
    import uvicorn

    sock = bind(host, port)
    port = sock.getsockname()[1]
    token = new_token()
    slots = JobSlots()
    app = create_app(token, allowed_hosts(host, port), slots, layers)
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
