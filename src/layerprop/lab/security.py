"""Safe by default: who may talk to the lab.

The lab runs code on the user's machine (training, parsing) on request, so a request is served only
when it

1. carries the **token** — a random secret made at start-up (:func:`new_token`, 128 bits) that is
   part of the URL the command prints; the page sends it back as the ``X-Lab-Token`` header or the
   ``token`` query parameter (WebSocket). Another local program or another site cannot guess it;
2. names the lab in its **Host** header — ``127.0.0.1:PORT``, ``localhost:PORT`` or ``[::1]:PORT``
   (plus the ``--host`` given; on port 80 also without ``:80``, as browsers send it and as
   :func:`lab_url` prints it) — so a page of another site whose name was re-pointed at 127.0.0.1
   (DNS rebinding) is refused;
3. comes, when it has an **Origin** (browsers always send one on WebSockets and POSTs), from the
   lab itself (``http://`` + an allowed host).

:class:`Guard` is plain ASGI middleware: it answers 403 with one line of text (an HTTP request) or
refuses the WebSocket handshake before any route sees the request. One refusal is a page instead:
a browser's ``GET /`` from the lab's own Host (and Origin) without the token — someone opened a
link shared from another lab — gets the Guard's ``help_page`` (still 403: a static page, the same
for everyone, that says how to open such a link in one's own lab; see :mod:`.share_links`).

**Where the token travels.** The URL with the token is printed on the terminal that started the
lab (the user's own). It is never put on another program's command line, which every local user
can read with ``ps``: the browser that ``layerprop lab`` opens gets the path of a redirect file
instead (:func:`write_redirect_file`: a page in a folder only this user can read, 0700/0600, that
forwards to the token URL; it is removed once the lab has served its page, or when the lab stops).
A browser confined so that it cannot read that folder (some snap or flatpak packages) shows an
error instead of the lab: open the printed URL in it by hand. The page itself carries the token
(it sends it with each request), so the browser's history holds it as it would after a click on
the printed URL; the token is new each time the lab starts.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import ipaddress
import os
import secrets
import socket
import tempfile
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


WILDCARDS = ("0.0.0.0", "::")
#: the port a URL may leave out (``http://127.0.0.1/`` is port 80, and browsers then send ``Host: 127.0.0.1``)
DEFAULT_HTTP_PORT = 80


def _url_name(host: str) -> str:
    """``host`` as it stands in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def authority(name: str, port: int) -> str:
    """``name:port`` as a URL (and the browser's Host header) spells it: no ``:80`` for port 80."""
    return name if port == DEFAULT_HTTP_PORT else f"{name}:{port}"


def lab_url(host: str, port: int, token: str, fragment: str = "") -> str:
    """The URL ``layerprop lab`` prints: a wildcard address is shown as 127.0.0.1; ``fragment`` (a
    page's state, from ``--open``) goes after ``#``, where the browser keeps it to itself."""
    name = "127.0.0.1" if host in WILDCARDS else _url_name(host)
    return f"http://{authority(name, port)}/?token={token}" + (f"#{fragment}" if fragment else "")


def allowed_hosts(host: str, port: int) -> set:
    """The Host header values the lab answers to: loopback names, ``host``, and for a wildcard
    address (0.0.0.0 or ::, only with ``--allow-remote``) this machine's name and addresses —
    each as :func:`authority` writes it, and with ``:PORT`` too (a client may always add it)."""
    names = set(LOOPBACK_NAMES)
    if host in WILDCARDS:
        hostname = socket.gethostname()
        names.add(hostname)
        try:
            names.update(socket.gethostbyname_ex(hostname)[2])
        except OSError:
            pass
    else:
        names.add(_url_name(host))
    return {f"{name}:{port}" for name in names} | {authority(name, port) for name in names}


def write_redirect_file(url: str) -> str:
    """A page that forwards the browser to ``url``, in a new folder only this user can read; its path.

    The browser is started on this file's path instead of ``url``, so the token stays off every
    command line (see the module docstring). Remove it with :func:`remove_redirect_file`.
    """
    folder = tempfile.mkdtemp(prefix="layerprop-lab-")  # mode 0700
    path = os.path.join(folder, "open-lab.html")
    quoted = html.escape(url, quote=True)
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={quoted}"><title>layerprop lab</title></head>'
        f'<body><p><a href="{quoted}">Open layerprop lab</a></p></body></html>\n'
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(page)
    return path


def remove_redirect_file(path: str | None) -> None:
    """Remove the file :func:`write_redirect_file` made, and its folder (nothing if already gone)."""
    if path is None:
        return
    with contextlib.suppress(OSError):
        os.remove(path)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(path))


#: the refusal of a request whose Host and Origin are the lab's but whose token is not
TOKEN_REFUSAL = "refused: the lab's token is missing or wrong (open the URL that 'layerprop lab' printed)"


class Guard:
    """ASGI middleware enforcing the token, Host and Origin rules (see the module docstring).

    ``help_page``: ``(body, headers)`` of the page that a ``GET /`` refused for its token alone gets
    (with status 403); None: one line of text, as every other refusal.
    """

    def __init__(self, app, token: str, hosts: set, help_page: tuple | None = None):
        self.app = app
        self.token = token
        self.hosts = {h.lower() for h in hosts}
        self.help_page = help_page

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
            return TOKEN_REFUSAL
        return None

    def wants_help(self, scope, reason: str) -> bool:
        """Whether the refused request gets the help page: a ``GET /`` refused for its token alone."""
        return (
            self.help_page is not None
            and reason == TOKEN_REFUSAL
            and scope.get("method") == "GET"
            and scope.get("path") == "/"
        )

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
        if self.wants_help(scope, reason):
            body, headers = self.help_page
        else:
            body, headers = (reason + "\n").encode(), [(b"content-type", b"text/plain; charset=utf-8")]
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})
