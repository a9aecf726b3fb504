"""The step-through page in a real browser: headless Chromium driven over the DevTools Protocol.

Only the standard library is used: Chromium is started with ``--remote-debugging-port=0``, the
port is read from ``DevToolsActivePort`` in its profile directory, and a tiny WebSocket client
(RFC 6455, text frames only) speaks the protocol. The test presses ArrowRight through every
forward and backward step of the apple/orange page, checks which values and gradients are
visible, and saves a screenshot under ``tmp_path``.

Skipped when Chromium is missing — except on CI (``CI`` set), which installs it: there it fails.
"""

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from layerprop import viz

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DEADLINE_S = 30


def find_browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing on CI (apt-get install chromium)")
    pytest.skip("Chromium is not installed")


# -- a minimal WebSocket client (RFC 6455) -------------------------------------------------------
class WebSocket:
    """Client side of a WebSocket: masked text frames out, text frames in (pings answered)."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, url: str, timeout: float):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        status = self.reader.readline().decode()
        headers = {}
        while True:
            line = self.reader.readline().decode().strip()
            if not line:
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if " 101 " not in status:
            raise ConnectionError(f"WebSocket handshake refused: {status.strip()}")
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise ConnectionError("WebSocket handshake: wrong Sec-WebSocket-Accept")

    def _send_frame(self, opcode: int, payload: bytes):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text: str):
        self._send_frame(0x1, text.encode())

    def _read(self, n: int) -> bytes:
        data = self.reader.read(n)
        if data is None or len(data) < n:
            raise ConnectionError("WebSocket closed")
        return data

    def recv(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if second & 0x80 else None
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("WebSocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self):
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.reader.close()
        self.sock.close()


class DevTools:
    """Calls over the Chrome DevTools Protocol (events are skipped)."""

    def __init__(self, ws: WebSocket):
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def press(self, key: str, code: int):
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                      windowsVirtualKeyCode=code, nativeVirtualKeyCode=code)


# -- the browser ---------------------------------------------------------------------------------
@pytest.fixture
def browser(tmp_path):
    """A headless Chromium with remote debugging; yields a function connecting to a URL's page."""
    profile = tmp_path / "profile"
    profile.mkdir()
    process = None
    sockets = []

    def open_page(url: str) -> DevTools:
        nonlocal process
        program = find_browser()  # here, not at set-up, so that CI reports a failure, not an error
        process = subprocess.Popen(
            [program, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--window-size=1280,800", f"--user-data-dir={profile}",
             "--remote-debugging-port=0", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + DEADLINE_S / 2
        port_file = profile / "DevToolsActivePort"
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None:
                pytest.fail(f"Chromium exited with status {process.returncode} before opening its debugging port")
            if time.monotonic() > deadline:
                pytest.fail("Chromium did not open its debugging port in time")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
                pages = [t for t in json.load(reply) if t.get("type") == "page" and t.get("url", "").startswith("file:")]
            if pages:
                break
            if time.monotonic() > deadline:
                pytest.fail("Chromium shows no page for the file")
            time.sleep(0.1)
        ws = WebSocket(pages[0]["webSocketDebuggerUrl"], timeout=10)
        sockets.append(ws)
        tools = DevTools(ws)
        while tools.evaluate("document.readyState") != "complete" or not tools.evaluate("!!window.layerprop"):
            if time.monotonic() > deadline:
                pytest.fail("the page did not finish loading")
            time.sleep(0.05)
        return tools

    yield open_page
    for ws in sockets:
        ws.close()
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the session this test started for Chromium
            process.wait(timeout=10)


VISIBLE = """Array.from(document.querySelectorAll('.%s.visible'))
  .filter(e => getComputedStyle(e).visibility === 'visible').map(e => e.textContent)"""
STATE = "[document.getElementById('layerprop-page').dataset.step, document.getElementById('status').dataset.phase]"


def test_stepping_through_apple_orange_in_chromium(browser, tmp_path):
    page = tmp_path / "apple_orange.html"
    viz.render(viz.example("apple-orange"), page, title="Apple and orange")
    tools = browser(page.as_uri())
    steps = int(tools.evaluate("document.getElementById('layerprop-page').dataset.steps"))
    assert steps == 10  # inputs, 4 forward, seed, 4 backward

    assert tools.evaluate(STATE) == ["0", "start"]
    assert sorted(tools.evaluate(VISIBLE % "value")) == sorted(["100", "2", "150", "3", "1.1"])
    assert tools.evaluate(VISIBLE % "grad") == []

    for step in range(1, 5):  # forward, node by node
        tools.press("ArrowRight", 39)
        assert tools.evaluate(STATE) == [str(step), "forward"]
        current = tools.evaluate("Array.from(document.querySelectorAll('.node.current')).map(n => n.dataset.node)")
        assert len(current) == 1
    assert sorted(tools.evaluate(VISIBLE % "value")) == sorted(["100", "2", "150", "3", "200", "450", "650", "1.1", "715"])
    assert tools.evaluate(VISIBLE % "grad") == []
    assert "715" in tools.evaluate("document.getElementById('status').textContent")

    tools.press("ArrowLeft", 37)  # one step back hides the output's value again
    assert tools.evaluate(STATE) == ["3", "forward"]
    assert "715" not in tools.evaluate(VISIBLE % "value")
    tools.press("ArrowRight", 39)

    tools.press("ArrowRight", 39)  # the seed: gradient 1 on the output edge
    assert tools.evaluate(STATE) == ["5", "seed"]
    assert tools.evaluate(VISIBLE % "grad") == ["1"]

    for step in range(6, steps):  # backward, node by node
        tools.press("ArrowRight", 39)
        assert tools.evaluate(STATE) == [str(step), "backward"]
        status = tools.evaluate("document.getElementById('status').textContent")
        assert "dout =" in status and "node (" in status
    status = tools.evaluate("document.getElementById('step-rule').textContent")
    assert status == "× node (MulLayer): dx = dout·y, dy = dout·x"
    grads = tools.evaluate(VISIBLE % "grad")
    for number in ("2.2", "110", "3.3", "165", "650", "1.1", "1"):
        assert number in grads, (number, grads)
    assert sorted(grads) == sorted(["2.2", "110", "3.3", "165", "650", "1.1", "1.1", "1.1", "1"])
    assert all("000000" not in g for g in grads)

    tools.press("ArrowRight", 39)  # past the last step: stays there
    assert tools.evaluate(STATE) == [str(steps - 1), "backward"]
    assert tools.evaluate("document.getElementById('next').disabled") is True

    shot = tools.call("Page.captureScreenshot", format="png")
    png = base64.b64decode(shot["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "apple_orange_last_step.png").write_bytes(png)
