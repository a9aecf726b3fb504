"""The lab's web app (Starlette) and :func:`serve` (uvicorn), behind :class:`~.security.Guard`.

Routes — every one needs the token (see :mod:`.security`):

=====================  ===============================================================================
``GET /``              the page (graph and train tabs); its asset links carry the token (without the
                       token: :func:`.share_links.token_help_page`, status 403)
``GET /static/NAME``   the page's own script and style (shipped in the package, nothing from a CDN)
``POST /api/graph``    :func:`.graphs.evaluate` of ``{"expr"|"preset", "values"}`` → drawing and numbers
``POST /api/check``    :func:`.graphs.check` → each input's numerical-gradient error
``POST /api/dataset``  :func:`.userdata.parse_csv` of ``{"csv", "name"}`` → the points of a CSV file
``GET /api/limits``    :data:`~.limits.LIMITS`
``GET /api/layers``    the learner's classes of ``--layers FILE.py`` and the doctor's verdicts
``POST /api/layers/graph``  the graph with chosen nodes run by those classes (:mod:`.learner_layers`)
``WS /ws/train``       commands in (``create``, ``start``, ``pause``, ``step``, ``inspect``, ``export``;
                       :class:`.training.TrainSession`), snapshots, errors and exports (a file, base64) out
=====================  ===============================================================================

Parsing and gradient checks run in the thread pool, training in the job's own thread
(:mod:`.training`): the event loop only moves messages. The WebSocket's sender sends the job's
*latest* snapshot whenever the previous send has finished (at most every :data:`SEND_INTERVAL_S`),
so a slow browser sees fewer frames and the training never waits.

Bounded against hostile clients (any local program can connect):

- a request body is at most :data:`MAX_BODY_BYTES` (a CSV file's :data:`MAX_DATASET_BODY_BYTES`) and
  must arrive within :data:`BODY_TIMEOUT_S`;
  a WebSocket message at most :data:`MAX_MESSAGE_BYTES`, uncompressed (permessage-deflate is
  refused: 15 KB on the wire cannot become 15 MB here); request headers have a deadline and the
  connections a cap (:mod:`.connections`);
- a page's commands wait in a queue of at most :data:`MAX_PENDING_COMMANDS`; a ``create``
  replaces the commands queued before it (they were for the job it replaces); when the page goes,
  the queued commands are dropped, the command in progress is the last, and its job stops;
- every answer is JSON: a number that is not finite (a diverged network) travels as ``null``
  (:func:`json_text`); a binary frame, a bad command or a bad request gets one error message;
- the server's own problems reach stderr as one line per kind, at most once a minute (:mod:`.log`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import socket
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import graphs, userdata
from .assets import ASSETS, asset, lab_page
from .connections import HEADER_TIMEOUT_S, accept_backlog, connection_cap, guarded_http_protocol
from .limits import LIMITS, MAX_ERROR_CHARS, REQUEST_ERRORS, LabLimitError, error_answer, finite_only
from .log import one_line_logging
from .security import Guard, allowed_hosts, lab_url, new_token, remove_redirect_file, write_redirect_file
from .share_links import token_help_page
from .training import JobSlots, TrainSession

logger = logging.getLogger("layerprop.lab")

#: request bodies above this size are refused (an expression and its values fit in far less) ...
MAX_BODY_BYTES = 64 * 1024
#: ... except a CSV file's (JSON escaping may double its size)
MAX_DATASET_BODY_BYTES = 2 * LIMITS["csv_bytes"] + 4096
#: seconds a request body has to arrive, once its headers have
BODY_TIMEOUT_S = 10.0
#: WebSocket messages above this size close the connection (code 1009); a command is a few hundred
#: bytes, a ``create`` with the largest data set the lab takes (2000 points, each two floats of at most
#: 24 characters and a class) about 110 KB
MAX_MESSAGE_BYTES = 128 * 1024
#: a page's commands waiting to be carried out, at most
MAX_PENDING_COMMANDS = 8
#: the commands of the train page's WebSocket
COMMANDS = TrainSession.COMMANDS
#: the shortest time between two snapshots sent to one page
SEND_INTERVAL_S = 0.05
__all__ = ["MAX_ERROR_CHARS", "REQUEST_ERRORS", "create_app", "json_text", "serve"]


def json_text(message) -> str:
    """``message`` as JSON text. JSON has no NaN or Infinity (a browser's JSON.parse refuses them):
    a number that is not finite is sent as ``null``."""
    try:
        return json.dumps(message, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(finite_only(message), allow_nan=False, ensure_ascii=False, separators=(",", ":"))


class LabJSONResponse(JSONResponse):
    """A JSON answer written by :func:`json_text`."""

    def render(self, content) -> bytes:
        return json_text(content).encode("utf-8")


async def _json_body(request, limit: int = MAX_BODY_BYTES) -> dict:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ValueError(f"the request body is {declared[:20]} bytes; the limit is {limit}")
    body = bytearray()
    try:
        with anyio.fail_after(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise ValueError(f"the request body is larger than the limit of {limit} bytes")
    except TimeoutError:
        raise ValueError(f"the request body did not arrive within {BODY_TIMEOUT_S:g} s") from None
    data = json.loads(bytes(body) or b"{}")
    if not isinstance(data, dict):
        raise ValueError("the request body must be a JSON object")
    return data


def _internal_error(exc) -> dict:
    """The answer to a bug of the lab (not a mistake in the request): one line here and on the page."""
    logger.error("internal error", exc_info=exc)
    return {"error": f"internal error of the lab ({type(exc).__name__}); please report it"}


class TrainChannel:
    """One train page's WebSocket: commands in (a bounded queue), the job's snapshots out.

    Three tasks: :meth:`receive` reads the socket until the page goes, :meth:`work` carries the
    commands out one at a time, :meth:`send_snapshots` sends the job's latest snapshot. When the
    page goes, the queue is dropped, the command in progress finishes (a job being built cannot be
    cut short) and the page's job stops.
    """

    def __init__(self, websocket: WebSocket, slots: JobSlots):
        self.websocket = websocket
        self.session = TrainSession(slots)  # what the commands do (the notebook widgets speak it too)
        self.pending: collections.deque = collections.deque()
        self.arrived = asyncio.Event()
        self.gone = False
        self._sending = asyncio.Lock()

    async def run(self) -> None:
        sender = asyncio.create_task(self.send_snapshots())
        worker = asyncio.create_task(self.work())
        try:
            await self.receive()
        finally:  # closing the page stops its job
            self.gone = True
            self.pending.clear()
            self.arrived.set()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await run_in_threadpool(self.session.close)

    @property
    def job(self):
        return self.session.job

    async def send(self, message: dict) -> bool:
        """Send ``message``; False when the page has gone."""
        if self.gone:
            return False
        try:
            async with self._sending:
                await self.websocket.send_text(json_text(message))
            return True
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.gone = True
            return False

    async def error(self, exc) -> None:
        answer = error_answer(exc)
        await self.send({"type": "error", "message": answer["error"], "message_ko": answer.get("error_ko")})

    async def receive(self) -> None:
        while not self.gone:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                command = self.parse(message)
            except REQUEST_ERRORS as exc:
                await self.error(exc)
                continue
            if command["cmd"] == "create":
                self.pending.clear()  # the commands before it were for the job it replaces
            elif len(self.pending) >= MAX_PENDING_COMMANDS:
                await self.error(
                    LabLimitError(
                        f"more than {MAX_PENDING_COMMANDS} commands are waiting; this one was dropped "
                        "(wait for the lab to catch up)",
                        f"기다리는 명령이 {MAX_PENDING_COMMANDS}개를 넘어 이 명령은 버렸습니다 "
                        "(lab이 따라잡을 때까지 기다리세요)",
                    )
                )
                continue
            self.pending.append(command)
            self.arrived.set()

    @staticmethod
    def parse(message: dict) -> dict:
        """The command in one WebSocket message (JSON text ``{"cmd": …}``), or a clear error."""
        text = message.get("text")
        if text is None:
            raise LabLimitError(
                "the lab takes commands as JSON text, not binary frames",
                "lab은 명령을 바이너리 프레임이 아닌 JSON 텍스트로 받습니다",
            )
        command = json.loads(text)
        name = command.get("cmd") if isinstance(command, dict) else None
        if not isinstance(name, str) or name not in COMMANDS:
            shown = repr(name) if len(repr(name)) <= 40 else repr(name)[:39] + "…"
            raise LabLimitError(f"unknown command {shown}; the commands are {', '.join(COMMANDS)}")
        return command

    async def work(self) -> None:
        while not self.gone:
            if not self.pending:
                self.arrived.clear()
                await self.arrived.wait()
                continue
            command = self.pending.popleft()
            try:
                await self.execute(command)
            except REQUEST_ERRORS as exc:
                await self.error(exc)
            except Exception as exc:  # a bug: one line on stderr, one message on the page
                await self.send({"type": "error", "message": _internal_error(exc)["error"]})

    async def execute(self, command: dict) -> None:
        if command["cmd"] == "create" and self.gone:
            return  # the page went while it waited: no job for it
        for reply in await run_in_threadpool(self.session.handle, command):  # an error, an exported file
            await self.send(reply)

    async def send_snapshots(self) -> None:
        version, watched = -1, None
        while not self.gone:
            job = self.job
            if job is not watched:  # a new job counts its snapshots from the start
                version, watched = -1, job
            if job is not None:
                new_version, snapshot = job.snapshot(version)
                if snapshot is not None:
                    version = new_version
                    if not await self.send({"type": "snapshot", "snapshot": snapshot}):
                        return
            await asyncio.sleep(SEND_INTERVAL_S)


def _dataset(request: dict) -> dict:
    return userdata.parse_csv(request.get("csv"), request.get("name") or "")


def create_app(token: str, hosts: set, slots: JobSlots | None = None, on_page=None, layers=None):
    """The ASGI app: routes (see the module docstring) wrapped in the token/Host/Origin guard.

    ``on_page()`` is called each time the page is served; ``layers`` are the learner's classes (a
    :class:`~.learner_layers.LearnerLayers`), from ``layerprop lab --layers FILE.py``; None without
    the option.
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
        if on_page is not None:
            on_page()
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
                return LabJSONResponse(await run_in_threadpool(function, data))
            except REQUEST_ERRORS as exc:
                return LabJSONResponse(error_answer(exc), status_code=400)
            except Exception as exc:  # a bug of the lab: one line, never a traceback on the page
                return LabJSONResponse(_internal_error(exc), status_code=500)

        return endpoint

    async def limits(request):
        return LabJSONResponse(LIMITS)

    async def train_socket(websocket: WebSocket):
        await websocket.accept()
        await TrainChannel(websocket, slots).run()

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/graph", api(graphs.evaluate), methods=["POST"]),
        Route("/api/check", api(graphs.check), methods=["POST"]),
        Route("/api/dataset", api(_dataset, MAX_DATASET_BODY_BYTES), methods=["POST"]),
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
    return Guard(app, token, hosts, help_page=token_help_page())


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


def open_in_browser(redirect_file: str) -> bool:
    """Start the user's browser on ``redirect_file`` (:func:`~.security.write_redirect_file`), so
    the token stays off the browser's command line; False when no browser could be started."""
    import webbrowser

    return webbrowser.open(Path(redirect_file).as_uri())


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    open_browser: bool = True,
    announce=print,
    *,
    debug: bool = False,
    layers=None,
    fragment: str = "",
    header_timeout_s: float = HEADER_TIMEOUT_S,
    max_connections: int | None = None,
) -> None:
    """Run the lab until Ctrl-C: bind, print the URL (with its token), optionally open the browser.

    ``layers``: the learner's classes for the graph page (see :func:`create_app`); ``fragment``: a
    page's state from a shared link (:func:`.share_links.shared_fragment`), put after the URL's
    ``#`` — in the printed URL and the redirect file, never sent to the server; ``debug`` writes
    every problem in full (tracebacks included) instead of one line per kind;
    ``header_timeout_s`` and ``max_connections`` are the rules of :mod:`.connections`.
    """
    import uvicorn
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    sock = bind(host, port)
    port = sock.getsockname()[1]
    token = new_token()
    slots = JobSlots()
    url = lab_url(host, port, token, fragment)
    redirect = write_redirect_file(url) if open_browser else None
    # the redirect file has done its work once the page is served (and goes when the lab stops)
    app = create_app(
        token, allowed_hosts(host, port), slots, on_page=lambda: remove_redirect_file(redirect), layers=layers
    )
    announce(f"layerprop lab: {url}")
    announce("(press Ctrl-C to stop)")
    cap = connection_cap() if max_connections is None else max_connections
    config = uvicorn.Config(
        app,
        http=guarded_http_protocol(AutoHTTPProtocol, header_timeout_s, cap),
        backlog=accept_backlog(cap),
        ws_max_size=MAX_MESSAGE_BYTES,
        ws_per_message_deflate=False,
        log_config=None,  # the lab's own: one line per kind of problem (.log)
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    with one_line_logging(debug=debug):
        try:
            if redirect is not None and not open_in_browser(redirect):
                remove_redirect_file(redirect)
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            slots.close_all()
            sock.close()
            remove_redirect_file(redirect)
