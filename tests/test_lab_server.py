"""The lab's HTTP and WebSocket layer against hostile and broken clients.

Each test that needs a server starts its own ``layerprop lab`` process (tests/lab_helpers.py) and
always stops it; every loop of requests is bounded in count and in time and goes only to
127.0.0.1. The rest drive the ASGI app or the channel in this process.
"""

import asyncio
import http.client
import json
import logging
import os
import socket
import stat
import sys
import time
import urllib.parse

import pytest
from lab_helpers import LabProcess, RecordingBrowser, serve_command
from optional import need

for _module in ("starlette", "uvicorn", "websockets"):
    need(_module, "pip install 'layerprop[lab]'")

from layerprop.lab import connections, log, server
from layerprop.lab.security import Guard, allowed_hosts, lab_url

MiB = 1024 * 1024


@pytest.fixture
def lab():
    with LabProcess() as process:
        yield process


def peak_memory(pid) -> int | None:
    """The process's peak resident memory in bytes (Linux /proc), or None where that is not known."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            fields = stat_file.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def websocket(lab, **options):
    from websockets.sync.client import connect

    return connect(
        f"ws://127.0.0.1:{lab.port}/ws/train?token={lab.token}",
        origin=f"http://127.0.0.1:{lab.port}",
        open_timeout=10,
        close_timeout=5,
        **options,
    )


def strict_json(text: str):
    """``json.loads`` that refuses NaN and Infinity, as a browser's JSON.parse does."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def request(lab, method, path, body=None, headers=None, timeout=10):
    connection = http.client.HTTPConnection("127.0.0.1", lab.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers={"X-Lab-Token": lab.token, **(headers or {})})
        reply = connection.getresponse()
        return reply.status, reply.read().decode()
    finally:
        connection.close()


def reachable(lab) -> int:
    return request(lab, "GET", "/api/limits", timeout=10)[0]


def tracebacks_and_lines(text: str):
    return text.count("Traceback"), len(text.splitlines())


# -- WebSocket messages ----------------------------------------------------------------------------
def test_compressible_floods_are_refused_at_the_first_message(lab):
    """The audit: 30 permessage-deflate messages of 15 MB (15 KB on the wire) took 9.7 GB. Now the
    server refuses compression and closes the connection at 64 KB (code 1009)."""
    from websockets.exceptions import ConnectionClosed

    before = peak_memory(lab.pid)
    flood = json.dumps({"cmd": "inspect", "key": "a" * (15 * MiB)})
    with websocket(lab, compression="deflate", max_size=None) as ws:
        assert ws.protocol.extensions == []  # permessage-deflate was not agreed
        sent = 0
        with pytest.raises(ConnectionClosed):
            for _ in range(30):
                ws.send(flood)
                sent += 1
            ws.recv(timeout=10)
    assert sent <= 1
    with websocket(lab) as ws:  # a command a little over the limit: closed with 1009, message too big
        ws.send(json.dumps({"cmd": "inspect", "key": "a" * (server.MAX_MESSAGE_BYTES + 10)}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    after = peak_memory(lab.pid)
    if before is not None:
        assert after - before < 64 * MiB, f"peak memory grew by {(after - before) / MiB:.0f} MiB"
    assert reachable(lab) == 200
    assert tracebacks_and_lines(lab.stderr())[0] == 0


def test_binary_frames_and_bad_commands_get_one_error_each(lab):
    with websocket(lab) as ws:
        for message, expected in (
            (b"\x00\x01binary", "not binary frames"),
            ("{not json", "Expecting property name"),
            ("[1, 2]", "unknown command"),
            (json.dumps({"cmd": "fly"}), "unknown command 'fly'; the commands are create, start"),
            (json.dumps({"cmd": "x" * 5000}), "unknown command"),
            (json.dumps({"cmd": "create", "config": {"dataset": "a" * 50_000}}), "unknown data set 'aaa"),
        ):
            ws.send(message)
            answer = strict_json(ws.recv(timeout=10))
            assert answer["type"] == "error" and expected in answer["message"], answer
            assert len(answer["message"]) <= server.MAX_ERROR_CHARS and "\n" not in answer["message"]
        ws.send(json.dumps({"cmd": "create", "config": {"dataset": "xor", "hidden": [4], "samples": 100}}))
        assert strict_json(ws.recv(timeout=20))["type"] == "snapshot"  # the connection still works
    assert tracebacks_and_lines(lab.stderr())[0] == 0


def test_diverged_training_is_sent_as_json_and_stays_paused(lab):
    """lr 9.9 (under the stated limit of 10) makes this network's weights overflow: the snapshots
    stay valid JSON (null where a number is NaN) and say the job diverged."""
    config = {"dataset": "moons", "lr": 9.9, "optimizer": "SGD", "activation": "relu", "hidden": [256] * 4}
    with websocket(lab) as ws:
        ws.send(json.dumps({"cmd": "create", "config": {**config, "steps_per_second": 2000}}))
        ws.send(json.dumps({"cmd": "start"}))
        deadline = time.monotonic() + 60
        snapshot = {}
        while not snapshot.get("diverged") and time.monotonic() < deadline:
            snapshot = strict_json(ws.recv(timeout=30))["snapshot"]  # every message parses strictly
        diverged = snapshot["diverged"]
        assert diverged and diverged["step"] >= 1, snapshot.get("step")
        assert snapshot["running"] is False
        first = snapshot["losses"][0][1]  # the loss that blew up: past 10 × the first (null if not a number)
        assert snapshot["loss"] is None or snapshot["loss"] > 10 * max(first, 1)
        ws.send(json.dumps({"cmd": "start"}))  # a diverged job does not go on
        ws.send(json.dumps({"cmd": "step"}))
        again = strict_json(ws.recv(timeout=20))["snapshot"]
        assert again["running"] is False and again["step"] == snapshot["step"]
    assert "RuntimeWarning" not in lab.stderr()


# -- the page's command queue ------------------------------------------------------------------------
class _Socket:
    """A WebSocket of a page that sends ``messages`` (the rest 10 ms after the first) and then goes."""

    def __init__(self, messages):
        self.incoming = [{"type": "websocket.receive", "text": text} for text in messages]
        self.sent = []
        self.received = 0

    async def receive(self):
        await asyncio.sleep(0.01 if self.received == 1 else 0)  # the first command has begun
        self.received += 1
        return self.incoming.pop(0) if self.incoming else {"type": "websocket.disconnect", "code": 1001}

    async def send_text(self, text):
        self.sent.append(strict_json(text))


class _Job:
    def snapshot(self, version=-1):
        return 0, None


class _Slots:
    """JobSlots that count: each job takes 50 ms to build."""

    def __init__(self):
        self.opened, self.closed = [], []

    def open(self, config, ticket=None):
        time.sleep(0.05)
        job = _Job()
        self.opened.append(job)
        return job

    def close(self, job):
        if job is not None:
            self.closed.append(job)


def test_queued_commands_are_dropped_when_the_page_goes():
    create = json.dumps({"cmd": "create", "config": {}})
    slots = _Slots()
    asyncio.run(server.TrainChannel(_Socket([create] * 200), slots).run())
    # the page went while its first create was being built: the other 199 were dropped, not built
    assert len(slots.opened) == 1
    assert slots.closed == slots.opened  # and the page's job stopped with it


def test_the_command_queue_is_bounded():
    messages = [json.dumps({"cmd": "create", "config": {}})] + [json.dumps({"cmd": "step"})] * 50
    page = _Socket(messages)
    slots = _Slots()
    asyncio.run(server.TrainChannel(page, slots).run())
    dropped = [m for m in page.sent if m["type"] == "error" and "commands are waiting" in m["message"]]
    assert dropped and all(m["message_ko"] for m in dropped)
    assert len(dropped) >= 50 - server.MAX_PENDING_COMMANDS


def test_a_page_that_queues_200_creates_and_closes_frees_the_server(lab):
    """The audit: 200 queued MNIST ``create`` messages kept a core busy 55 s after the page closed."""
    config = {"dataset": "mnist", "samples": 6000, "hidden": [256] * 4}
    with websocket(lab) as ws:
        for _ in range(200):
            ws.send(json.dumps({"cmd": "create", "config": config}))
    time.sleep(1.0)  # the create in progress when the page went
    start = cpu_seconds(lab.pid)
    time.sleep(3.0)
    if start is not None:
        busy = cpu_seconds(lab.pid) - start
        assert busy < 1.5, f"the server used {busy:.1f} s of CPU in the 3 s after the page closed"
    for _ in range(2):  # both job slots are free again
        with websocket(lab) as ws:
            ws.send(json.dumps({"cmd": "create", "config": {"dataset": "xor", "hidden": [4], "samples": 100}}))
            assert strict_json(ws.recv(timeout=30))["type"] == "snapshot"


# -- connections -------------------------------------------------------------------------------------
def _half_open(port, count, deadline_s=60.0):
    """``count`` connections that each send half a request and wait (bounded by ``deadline_s``)."""
    sockets, deadline = [], time.monotonic() + deadline_s
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sockets.append(sock)
            sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
    except OSError:
        pass
    return sockets


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sets RLIMIT_NOFILE of the server (Linux)")
def test_half_open_connections_neither_lock_users_out_nor_flood_stderr():
    """The audit: 1100 half-open requests made the lab unreachable and wrote 357,579 tracebacks.
    Here the server may open 256 files (so its cap is 96 connections) and gets 400 of them."""
    with LabProcess(max_files=256) as lab:
        sockets = _half_open(lab.port, 400)
        try:
            assert len(sockets) == 400
            assert reachable(lab) == 200
            tracebacks, lines = tracebacks_and_lines(lab.stderr())
            assert tracebacks == 0 and lines <= 4, lab.stderr()[-2000:]
            assert "more than 96 connections" in lab.stderr()
        finally:
            for sock in sockets:
                sock.close()


def test_a_request_must_send_its_headers_in_time():
    with LabProcess(command=serve_command(header_timeout_s=1.0)) as lab:
        with socket.create_connection(("127.0.0.1", lab.port), timeout=10) as sock:  # half a request
            sock.sendall(f"GET /api/limits?token={lab.token} HTTP/1.1\r\nHost: 127.0.0.1:{lab.port}\r\n".encode())
            assert sock.recv(100) == b""  # closed by the server, long before this socket's timeout
        with socket.create_connection(("127.0.0.1", lab.port), timeout=10) as sock:  # keep-alive, then half
            whole = f"GET /api/limits?token={lab.token} HTTP/1.1\r\nHost: 127.0.0.1:{lab.port}\r\n\r\n"
            sock.sendall(whole.encode())
            reply = http.client.HTTPResponse(sock)
            reply.begin()
            assert reply.status == 200 and reply.read() and not reply.will_close
            sock.sendall(whole[:30].encode())
            assert sock.recv(100) == b""
        with websocket(lab) as ws:  # a WebSocket outlives the header deadline
            time.sleep(1.5)
            ws.send(json.dumps({"cmd": "create", "config": {"dataset": "xor", "hidden": [4], "samples": 100}}))
            assert strict_json(ws.recv(timeout=20))["type"] == "snapshot"
        assert reachable(lab) == 200
        assert "header timeout" in lab.stderr() and "Traceback" not in lab.stderr()


def test_connection_caps():
    assert connections.connection_cap(1024) == 256
    assert connections.connection_cap(256) == 96
    assert connections.connection_cap(100_000) == connections.MAX_CONNECTIONS
    assert connections.connection_cap(20) == 8
    assert connections.accept_backlog(96) == 96 and connections.accept_backlog(256) == 128


# -- HTTP requests -----------------------------------------------------------------------------------
def test_bad_requests_get_one_line_and_no_traceback(lab):
    for path, body, expected in (
        ("/api/graph", {"expr": "x*y", "values": [1, 2]}, "values must be an object"),
        ("/api/check", {"expr": "x*y", "values": [1, 2]}, "values must be an object"),
        ("/api/graph", {"expr": "x*x;x*x"}, "given twice"),
        ("/api/check", {"expr": "x*x;x*x"}, "given twice"),
        ("/api/graph", [1, 2], "must be a JSON object"),
        ("/api/graph", "[" * 5000, None),
    ):
        status, text = request(lab, "POST", "/api/graph" if path is None else path, json.dumps(body))
        assert status == 400, (body, status, text)
        answer = strict_json(text)
        assert expected is None or expected in answer["error"], answer
    status, text = request(lab, "POST", "/api/graph", b"\xff\xfe not json")
    assert status == 400 and strict_json(text)["error"]
    status, text = request(lab, "POST", "/api/graph", b"x" * (server.MAX_BODY_BYTES + 1))
    assert status == 400 and "limit" in strict_json(text)["error"]
    assert tracebacks_and_lines(lab.stderr()) == (0, 0)


def _call_app(app, method, path, body=b"", headers=()):
    """One HTTP request through the ASGI ``app`` in this process: (status, body)."""
    sent = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8765"), *headers],
        "scheme": "http",
        "server": ("127.0.0.1", 8765),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_bug_gives_one_line_not_a_traceback(monkeypatch, caplog):
    def broken(request):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(server.graphs, "check", broken)
    app = server.create_app("tok", allowed_hosts("127.0.0.1", 8765))
    with caplog.at_level(logging.ERROR, logger="layerprop.lab"):
        status, body = _call_app(app, "POST", "/api/check", b"{}", [(b"x-lab-token", b"tok")])
    assert status == 500
    assert json.loads(body) == {"error": "internal error of the lab (ZeroDivisionError); please report it"}
    handler = log.OneLinePerKind()
    assert [handler.line(r) for r in caplog.records] == [
        "layerprop lab: internal error: ZeroDivisionError: division by zero"
    ]


def test_a_slow_body_is_refused(monkeypatch):
    monkeypatch.setattr(server, "BODY_TIMEOUT_S", 0.2)

    class Dripping:
        headers = {"content-length": "100"}

        async def stream(self):
            yield b'{"ex'
            await asyncio.sleep(5)
            yield b'pr": "x"}'

    with pytest.raises(ValueError, match="did not arrive within 0.2 s"):
        asyncio.run(server._json_body(Dripping()))


def test_json_never_carries_nan():
    message = {"loss": float("nan"), "curve": [[1, float("inf")], [2, 0.5]], "nested": {"x": -float("inf")}}
    text = server.json_text(message)
    assert strict_json(text) == {"loss": None, "curve": [[1, None], [2, 0.5]], "nested": {"x": None}}
    assert server.json_text({"a": 1.5, "k": "한"}) == '{"a":1.5,"k":"한"}'


# -- what the lab prints, and what it answers to ----------------------------------------------------
def test_port_80_prints_a_url_its_host_check_accepts():
    assert lab_url("127.0.0.1", 80, "t") == "http://127.0.0.1/?token=t"
    assert lab_url("127.0.0.1", 8765, "t") == "http://127.0.0.1:8765/?token=t"
    assert lab_url("::1", 8765, "t") == "http://[::1]:8765/?token=t"
    assert lab_url("0.0.0.0", 80, "t") == "http://127.0.0.1/?token=t"
    sent = []

    async def app(scope, receive, send):
        sent.append("app")

    async def send(message):
        sent.append(message)

    guard = Guard(app, "t", allowed_hosts("127.0.0.1", 80))
    for host, origin in (("127.0.0.1", "http://127.0.0.1"), ("127.0.0.1:80", None), ("localhost", None)):
        sent.clear()
        headers = [(b"host", host.encode()), (b"x-lab-token", b"t")] + (
            [(b"origin", origin.encode())] if origin else []
        )
        asyncio.run(guard({"type": "http", "headers": headers, "query_string": b""}, None, send))
        assert sent == ["app"], host
    sent.clear()
    asyncio.run(guard({"type": "http", "headers": [(b"host", b"127.0.0.1:8080")], "query_string": b""}, None, send))
    assert sent[0]["status"] == 403


@pytest.mark.parametrize("host", ["", " "])
def test_an_empty_host_is_refused(capsys, host):
    from layerprop.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["lab", "--host", host, "--no-browser"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--host is empty" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(os.name != "posix", reason="the browser is a shell-less script here (POSIX)")
def test_the_browser_is_not_given_the_token(tmp_path):
    """``ps`` shows every process's command line to every local user: the browser gets a private
    redirect file, never the token URL."""
    browser = RecordingBrowser(tmp_path)
    with LabProcess(browser=True, env=browser.env) as lab:
        argv = browser.argv()
        assert lab.token not in " ".join(argv)
        opened = urllib.parse.urlsplit(argv[-1])
        assert opened.scheme == "file"
        path = urllib.parse.unquote(opened.path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        with open(path, encoding="utf-8") as file:
            assert lab.url in file.read()  # it forwards to the URL the user sees printed
        parts = urllib.parse.urlsplit(lab.url)
        assert request(lab, "GET", f"{parts.path}?{parts.query}")[0] == 200
        assert not os.path.exists(path)  # it has done its work once the page is served


# -- the log -------------------------------------------------------------------------------------------
class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_one_line_per_kind_of_problem(monkeypatch):
    import io

    clock = _Clock()
    monkeypatch.setattr(log.time, "monotonic", clock)
    stream = io.StringIO()
    handler = log.OneLinePerKind(stream=stream, interval_s=60)
    logger = logging.getLogger("layerprop.lab.test")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for _ in range(1000):
            try:
                raise OSError(24, "Too many open files")
            except OSError as exc:
                logger.error("socket.accept() out of system resource\nsocket: <fd=3>", exc_info=exc)
        logger.warning("closed a connection that sent no complete request within %g s", 10)
        clock.now += 61
        logger.error("socket.accept() out of system resource\nsocket: <fd=4>", exc_info=OSError(24, "again"))
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == [
        "layerprop lab: socket.accept() out of system resource: OSError: [Errno 24] Too many open files",
        "layerprop lab: closed a connection that sent no complete request within 10 s",
        "layerprop lab: socket.accept() out of system resource: OSError: [Errno 24] again "
        "(999 more like this in the last 60 s)",
    ]
    debug = io.StringIO()
    handler = log.OneLinePerKind(stream=debug, debug=True)
    try:
        raise KeyError("k")
    except KeyError as exc:
        handler.emit(logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), (KeyError, exc, exc.__traceback__)))
    assert "Traceback" in debug.getvalue()  # layerprop --debug lab: everything, in full
