"""Shared by the browser tests: start ``layerprop lab`` on a free port, and a headless Chromium.

The lab runs as a real ``python -m layerprop lab --port 0 --no-browser`` process (its URL, with the
token, is read from its first line) and is always stopped. Chromium is Debian's ``/usr/bin/chromium``
driven by Playwright (no ``playwright install``). Without Playwright, Chromium or the ``[lab]`` extra
the tests are skipped — except on CI (``CI`` or ``LAYERPROP_REQUIRE_BROWSER`` set; ``.ci/run`` sets
the latter and installs them all): there they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

from optional import missing

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
START_TIMEOUT_S = 30


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    missing("Chromium")


def playwright_module():
    try:
        from playwright import sync_api
    except ImportError:
        missing("Playwright (pip install playwright)")
    return sync_api


def serve_command(**options) -> list:
    """A command that runs :func:`layerprop.lab.server.serve` on a free port with ``options``
    (e.g. ``header_timeout_s=1.0``), printing its URL like ``layerprop lab``."""
    arguments = ", ".join(f"{name}={value!r}" for name, value in options.items())
    code = (
        "from layerprop.lab.server import serve; "
        f"serve('127.0.0.1', 0, open_browser=False, announce=lambda line: print(line, flush=True), {arguments})"
    )
    return [sys.executable, "-c", code]


class RecordingBrowser:
    """A stand-in for the user's browser (POSIX): ``env`` points ``BROWSER`` at a script that records
    its command line; ``argv()`` waits for it (at most ``timeout`` seconds) and returns it."""

    def __init__(self, folder):
        self.record = folder / "argv.json"
        script = folder / "browser"
        script.write_text(
            f"#!{sys.executable}\nimport json, sys\nopen({str(self.record)!r}, 'w').write(json.dumps(sys.argv))\n"
        )
        script.chmod(0o700)
        self.env = {"BROWSER": str(script)}

    def argv(self, timeout: float = START_TIMEOUT_S) -> list:
        import json
        import time

        deadline = time.monotonic() + timeout
        while not self.record.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return json.loads(self.record.read_text())


class LabProcess:
    """A running ``layerprop lab``: ``url`` (with the token), ``base``, ``token``, ``port``, ``pid``.

    ``args`` are added to ``layerprop lab --port 0`` (``--no-browser`` unless ``browser``), or
    ``command`` replaces it (see :func:`serve_command`); ``env`` adds environment variables;
    ``max_files`` sets the process's limit of open files (RLIMIT_NOFILE, where there is one).
    ``stderr()`` is what the server wrote there so far. As a context manager it stops the lab at the end.
    """

    def __init__(self, args=(), *, browser=False, command=None, env=None, max_files=None):
        for module in ("starlette", "uvicorn", "websockets"):
            try:
                __import__(module)
            except ImportError:
                missing(f"{module} (pip install 'layerprop[lab]')")
        environment = {**os.environ, **(env or {})}
        source = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
        environment["PYTHONPATH"] = source + os.pathsep + environment.get("PYTHONPATH", "")
        if command is None:
            command = [sys.executable, "-m", "layerprop", "lab", "--port", "0", *([] if browser else ["--no-browser"])]
            command += [str(argument) for argument in args]

        def limit_files():
            import resource

            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            wanted = max_files if hard == resource.RLIM_INFINITY else min(max_files, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

        self.log = tempfile.TemporaryFile(mode="w+")  # the server's stderr: a file, so it never blocks
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=environment,
            start_new_session=True,
            preexec_fn=limit_files if max_files else None,
        )
        self.pid = self.process.pid
        first = {}
        reader = threading.Thread(target=lambda: first.setdefault("line", self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        line = first.get("line", "")
        if "http://" not in line:
            self.stop()
            self.log.seek(0)
            raise RuntimeError(f"layerprop lab did not print its URL: {line!r} {self.log.read()[-2000:]!r}")
        self.url = line.split("lab: ", 1)[1].strip()
        parts = urllib.parse.urlsplit(self.url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.port = parts.port
        self.token = urllib.parse.parse_qs(parts.query)["token"][0]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stderr(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()  # the process this helper started
                self.process.wait(timeout=10)
        self.process.stdout.close()
        self.log.close()


#: what Chromium logs for a request the lab answered 400: a mistake the page shows (a typo in an
#: expression, a bad CSV file) — an answer, not an error of the page
REFUSED = "the server responded with a status of 400"


def _console_error(errors: list, message) -> None:
    if message.type == "error" and REFUSED not in message.text:
        errors.append(f"console: {message.text}")


class Chromium:
    """Playwright and one headless Chromium; ``new_page()`` opens a page (1400×900)."""

    def __init__(self):
        sync_api = playwright_module()
        program = find_browser()
        self.manager = sync_api.sync_playwright().start()
        try:
            self.browser = self.manager.chromium.launch(
                executable_path=program, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
            )
        except Exception:
            self.manager.stop()
            raise

    def new_page(self, locale: str = "en-US"):
        context = self.browser.new_context(viewport={"width": 1400, "height": 900}, locale=locale)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors = []  # uncaught exceptions and console errors (a script error, a failed request)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda message: _console_error(errors, message))
        page.errors = errors
        return page

    def close(self):
        try:
            self.browser.close()
        finally:
            self.manager.stop()


# -- the two pages --------------------------------------------------------------------------------
def open_graph_page(chromium, lab, **options):
    """A new page on the lab's graph page, once it shows its first graph (the apple/orange shop)."""
    page = chromium.new_page(**options)
    page.goto(lab.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    return page


def open_train_page(chromium, lab, **options):
    """A new page on the lab's train page, once its first job (two moons) is at step 0."""
    page = chromium.new_page(**options)
    page.goto(lab.url + "#train")
    wait_for_job(page)
    return page


# -- on the train page ------------------------------------------------------------------------------
def blobs_csv(path, per_class: int = 60, seed: int = 0, header: str = "height,weight,kind") -> list:
    """Three well-separated blobs as a CSV file (labels cat, dog, fox, in that order); returns the rows."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for name, (cx, cy) in zip(("cat", "dog", "fox"), ((150, 50), (175, 85), (195, 55))):
        for _ in range(per_class):
            rows.append((round(cx + rng.normal(0, 4), 2), round(cy + rng.normal(0, 4), 2), name))
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    lines = ([header] if header else []) + [f"{a},{b},{c}" for a, b, c in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def wait_for_job(page, condition: str = "true"):
    """Wait until the page shows a new job at step 0 whose latest snapshot ``s`` satisfies ``condition``."""
    page.wait_for_function(
        f"(() => {{ const s = window.lab.train.latest; return !!s && s.step === 0 && ({condition}); }})()"
    )


def train_steps(page, steps: int, timeout: int = 60_000):
    """Start, wait for ``steps`` steps, pause, and wait until the page shows the paused job."""
    page.click("#start")
    page.wait_for_function(f"window.lab.train.latest.step >= {steps}", timeout=timeout)
    page.click("#pause")
    page.wait_for_function("window.lab.train.latest.running === false")
    return page.evaluate("window.lab.train.latest")
