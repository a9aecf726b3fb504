"""Downloading a file from a list of mirrors: retries, a progress bar, checksum, atomic write.

The file is streamed into a temporary ``<name>.<random>.part`` file beside the destination, its
MD5 is checked, and only then is it renamed onto the destination. A failed, truncated or
interrupted download, or one with the wrong checksum, leaves no file behind.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from ..errors import ChecksumError, DownloadError
from .atomic import atomic_write
from ..progress import progress_bar

_CHUNK = 1 << 16
_USER_AGENT = "layerprop (Python urllib)"
# HTTP statuses worth retrying on the same mirror; any other error status moves to the next one.
_TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class _IncompleteDownload(OSError):
    """The connection closed before the announced number of bytes arrived."""


def mirror_urls(filename: str, mirrors: Sequence[str]) -> list[str]:
    """Return the URL of ``filename`` on each mirror (a base URL, with or without trailing ``/``)."""
    return [mirror.rstrip("/") + "/" + filename for mirror in mirrors]


def _fetch(url: str, destination: Path, md5: str | None, timeout: float, progress: bool | None) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        hasher = hashlib.md5()
        received = 0
        with atomic_write(destination, suffix=".part") as handle:
            bar = progress_bar(total, destination.name, progress)
            try:
                while chunk := response.read(_CHUNK):
                    handle.write(chunk)
                    hasher.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
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
    progress: bool | None = None,
) -> Path:
    """Download the first URL that works to ``destination`` and return its path.

    The URLs are tried in order. On a transient failure (connection refused or reset, timeout,
    truncated transfer, HTTP 5xx/408/429) the same URL is retried up to ``retries`` more times,
    waiting ``backoff * 2**attempt`` seconds before each retry (``backoff=0`` retries at once);
    a checksum mismatch or a permanent HTTP error such as 404 moves on to the next URL at once.

    :param urls: one URL or several (mirrors of the same file); see :func:`mirror_urls`.
    :param destination: the file to create; its directory is created if needed. An existing file
        is replaced only by a complete, verified download.
    :param md5: the hex MD5 digest the downloaded bytes must have (strongly recommended).
    :param timeout: seconds to wait for the server on connecting and on each read.
    :param progress: show a progress bar (tqdm if installed, else text): ``True``, ``False``, or
        ``None`` for "only when stderr is a terminal".
    :raises DownloadError: every URL failed; the message lists each URL and why.
    """
    url_list = [urls] if isinstance(urls, str) else list(urls)
    if not url_list:
        raise ValueError("download_file needs at least one URL")
    if retries < 0 or backoff < 0:
        raise ValueError(f"retries and backoff must be >= 0, got retries={retries}, backoff={backoff}")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)

    failures: list[str] = []
    for url in url_list:
        for attempt in range(retries + 1):
            try:
                _fetch(url, destination, md5, timeout, progress)
                return destination
            except ChecksumError as error:
                failures.append(str(error))
                break
            except urllib.error.HTTPError as error:
                failures.append(f"{url}: HTTP {error.code} {error.reason}")
                if error.code not in _TRANSIENT_STATUSES:
                    break
            except (OSError, http.client.HTTPException, ValueError) as error:
                # URLError (refused, DNS, bad scheme), timeouts, resets and truncation are OSErrors.
                reason = getattr(error, "reason", None) or error
                failures.append(f"{url}: {type(error).__name__}: {reason}")
            if attempt < retries and backoff > 0:
                time.sleep(backoff * 2**attempt)
    raise DownloadError(
        f"could not download {destination.name}: every mirror failed (expected a complete file"
        f"{' with MD5 ' + md5.lower() if md5 else ''}):\n  " + "\n  ".join(failures)
    )
