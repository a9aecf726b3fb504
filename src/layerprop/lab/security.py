"""Safe by default: who may talk to the lab.

The lab runs code on the user's machine (training, parsing) on request, so a request is served only
when it

1. carries the **token** — a random secret made at start-up (:func:`new_token`, 128 bits) that is
   part of the URL the command prints; the page sends it back as the ``X-Lab-Token`` header or the
   ``token`` query parameter (WebSocket). Another local program or another site cannot guess it;
2. names the lab in its **Host** header — ``127.0.0.1:PORT``, ``localhost:PORT`` or ``[::1]:PORT``
   (plus the ``--host`` given) — so a page of another site whose name was re-pointed at 127.0.0.1
   (DNS rebinding) is refused;
3. comes, when it has an **Origin** (browsers always send one on WebSockets and POSTs), from the
   lab itself (``http://`` + an allowed host).

:class:`Guard` is plain ASGI middleware: it answers 403 with one line of text (an HTTP request) or
refuses the WebSocket handshake before any route sees the request.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from urllib.parse import parse_qs

TOKEN_HEADER = "x-lab-token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    """A fresh random token (22 URL-safe characters, 128 bits)."""
    return secrets.token_urlsafe(16)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address) stays on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> set:
    """The Host header values the lab answers to: loopback names, ``host``, and for a wildcard
    address (0.0.0.0 or ::, only with ``--allow-remote``) this machine's name and addresses."""
    names = set(LOOPBACK_NAMES)
    if host in ("0.0.0.0", "::"):
        hostname = socket.gethostname()
        names.add(hostname)
        try:
            names.update(socket.gethostbyname_ex(hostname)[2])
        except OSError:
            pass
    else:
        names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    return {f"{name}:{port}" for name in names}


class Guard:
    """ASGI middleware enforcing the token, Host and Origin rules (see the module docstring)."""

    def __init__(self, app, token: str, hosts: set):
        self.app = app
        self.token = token
        self.hosts = {h.lower() for h in hosts}

    def refusal(self, scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            return f"refused: Host {host!r} is not this lab (expected one of {', '.join(sorted(self.hosts))})"
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in self.hosts}:
            return f"refused: requests from {origin!r} are not allowed (only the lab's own pages)"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = headers.get(TOKEN_HEADER) or (query.get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return "refused: the lab's token is missing or wrong (open the URL that 'layerprop lab' printed)"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        reason = self.refusal(scope)
        if reason is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            await receive()  # the websocket.connect message
            await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})
            return
        body = (reason + "\n").encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
