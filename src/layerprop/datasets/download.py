"""Downloading a file from a list of mirrors: retries, a progress bar, checksum, atomic write.

The file is streamed into a temporary ``<name>.<random>.part`` file beside the destination, its
MD5 is checked, and only then is it renamed onto the destination. A failed, truncated or
interrupted download, or one with the wrong checksum, leaves no file behind. Each attempt has a
deadline for the whole transfer and, where the file's size is known, a byte cap.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import ChecksumError, DownloadError
from ..progress import progress_bar
from ..storage.atomic import atomic_write
from ..validation import integer, non_negative, positive

_CHUNK = 1 << 16
_USER_AGENT = "layerprop (Python urllib)"
# HTTP statuses worth retrying on the same mirror; any other error status moves to the next one.
_TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class _IncompleteDownload(OSError):
    """The connection closed before the announced number of bytes arrived."""


def mirror_urls(filename: str, mirrors: Sequence[str]) -> list[str]:
    """Return the URL of ``filename`` on each mirror (a base URL, with or without trailing ``/``)."""
    return [mirror.rstrip("/") + "/" + filename for mirror in mirrors]


class _TooLarge(OSError):
    """The server sends (or announces) more bytes than the file can have."""


class _DeadlineExceeded(TimeoutError):
    """The whole transfer took longer than its deadline (a server that drips bytes)."""


class _Watchdog:
    """Enforces a deadline on one attempt, whatever the connection is waiting for (connecting,
    headers that arrive a byte at a time, a body): when it expires, the sockets it watches are
    shut down, so any blocked read returns at once."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._sockets: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()

    def opener(self) -> urllib.request.OpenerDirector:
        """A urllib opener whose HTTP and HTTPS connections this watchdog watches."""
        watchdog = self

        def watched(connection_class):
            class Watched(connection_class):
                def connect(self):
                    super().connect()
                    watchdog.watch(self.sock)

            return Watched

        class HTTPHandler(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(watched(http.client.HTTPConnection), req)

        class HTTPSHandler(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(watched(http.client.HTTPSConnection), req, context=self._context)

        return urllib.request.build_opener(HTTPHandler(), HTTPSHandler())


def _fetch(
    url: str,
    destination: Path,
    md5: str | None,
    timeout: float,
    progress: bool | None,
    deadline: float,
    max_bytes: int | None,
) -> None:
    with _Watchdog(deadline) as watchdog:
        try:
            _transfer(url, destination, md5, timeout, progress, max_bytes, watchdog)
        except _DeadlineExceeded:
            raise
        except (OSError, http.client.HTTPException, ValueError):
            if watchdog.expired:
                raise _DeadlineExceeded(f"gave up after {deadline:g} s (the transfer's deadline)") from None
            raise


def _transfer(url, destination, md5, timeout, progress, max_bytes, watchdog) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with watchdog.opener().open(request, timeout=min(timeout, watchdog.seconds)) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and max_bytes is not None and total > max_bytes:
            raise _TooLarge(f"the server announces {total} bytes, but the file has at most {max_bytes}")
        hasher = hashlib.md5()
        received = 0
        with atomic_write(destination, suffix=".part") as handle:
            bar = progress_bar(total, destination.name, progress)
            try:
                # read1: whatever has arrived (at most one chunk), so progress and the byte cap
                # are checked even when a server sends one byte at a time
                while chunk := response.read1(_CHUNK):
                    received += len(chunk)
                    if max_bytes is not None and received > max_bytes:
                        raise _TooLarge(f"the server sent more than the file's {max_bytes} bytes")
                    handle.write(chunk)
                    hasher.update(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
            if watchdog.expired:  # the body "ended" because the deadline shut the connection
                raise _DeadlineExceeded(
                    f"gave up after {watchdog.seconds:g} s with {received} bytes received"
                    + (f" of {total}" if total is not None else "")
                )
            if total is not None and received != total:
                raise _IncompleteDownload(f"expected {total} bytes, received {received}")
            digest = hasher.hexdigest()
            if md5 is not None and digest != md5.lower():
                raise ChecksumError(
                    f"{url}: checksum mismatch for {destination.name} -- expected MD5 {md5.lower()}, got {digest}"
                )


def download_file(
    urls: str | Sequence[str],
    destination: str | os.PathLike[str],
    *,
    md5: str | None = None,
    retries: int = 2,
    backoff: float = 1.0,
    timeout: float = 30.0,
    deadline: float = 600.0,
    max_bytes: int | None = None,
    progress: bool | None = None,
) -> Path:
    """Download the first URL that works to ``destination`` and return its path.

    The URLs are tried in order. On a transient failure (connection refused or reset, timeout,
    truncated transfer, HTTP 5xx/408/429) the same URL is retried up to ``retries`` more times,
    waiting ``backoff * 2**attempt`` seconds before each retry (``backoff=0`` retries at once);
    a checksum mismatch, too many bytes, a transfer past its ``deadline`` or a permanent HTTP error
    such as 404 moves on to the next URL at once.

    :param urls: one URL or several (mirrors of the same file); see :func:`mirror_urls`.
    :param destination: the file to create; its directory is created if needed. An existing file
        is replaced only by a complete, verified download.
    :param md5: the hex MD5 digest the downloaded bytes must have (strongly recommended).
    :param timeout: seconds to wait for the server on connecting and on each read.
    :param deadline: seconds one attempt at one URL may take in all (connecting, headers, body);
        a server that keeps sending a byte now and then is given up after it, and the next URL
        is tried.
    :param max_bytes: the most bytes the file can have: a server announcing or sending more is
        cut off at once (a body without length can otherwise fill the disk).
    :param progress: show a progress bar (tqdm if installed, else text): ``True``, ``False``, or
        ``None`` for "only when stderr is a terminal".
    :raises DownloadError: every URL failed; the message lists each URL and why.
    """
    url_list = [urls] if isinstance(urls, str) else list(urls)
    if not url_list:
        raise ValueError("download_file needs at least one URL")
    retries = integer("retries", retries, minimum=0, owner="download_file")
    backoff = non_negative("backoff", backoff, owner="download_file")
    timeout = positive("timeout", timeout, owner="download_file")
    deadline = positive("deadline", deadline, owner="download_file")
    if max_bytes is not None:
        max_bytes = integer("max_bytes", max_bytes, minimum=1, owner="download_file")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)

    failures: list[str] = []  # one entry per URL: its last reason, and how many attempts failed
    for url in url_list:
        reason = ""
        for attempt in range(retries + 1):
            try:
                _fetch(url, destination, md5, timeout, progress, deadline, max_bytes)
                return destination
            except (ChecksumError, _TooLarge, _DeadlineExceeded) as error:
                reason = str(error).removeprefix(f"{url}: ")
                break
            except urllib.error.HTTPError as error:
                reason = f"HTTP {error.code} {error.reason}"
                if error.code not in _TRANSIENT_STATUSES:
                    break
            except (OSError, http.client.HTTPException, ValueError) as error:
                # URLError (refused, DNS, bad scheme), timeouts, resets and truncation are OSErrors.
                reason = f"{type(error).__name__}: {getattr(error, 'reason', None) or error}"
            if attempt < retries and backoff > 0:
                time.sleep(backoff * 2**attempt)
        tries = f" ({attempt + 1} attempts)" if attempt else ""
        failures.append(f"{url}: {reason}{tries}")
    raise DownloadError(
        f"could not download {destination.name}: every mirror failed (expected a complete file"
        f"{' with MD5 ' + md5.lower() if md5 else ''}) -- " + "; ".join(failures)
    )
