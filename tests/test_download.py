"""Tests of layerprop.datasets downloads, against a local HTTP server on 127.0.0.1 (never the real mirrors)."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import socket
import sys
import threading
import time
import typing
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from idx_helpers import spec_for_gz

from layerprop.datasets import download as download_module
from layerprop.datasets import (
    download_file,
    fashion_mnist,
    known,
    load_fashion_mnist,
    mirror_urls,
    read_idx,
    write_idx,
)
from layerprop.errors import DownloadError


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERPROP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LAYERPROP_DATA", raising=False)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DATA_DIRS", [tmp_path / "no-system-copy"])
    # Never reach the real mirrors, whatever a test forgets to pass.
    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST_MIRRORS", ["http://127.0.0.1:9/unused/"])
    return tmp_path / "cache"


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` under several behaviours chosen by the first path component."""

    files: typing.ClassVar[dict[str, bytes]] = {}
    requests: typing.ClassVar[Counter] = Counter()
    flaky_failures = 2  # /flaky/ answers 503 this many times per file, then works

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        _, mode, name = self.path.split("/", 2)
        self.requests[(mode, name)] += 1
        body = self.files.get(name)
        if body is None or mode == "missing":
            self.send_error(404)
            return
        if mode == "flaky" and self.requests[(mode, name)] <= self.flaky_failures:
            self.send_error(503)
            return
        if mode == "slowheaders":  # the status line, then a header line every 50 ms, forever
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            stop_at = time.monotonic() + 60
            try:
                while time.monotonic() < stop_at:
                    self.wfile.write(b"X-Wait: a\r\n")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
            self.close_connection = True
            return
        if mode in ("drip", "endless", "huge"):
            self.misbehave(mode, body)
            return
        if mode == "corrupt":
            body = body[:10] + bytes([body[10] ^ 0xFF]) + body[11:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "short":
            body = body[: len(body) // 2]  # announce everything, send half, hang up
        self.wfile.write(body)

    def misbehave(self, mode, body):
        """drip: one byte every 50 ms; endless: no length, zeros until the client hangs up (at most
        ~64 MB/s);
        huge: announce 10 GB. Each stops when the client goes away (or after 60 s)."""
        self.send_response(200)
        if mode == "drip":
            self.send_header("Content-Length", str(len(body)))
        elif mode == "huge":
            self.send_header("Content-Length", str(10**10))
        self.end_headers()
        stop_at = time.monotonic() + 60
        try:
            if mode == "drip":
                for i in range(len(body)):
                    if time.monotonic() > stop_at:
                        break
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            else:
                block = b"\0" * 65536
                while time.monotonic() < stop_at:
                    self.wfile.write(block)
                    time.sleep(0.001)  # at most ~64 MB/s, so a test's temporary file stays small
        except OSError:  # the client gave up: that is the point
            pass
        self.close_connection = True


def serve(handler):
    """Serve ``handler`` on a local port: yields (base URL, handler); always stops the server."""
    handler.files = {}
    handler.requests = Counter()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def server():
    yield from serve(Handler)


@pytest.fixture
def refused_url():
    """A URL on a local port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing"


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*") if path.name.endswith((".part", ".tmp")))


def payload(size=50_000, seed=0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def test_mirror_urls():
    assert mirror_urls("a.gz", ["http://x/y/", "http://z"]) == ["http://x/y/a.gz", "http://z/a.gz"]


def test_download_verified(server, tmp_path):
    base, handler = server
    handler.files["f.bin"] = data = payload()
    target = download_file(
        f"{base}/good/f.bin", tmp_path / "sub" / "f.bin", md5=hashlib.md5(data).hexdigest(), progress=False
    )
    assert target.read_bytes() == data and leftovers(tmp_path) == []


def test_failing_mirrors_are_skipped(server, tmp_path, refused_url):
    base, handler = server
    handler.files["f.bin"] = data = payload()
    urls = [
        refused_url,
        f"{base}/missing/f.bin",
        f"{base}/corrupt/f.bin",
        f"{base}/short/f.bin",
        f"{base}/good/f.bin",
    ]
    target = download_file(
        urls, tmp_path / "f.bin", md5=hashlib.md5(data).hexdigest(), retries=1, backoff=0, progress=False
    )
    assert target.read_bytes() == data and leftovers(tmp_path) == []
    assert handler.requests[("missing", "f.bin")] == 1  # 404 is permanent: no retry
    assert handler.requests[("corrupt", "f.bin")] == 1  # checksum mismatch: next mirror at once
    assert handler.requests[("short", "f.bin")] == 2  # truncated transfer: retried
    assert handler.requests[("good", "f.bin")] == 1


def test_all_mirrors_fail(server, tmp_path, refused_url):
    base, handler = server
    handler.files["f.bin"] = payload()
    urls = [refused_url, f"{base}/missing/f.bin", f"{base}/corrupt/f.bin", f"{base}/short/f.bin"]
    existing = tmp_path / "f.bin"
    existing.write_bytes(b"previous content")
    with pytest.raises(DownloadError) as caught:
        download_file(
            urls,
            existing,
            md5=hashlib.md5(handler.files["f.bin"]).hexdigest(),
            retries=0,
            backoff=0,
            progress=False,
        )
    message = str(caught.value)
    assert "f.bin" in message
    for url in urls:
        assert url in message
    assert "404" in message and "checksum mismatch" in message and "expected 50000 bytes" in message
    assert existing.read_bytes() == b"previous content"  # only a verified download replaces a file
    assert leftovers(tmp_path) == []
    assert isinstance(caught.value, OSError)


def test_transient_errors_are_retried_with_backoff(server, tmp_path, monkeypatch):
    base, handler = server
    handler.files["f.bin"] = data = payload()
    delays = []
    monkeypatch.setattr(download_module.time, "sleep", delays.append)
    download_file(
        f"{base}/flaky/f.bin",
        tmp_path / "f.bin",
        md5=hashlib.md5(data).hexdigest(),
        retries=2,
        backoff=0.25,
        progress=False,
    )
    assert handler.requests[("flaky", "f.bin")] == 3 and delays == [0.25, 0.5]
    # Too few retries: the flaky mirror is given up and the next one used.
    handler.requests.clear()
    delays.clear()
    download_file(
        [f"{base}/flaky/f.bin", f"{base}/good/f.bin"],
        tmp_path / "g.bin",
        retries=1,
        backoff=0,
        progress=False,
    )
    assert handler.requests[("flaky", "f.bin")] == 2 and handler.requests[("good", "f.bin")] == 1 and delays == []


def test_download_without_checksum_and_bad_arguments(server, tmp_path):
    base, handler = server
    handler.files["f.bin"] = data = payload(1000)
    assert download_file([f"{base}/good/f.bin"], tmp_path / "f.bin", progress=False).read_bytes() == data
    with pytest.raises(ValueError):
        download_file([], tmp_path / "x")
    with pytest.raises(ValueError):
        download_file(f"{base}/good/f.bin", tmp_path / "x", retries=-1)


def test_progress_with_and_without_tqdm(server, tmp_path, monkeypatch, capsys):
    base, handler = server
    handler.files["f.bin"] = data = payload(300_000)
    md5 = hashlib.md5(data).hexdigest()
    download_file(f"{base}/good/f.bin", tmp_path / "a.bin", md5=md5, progress=True)  # tqdm if installed
    monkeypatch.setitem(sys.modules, "tqdm", None)  # simulate tqdm not being installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    capsys.readouterr()
    download_file(f"{base}/good/f.bin", tmp_path / "b.bin", md5=md5, progress=True)
    shown = capsys.readouterr().err
    assert "b.bin" in shown and "100%" in shown and shown.endswith("\n")
    download_file(f"{base}/good/f.bin", tmp_path / "c.bin", md5=md5, progress=None)  # stderr is no terminal here
    assert capsys.readouterr().err == ""
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes() == data


# --------------------------------------------------------------------------------------------------
# Fashion-MNIST downloads, with small synthetic files standing in for the real ones
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def synthetic_fashion(tmp_path, monkeypatch, server):
    """Serve a small Fashion-MNIST look-alike and make the loader expect exactly it."""
    base, handler = server
    rng = np.random.default_rng(7)
    arrays = {
        "train-images": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train-labels": rng.integers(0, 10, 12, dtype=np.uint8),
        "test-images": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "test-labels": rng.integers(0, 10, 6, dtype=np.uint8),
    }
    source = tmp_path / "served"
    source.mkdir()
    specs = []
    for spec in fashion_mnist.FASHION_MNIST.files:
        gz = write_idx(source / (spec.filename + ".gz"), arrays[spec.role])
        handler.files[gz.name] = gz.read_bytes()
        specs.append(spec_for_gz(spec, gz, arrays[spec.role].shape))
    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST", known.DatasetSpec("fashion-mnist", tuple(specs)))
    return base, handler, arrays


def test_fashion_download_through_failing_mirrors(synthetic_fashion, isolated_environment, refused_url, monkeypatch):
    base, handler, arrays = synthetic_fashion
    mirrors = [refused_url, f"{base}/missing/", f"{base}/corrupt/", f"{base}/good"]
    (x_train, t_train), (_, t_test) = load_fashion_mnist(
        normalize=False, flatten=False, mirrors=mirrors, retries=1, backoff=0, progress=False
    )
    np.testing.assert_array_equal(x_train[:, 0], arrays["train-images"])
    np.testing.assert_array_equal(t_test, arrays["test-labels"])
    np.testing.assert_array_equal(t_train, arrays["train-labels"])
    downloads = isolated_environment / "fashion-mnist"
    for spec in fashion_mnist.FASHION_MNIST.files:
        gz = downloads / (spec.filename + ".gz")
        assert hashlib.md5(gz.read_bytes()).hexdigest() == spec.gz_md5
        assert handler.requests[("good", gz.name)] == 1 and handler.requests[("corrupt", gz.name)] == 1
    assert leftovers(isolated_environment) == []

    # Later loads use the .npy cache: no decoding, no network.
    handler.requests.clear()
    monkeypatch.setattr(known, "read_idx_with_md5", lambda *a, **k: pytest.fail("decoded instead of using the cache"))
    (x_train, _), _ = load_fashion_mnist(mirrors=[f"{base}/good/"])
    assert x_train.shape == (12, 784) and x_train.dtype == np.float32 and sum(handler.requests.values()) == 0


def test_damaged_download_in_cache_is_fetched_again(synthetic_fashion, isolated_environment):
    base, handler, arrays = synthetic_fashion
    load_fashion_mnist(mirrors=[f"{base}/good/"], progress=False, cache=False)
    damaged = isolated_environment / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:20])
    handler.requests.clear()
    _, (_, t_test) = load_fashion_mnist(mirrors=[f"{base}/good/"], progress=False, cache=False)
    np.testing.assert_array_equal(t_test, arrays["test-labels"])
    assert sum(handler.requests.values()) == 1 and handler.requests[("good", damaged.name)] == 1
    np.testing.assert_array_equal(read_idx(damaged), arrays["test-labels"])


def test_fashion_download_failure(synthetic_fashion, isolated_environment, refused_url):
    base, _, _ = synthetic_fashion
    with pytest.raises(DownloadError) as caught:
        load_fashion_mnist(mirrors=[refused_url, f"{base}/corrupt/"], retries=0, backoff=0, progress=False)
    assert "train-images-idx3-ubyte.gz" in str(caught.value) and refused_url in str(caught.value)
    assert not (isolated_environment / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists()
    assert leftovers(isolated_environment) == []


def test_fashion_download_without_writable_cache(synthetic_fashion, tmp_path, monkeypatch):
    base, _, arrays = synthetic_fashion
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LAYERPROP_CACHE", str(blocker / "cache"))
    (_, t_train), _ = load_fashion_mnist(mirrors=[f"{base}/good/"], progress=False)
    np.testing.assert_array_equal(t_train, arrays["train-labels"])


def test_download_fashion_mnist_into_folder(synthetic_fashion, tmp_path):
    base, handler, arrays = synthetic_fashion
    folder = fashion_mnist.download_fashion_mnist(tmp_path / "fm", mirrors=[f"{base}/good/"], progress=False)
    np.testing.assert_array_equal(read_idx(folder / "train-labels-idx1-ubyte.gz"), arrays["train-labels"])
    handler.requests.clear()
    fashion_mnist.download_fashion_mnist(tmp_path / "fm", mirrors=[f"{base}/good/"], progress=False)
    assert sum(handler.requests.values()) == 0  # verified files are kept
    shutil.rmtree(folder)


def test_drip_feeding_mirror_is_given_up_after_the_deadline(server, tmp_path):
    base, handler = server
    handler.files["f.bin"] = data = payload(1000)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        download_file(
            f"{base}/drip/f.bin",
            tmp_path / "f.bin",
            md5=hashlib.md5(data).hexdigest(),
            deadline=0.5,
            timeout=5,
            retries=2,
            backoff=0,
            progress=False,
        )
    assert time.monotonic() - started < 20  # a bound for a hung test, not a speed claim
    assert "gave up after 0.5 s" in str(caught.value)
    assert handler.requests[("drip", "f.bin")] == 1  # a deadline is not retried on the same mirror
    assert leftovers(tmp_path) == [] and not (tmp_path / "f.bin").exists()


def test_drip_then_good_mirror(server, tmp_path):
    base, handler = server
    handler.files["f.bin"] = data = payload(1000)
    target = download_file(
        [f"{base}/drip/f.bin", f"{base}/good/f.bin"],
        tmp_path / "f.bin",
        md5=hashlib.md5(data).hexdigest(),
        deadline=0.5,
        backoff=0,
        progress=False,
    )
    assert target.read_bytes() == data


@pytest.mark.parametrize("mode", ["endless", "huge"])
def test_byte_cap(server, tmp_path, mode):
    base, handler = server
    handler.files["f.bin"] = payload(1000)
    with pytest.raises(DownloadError) as caught:
        download_file(
            f"{base}/{mode}/f.bin",
            tmp_path / "f.bin",
            max_bytes=100_000,
            deadline=30,
            retries=2,
            backoff=0,
            progress=False,
        )
    assert "100000" in str(caught.value)
    assert handler.requests[(mode, "f.bin")] == 1
    assert leftovers(tmp_path) == [] and not (tmp_path / "f.bin").exists()


def test_https_mirror_first(monkeypatch):
    monkeypatch.undo()  # the real list, not the autouse fixture's local one
    assert fashion_mnist.FASHION_MNIST_MIRRORS[0].startswith("https://")


def test_fashion_failure_lists_mirrors_and_offline_options(synthetic_fashion, isolated_environment, refused_url):
    base, _, _ = synthetic_fashion
    mirrors = [refused_url, f"{base}/missing/", f"{base}/endless/"]
    with pytest.raises(DownloadError) as caught:
        load_fashion_mnist(mirrors=mirrors, retries=0, backoff=0, progress=False)
    message = str(caught.value)
    assert "\n" not in message  # the CLI prints one line: everything must be on it
    for mirror in mirrors:
        assert mirror.rstrip("/") in message
    assert "404" in message and "more than the file's" in message
    for option in ("--data-dir", "$LAYERPROP_DATA", "apt-get install dataset-fashion-mnist"):
        assert option in message


def test_cli_offline_says_where_to_put_the_files(isolated_environment, refused_url, monkeypatch, capsys, tmp_path):
    from layerprop.cli import main

    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST_MIRRORS", [refused_url])
    monkeypatch.setattr(download_module.time, "sleep", lambda seconds: None)  # no back-off waits
    code = main(["train", "--dataset", "fashion-mnist", "--epochs", "1", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and not err.endswith(":")
    assert refused_url in err and "--data-dir" in err and "dataset-fashion-mnist" in err


def test_headers_dripping_are_given_up_after_the_deadline(server, tmp_path):
    """The deadline covers the whole attempt: a server that never finishes its headers too."""
    base, handler = server
    handler.files["f.bin"] = payload(1000)
    with pytest.raises(DownloadError, match="gave up after 0.5 s"):
        download_file(
            f"{base}/slowheaders/f.bin",
            tmp_path / "f.bin",
            deadline=0.5,
            timeout=5,
            retries=1,
            backoff=0,
            progress=False,
        )
    assert handler.requests[("slowheaders", "f.bin")] == 1
    assert leftovers(tmp_path) == []


def test_endless_body_without_cap_stops_at_the_deadline(server, tmp_path):
    base, handler = server
    handler.files["f.bin"] = payload(1000)
    with pytest.raises(DownloadError, match="gave up after 0.5 s"):
        download_file(f"{base}/endless/f.bin", tmp_path / "f.bin", deadline=0.5, retries=0, progress=False)
    assert leftovers(tmp_path) == [] and not (tmp_path / "f.bin").exists()


# --------------------------------------------------------------------------- issue 17, item 8
@pytest.fixture
def ftp_listener():
    """A TCP port that records every connection (an "FTP server" a redirect would reach)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.05)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            connections.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], connections
    stop.set()
    thread.join(5)
    for connection in connections:
        connection.close()
    listener.close()


class RedirectHandler(Handler):
    target = ""

    def do_GET(self):
        if self.path.startswith("/redirect/"):
            self.requests[("redirect", self.path)] += 1
            self.send_response(302)
            self.send_header("Location", self.target)
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture
def redirect_server():
    yield from serve(RedirectHandler)


def test_a_redirect_to_ftp_is_refused_without_connecting(redirect_server, ftp_listener, tmp_path):
    """Before: a redirect to ftp:// was followed by urllib's FTP handler, outside the deadline's
    watch (54 s for a 2 s deadline). Now it is refused at once and the next mirror is used."""
    base, handler = redirect_server
    port, connections = ftp_listener
    handler.target = f"ftp://127.0.0.1:{port}/f.bin"
    handler.files["f.bin"] = data = payload(1000)
    target = download_file(
        [f"{base}/redirect/f.bin", f"{base}/good/f.bin"],
        tmp_path / "f.bin",
        md5=hashlib.md5(data).hexdigest(),
        deadline=30,
        retries=2,
        backoff=0,
        progress=False,
    )
    assert target.read_bytes() == data and connections == []
    assert handler.requests[("redirect", "/redirect/f.bin")] == 1  # refused: not retried


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:9/f.bin", "file:///etc/hostname", "data:,hello"])
def test_only_http_and_https_urls_are_fetched(tmp_path, url):
    with pytest.raises(DownloadError, match="only http:// and https://") as caught:
        download_file(url, tmp_path / "f.bin", retries=2, backoff=0, progress=False)
    assert url in str(caught.value) and not (tmp_path / "f.bin").exists()


def test_downloads_are_always_capped(server, tmp_path, monkeypatch):
    """Before: download_file() without max_bytes wrote 4 GB in 10 s. Now it has a default cap."""
    assert download_module.DEFAULT_MAX_BYTES == 256 << 20
    monkeypatch.setattr(download_module, "DEFAULT_MAX_BYTES", 200_000)
    base, handler = server
    handler.files["f.bin"] = payload(1000)
    with pytest.raises(DownloadError, match="more than the file's 200000 bytes"):
        download_file(f"{base}/endless/f.bin", tmp_path / "f.bin", deadline=30, retries=0, progress=False)
    assert leftovers(tmp_path) == []


def test_a_stalled_mirror_is_given_up_before_the_deadline(server, tmp_path):
    """The stall rule: the drip server sends 20 bytes a second; with at least 100 bytes/s over
    0.5 s asked, it is given up after about 0.5 s, not at the 60 s deadline, and the next mirror
    is used."""
    base, handler = server
    handler.files["f.bin"] = data = payload(1000)
    started = time.monotonic()
    target = download_file(
        [f"{base}/drip/f.bin", f"{base}/good/f.bin"],
        tmp_path / "f.bin",
        md5=hashlib.md5(data).hexdigest(),
        deadline=60,
        speed_limit=100,
        speed_time=0.5,
        retries=2,
        backoff=0,
        progress=False,
    )
    assert target.read_bytes() == data
    assert handler.requests[("drip", "f.bin")] == 1  # a stall is not retried on the same mirror
    assert time.monotonic() - started < 30  # a bound for a hung test, not a speed claim
    with pytest.raises(DownloadError, match="stalled: .*the stall rule"):
        download_file(
            f"{base}/drip/f.bin", tmp_path / "g.bin", deadline=60, speed_limit=100, speed_time=0.5, progress=False
        )


def test_the_stall_rule_spares_a_slow_but_steady_mirror(server, tmp_path):
    base, handler = server
    handler.files["f.bin"] = data = payload(30)  # 30 bytes dripped at 20 bytes/s: 1.5 s
    target = download_file(
        f"{base}/drip/f.bin", tmp_path / "f.bin", speed_limit=5, speed_time=0.5, deadline=60, progress=False
    )
    assert target.read_bytes() == data


def test_the_stall_rule_defaults():
    import inspect

    defaults = inspect.signature(download_file).parameters
    assert defaults["speed_limit"].default == download_module.SPEED_LIMIT == 1024
    assert defaults["speed_time"].default == download_module.SPEED_TIME == 30.0
