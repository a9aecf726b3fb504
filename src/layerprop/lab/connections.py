"""Bounded connections: the lab stays reachable while other local programs hold sockets open.

A client that opens a connection and never finishes its request ("half-open", as in a slowloris
attack) costs the server a file descriptor for as long as it likes; about a thousand of them
exhaust the process's descriptors, and then nobody can connect. :func:`guarded_http_protocol`
makes uvicorn's HTTP protocol class hold every connection to two rules:

- **a header deadline** — a request's line and headers must arrive within ``header_timeout_s``
  (:data:`HEADER_TIMEOUT_S`) of the connection opening, or of the previous response on a
  keep-alive connection; otherwise the connection is closed. A request being answered, and a
  connection upgraded to a WebSocket, are never cut;
- **a connection cap** — when more than ``max_connections`` (:func:`connection_cap`) are open, the
  connection that has waited longest for its headers is closed to make room (the new one, if none
  is waiting). A real browser's connection sends its headers at once and is never the one closed.

The listening backlog is kept small too (:func:`accept_backlog`): asyncio accepts up to that many
connections at once before any of them is seen by the protocol.

Each closing is reported through the ``layerprop.lab`` logger, which :mod:`.log` turns into one
line per kind of problem.
"""

from __future__ import annotations

import logging

#: seconds a client has to send a request's line and headers
HEADER_TIMEOUT_S = 10.0
#: the most connections held open at once (fewer when the process may open few files)
MAX_CONNECTIONS = 256
#: file descriptors kept free for everything else the lab opens (data files, the event loop, pipes)
RESERVED_DESCRIPTORS = 64

logger = logging.getLogger("layerprop.lab")


def connection_cap(limit: int | None = None) -> int:
    """The connection cap for a process that may open ``limit`` files (default: its RLIMIT_NOFILE).

    Half of what is left after :data:`RESERVED_DESCRIPTORS`, at most :data:`MAX_CONNECTIONS`: the
    other half covers the connections accepted in one batch (:func:`accept_backlog`) before the
    cap sees them.
    """
    if limit is None:
        try:
            import resource

            limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        except (ImportError, OSError, ValueError):  # no resource module (Windows)
            limit = 512
        if limit < 0:  # RLIM_INFINITY
            limit = 1 << 20
    return max(8, min(MAX_CONNECTIONS, (limit - RESERVED_DESCRIPTORS) // 2))


def accept_backlog(cap: int) -> int:
    """The listen backlog for a cap: also the most connections asyncio accepts in one batch."""
    return max(8, min(128, cap))


def _open(connection) -> bool:
    transport = getattr(connection, "transport", None)
    return transport is not None and not transport.is_closing()


def guarded_http_protocol(base: type, header_timeout_s: float = HEADER_TIMEOUT_S, max_connections: int | None = None):
    """A subclass of uvicorn's HTTP protocol class ``base`` that keeps the rules of the module docstring.

    It relies on what uvicorn's HTTP protocols (h11 and httptools) share: ``cycle`` (the current
    request, replaced when the next request's headers have arrived, with ``response_complete``),
    ``on_response_complete()``, ``connections`` (every open connection of the server, WebSockets
    included), ``transport`` and ``loop``. tests/test_lab_server.py checks the rules against the
    installed uvicorn.
    """
    cap = connection_cap() if max_connections is None else max_connections

    class GuardedHTTPProtocol(base):
        #: connections waiting for a request's headers, oldest first (shared by the server's connections)
        waiting: dict = {}

        def connection_made(self, transport):
            super().connection_made(transport)
            self._header_timer = None
            self._await_headers()
            if sum(1 for c in self.connections if _open(c)) > cap:
                self._make_room()

        def on_response_complete(self):
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_headers()  # a keep-alive connection: the next request has a deadline too

        def connection_lost(self, exc):
            self._stop_waiting()
            super().connection_lost(exc)

        def _await_headers(self):
            self._stop_waiting()
            self._awaited_cycle = self.cycle
            self.waiting[self] = True
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_late)

        def _stop_waiting(self):
            self.waiting.pop(self, None)
            if getattr(self, "_header_timer", None) is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_arrived(self) -> bool:
            """Whether a request came since the wait began (or is being answered, or became a WebSocket)."""
            upgraded = self.transport.get_protocol() is not self
            answering = self.cycle is not None and not self.cycle.response_complete
            return upgraded or answering or self.cycle is not self._awaited_cycle

        def _headers_late(self):
            self._header_timer = None
            self.waiting.pop(self, None)
            if not self._headers_arrived() and not self.transport.is_closing():
                logger.warning(
                    "closed a connection that sent no complete request within %g s (header timeout)", header_timeout_s
                )
                self.transport.close()

        def _make_room(self):
            for other in list(self.waiting):  # oldest first
                if other is self:
                    continue
                self.waiting.pop(other, None)
                if other._headers_arrived() or other.transport.is_closing():
                    continue
                other._stop_waiting()
                logger.warning("more than %d connections: closed the one that waited longest for its request", cap)
                other.transport.close()
                return
            logger.warning("more than %d connections, all busy: refused a new one", cap)
            self._stop_waiting()
            self.transport.close()

    GuardedHTTPProtocol.__name__ = GuardedHTTPProtocol.__qualname__ = f"Guarded{base.__name__}"
    return GuardedHTTPProtocol
