"""Downloading a file from a list of mirrors: retries, a progress bar, checksum, atomic write.

The file is streamed into a temporary ``<name>.<random>.part`` file beside the destination, its
MD5 is checked, and only then is it renamed onto the destination. A failed, truncated or
interrupted download, or one with the wrong checksum, leaves no file behind.

Every attempt is bounded three ways, whatever the server does:

- a **deadline** for the whole attempt (connecting, headers, body);
- a **stall rule**, like curl's ``--speed-limit``/``--speed-time``: a mirror that delivers fewer
  than ``speed_limit × speed_time`` bytes in any ``speed_time`` seconds (by default fewer than
  30 KiB in 30 s: 1 KiB/s) is given up, and the next one is tried — a mirror that drips a byte a
  second no longer holds the download for the whole deadline;
- a **byte cap** (``max_bytes``, :data:`DEFAULT_MAX_BYTES` when not given): a server that
  announces or sends more is cut off at once.

Only ``http://`` and ``https://`` are fetched, and only redirects to them are followed: the
opener has no FTP, file or data handlers, so a redirect cannot leave the watched connections (an
``ftp://`` target used to escape the deadline) or read a local file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import ChecksumError, DownloadError, quoted
from ..progress import progress_bar
from ..storage.atomic import atomic_write
from ..validation import integer, non_negative, positive

_CHUNK = 1 << 16
_USER_AGENT = "layerprop (Python urllib)"
#: The byte cap when ``max_bytes`` is not given (the largest file layerprop fetches, Fashion-MNIST's
#: training images, is 26 MB).
DEFAULT_MAX_BYTES = 256 << 20
#: The stall rule's defaults: give a mirror up when it delivers fewer than SPEED_LIMIT bytes a
#: second over SPEED_TIME seconds.
SPEED_LIMIT = 1024
SPEED_TIME = 30.0
#: The URL schemes fetched and followed.
SCHEMES = ("http", "https")
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
    """The whole transfer took longer than its deadline, or stalled (a server that drips bytes)."""


class _RefusedURL(OSError):
    """A URL (or a redirect's target) of a scheme other than http or https."""


def _check_scheme(url: str, what: str) -> None:
    if urllib.parse.urlsplit(url).scheme.lower() not in SCHEMES:
        raise _RefusedURL(f"{what} {quoted(url, 120)}: only http:// and https:// URLs are fetched")


class _HttpRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http and https only (urllib's own handler also follows ftp)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        _check_scheme(newurl, f"redirected ({code}) to")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Watchdog:
    """Enforces the deadline and the stall rule on one attempt, whatever the connection is waiting
    for (connecting, headers that arrive a byte at a time, a body): when either trips, the sockets
    it watches are shut down, so any blocked read returns at once. ``reason`` says which tripped."""

    def __init__(self, seconds: float, speed_limit: float = 0.0, speed_time: float = 0.0):
        self.seconds = seconds
        self.speed_limit = speed_limit
        self.speed_time = speed_time
        self.expired = False
        self.reason = ""
        self._sockets: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._received = 0  # body bytes in the current stall window
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def progress(self, nbytes: int) -> None:
        """Count body bytes that arrived (for the stall rule)."""
        with self._lock:
            self._received += nbytes

    def _run(self) -> None:
        started = window = time.monotonic()
        checks = [self.seconds] + ([self.speed_time] if self.speed_time > 0 else [])
        tick = max(0.01, min(checks) / 20)
        while not self._stop.wait(tick):
            now = time.monotonic()
            if now - started >= self.seconds:
                self._expire(f"gave up after {self.seconds:g} s (the transfer's deadline)")
                return
            if self.speed_time > 0 and now - window >= self.speed_time:
                with self._lock:
                    received, self._received = self._received, 0
                if received < self.speed_limit * self.speed_time:
                    self._expire(
                        f"stalled: {received} bytes in {now - window:.1f} s, less than "
                        f"{self.speed_limit:g} bytes/s over {self.speed_time:g} s (the stall rule)"
                    )
                    return
                window = now

    def _expire(self, reason: str) -> None:
        with self._lock:
            self.expired = True
            self.reason = reason
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()

    def opener(self) -> urllib.request.OpenerDirector:
        """A urllib opener of HTTP and HTTPS only (and redirects to them), whose connections this
        watchdog watches; proxies from the environment are used as urllib does."""
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

        opener = urllib.request.OpenerDirector()
        for handler in (
            urllib.request.ProxyHandler(),
            urllib.request.UnknownHandler(),
            HTTPHandler(),
            HTTPSHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            _HttpRedirects(),
            urllib.request.HTTPErrorProcessor(),
        ):
            opener.add_handler(handler)
        return opener


def _fetch(
    url: str,
    destination: Path,
    md5: str | None,
    timeout: float,
    progress: bool | None,
    limits: tuple[float, float, float],
    max_bytes: int,
) -> None:
    _check_scheme(url, "the URL")
    with _Watchdog(*limits) as watchdog:
        try:
            _transfer(url, destination, md5, timeout, progress, max_bytes, watchdog)
        except (_DeadlineExceeded, _RefusedURL):
            raise
        except (OSError, http.client.HTTPException, ValueError):
            if watchdog.expired:
                raise _DeadlineExceeded(watchdog.reason) from None
            raise


def _transfer(url, destination, md5, timeout, progress, max_bytes, watchdog) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with watchdog.opener().open(request, timeout=min(timeout, watchdog.seconds)) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
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
                    watchdog.progress(len(chunk))
                    if received > max_bytes:
                        raise _TooLarge(f"the server sent more than the file's {max_bytes} bytes")
                    handle.write(chunk)
                    hasher.update(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
            if watchdog.expired:  # the body "ended" because the deadline or the stall rule shut the connection
                raise _DeadlineExceeded(
                    f"{watchdog.reason}, with {received} bytes received" + (f" of {total}" if total is not None else "")
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
    speed_limit: float = SPEED_LIMIT,
    speed_time: float = SPEED_TIME,
    progress: bool | None = None,
) -> Path:
    """Download the first URL that works to ``destination`` and return its path.

    The URLs are tried in order. On a transient failure (connection refused or reset, timeout,
    truncated transfer, HTTP 5xx/408/429) the same URL is retried up to ``retries`` more times,
    waiting ``backoff * 2**attempt`` seconds before each retry (``backoff=0`` retries at once);
    a checksum mismatch, too many bytes, a transfer past its ``deadline``, a stalled transfer, a
    URL or redirect that is not http(s) or a permanent HTTP error such as 404 moves on to the next
    URL at once.

    :param urls: one URL or several (mirrors of the same file); see :func:`mirror_urls`.
    :param destination: the file to create; its directory is created if needed. An existing file
        is replaced only by a complete, verified download.
    :param md5: the hex MD5 digest the downloaded bytes must have (strongly recommended).
    :param timeout: seconds to wait for the server on connecting and on each read.
    :param deadline: seconds one attempt at one URL may take in all (connecting, headers, body);
        a server that keeps sending a byte now and then is given up after it, and the next URL
        is tried.
    :param max_bytes: the most bytes the file can have (default :data:`DEFAULT_MAX_BYTES`, 256 MiB):
        a server announcing or sending more is cut off at once (a body without length could
        otherwise fill the disk).
    :param speed_limit, speed_time: the stall rule — an attempt that receives fewer than
        ``speed_limit × speed_time`` bytes in any ``speed_time`` seconds (headers included in the
        first window) is given up; the defaults, 1024 bytes/s over 30 s, are those of a connection
        that has stopped. ``speed_time=0`` turns the rule off (the deadline still holds).
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
    max_bytes = integer(
        "max_bytes", DEFAULT_MAX_BYTES if max_bytes is None else max_bytes, minimum=1, owner="download_file"
    )
    speed_limit = non_negative("speed_limit", speed_limit, owner="download_file")
    speed_time = non_negative("speed_time", speed_time, owner="download_file")
    limits = (deadline, speed_limit, speed_time)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)

    failures: list[str] = []  # one entry per URL: its last reason, and how many attempts failed
    for url in url_list:
        reason = ""
        for attempt in range(retries + 1):
            try:
                _fetch(url, destination, md5, timeout, progress, limits, max_bytes)
                return destination
            except (ChecksumError, _TooLarge, _DeadlineExceeded, _RefusedURL) as error:
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
