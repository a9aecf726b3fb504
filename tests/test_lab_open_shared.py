"""Opening a link shared from another lab: ``layerprop lab --open LINK``, the page's "Open a shared
link" box, and the help page (403) a link without this lab's token gets.

A link copied with lab A's Share button carries A's token; lab B (another process, another token,
another port) opens the state it holds (its # part), never the token. The browser tests run
headless Chromium against real ``layerprop lab`` processes, each started and stopped here
(fixtures: tests/conftest.py, tests/lab_helpers.py).
"""

import asyncio
import os
import shlex
import urllib.parse

import pytest
from lab_helpers import LabProcess, RecordingBrowser
from optional import need

from layerprop.cli import main
from layerprop.lab import LIMITS, LabLimitError
from layerprop.lab.share_links import STATE_KEYS, holds_state, shared_fragment, token_help_page

EXPRESSION = "price = x * x + 3 * x + y"
OUTPUT = "price = 18.25"
BRANCH_SUM = "x.grad = 3 + 3 + 3 = 9"
STATE = "[document.getElementById('status').dataset.phase, document.getElementById('status').dataset.step]"


# -- what a link holds ---------------------------------------------------------------------------------
def test_the_fragment_of_a_link_from_any_lab_or_the_fragment_alone():
    state = "tab=graph&expr=x+*+y&v.x=3&step=2"
    for link in (
        f"http://127.0.0.1:8765/?token=the-sharers-token#{state}",
        f"https://lab.example:9000/somewhere?token=x&other=1#{state}",
        f"http://[::1]:8765/?token=t#{state}",
        f"  http://localhost/#{state}\n",  # pasted with the spaces and the line end around it
        f"#{state}",
    ):
        assert shared_fragment(link) == state, link
    assert shared_fragment("#train") == "train" and shared_fragment("http://127.0.0.1:1/#graph") == "graph"
    # typed by hand: what a URL cannot hold is percent-encoded (decoded again by the page), and "'"
    # too, so that the link fits in a shell's single quotes
    assert shared_fragment("#expr=x * y") == "expr=x%20*%20y"
    assert shared_fragment("#expr=it's + 가") == "expr=it%27s%20+%20%EA%B0%80"
    assert shared_fragment("#expr=x%2By&v.x=1") == "expr=x%2By&v.x=1"  # escapes stay as they are
    assert holds_state("v.x=3") and holds_state("graph")
    assert not holds_state("") and not holds_state("section-2") and not holds_state("token=abc&page=1")


@pytest.mark.parametrize(
    "link, says",
    [
        ("hello", "is not a lab's link"),
        ("ftp://127.0.0.1:8765/#tab=graph", "is not a lab's link"),
        ("javascript:alert(1)//#tab=graph", "is not a lab's link"),
        ("file:///tmp/open-lab.html#tab=graph", "is not a lab's link"),
        ("http://[::1/#tab=graph", "is not a lab's link"),
        ("http://127.0.0.1:8765/?token=abc", "holds no lab state"),
        ("https://example.com/docs#section-2", "holds no lab state"),
        ("#", "holds no lab state"),
        ("#tab=graph\nrm -rf ~", "control character"),
        ("#expr=" + "x" * LIMITS["link_chars"], f"at most {LIMITS['link_chars']}"),
    ],
)
def test_lab_open_refuses_junk_and_over_long_links_in_one_line(monkeypatch, capsys, link, says):
    import importlib.util

    with pytest.raises(LabLimitError) as refused:
        shared_fragment(link)
    assert says in str(refused.value) and refused.value.message_ko
    real = importlib.util.find_spec  # were the link taken, the lab would stop at the missing extra, not run
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "starlette" else real(name, *a))
    with pytest.raises(SystemExit) as exit_:
        main(["lab", "--port", "0", "--no-browser", "--open", link])  # refused before the lab starts
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err and err.startswith("layerprop lab: error: --open: ")
    assert len(err) < 400  # an over-long link is not repeated


def test_lab_help_mentions_open(capsys):
    with pytest.raises(SystemExit):
        main(["lab", "--help"])
    out = capsys.readouterr().out
    assert "--open LINK" in out and "Open a shared" in out


# -- the page a request without the token gets -----------------------------------------------------------
def _answer(app, method, path, headers=(), kind="http"):
    """One request through the ASGI ``app`` in this process: (status, headers, body), or the
    WebSocket's close message."""
    sent = []

    async def receive():
        return {"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    path, _, query = path.partition("?")
    scope = {
        "type": kind,
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8765"), *headers],
    }
    asyncio.run(app(scope, receive, send))
    if kind == "websocket":
        return sent[0]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_the_page_without_the_token_is_a_static_help_page_and_every_other_refusal_stays_plain():
    need("starlette", "pip install 'layerprop[lab]'")
    from layerprop.lab.security import allowed_hosts
    from layerprop.lab.server import create_app

    token = "this-labs-own-token-123"
    app = create_app(token, allowed_hosts("127.0.0.1", 8765))
    page, _ = token_help_page()
    for path in ("/", "/?token=another-labs-token", "/?token=", "/?tab=graph&token=x"):
        status, headers, body = _answer(app, "GET", path)
        assert status == 403 and body == page, path  # the same page for everyone
        assert headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    text = page.decode()
    assert token not in text and "/api" not in text and "/static" not in text and "/ws" not in text
    assert "layerprop lab --open" in text and "Open a shared link" in text and "공유 링크 열기" in text
    status, _, body = _answer(app, "GET", f"/?token={token}")
    assert status == 200 and token.encode() in body and body != page  # the lab's own page

    plain = "text/plain; charset=utf-8"
    for method, path, headers in (
        ("GET", "/", [(b"host", b"rebound.example:8765")]),  # the Host check stays first
        ("GET", "/", [(b"origin", b"http://evil.example")]),
        ("POST", "/", []),
        ("HEAD", "/", []),
        ("GET", "/api/limits", []),
        ("GET", "/api/layers", []),
        ("POST", "/api/graph", []),
        ("GET", "/static/lab.js", []),
        ("GET", "/static/other_lab.html", []),
        ("GET", "/index.html", []),
    ):
        status, answer, body = _answer(app, method, path, headers)
        assert status == 403 and answer["content-type"] == plain, (method, path, headers)
        assert body.startswith(b"refused: ") and len(body.splitlines()) == 1 and body != page
    closed = _answer(app, "GET", "/ws/train", kind="websocket")
    assert closed["type"] == "websocket.close" and closed["code"] == 1008


# -- in the browser ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_link(lab, browser):
    """A link copied with lab A's Share button: an expression, two values and the stepper at step 3."""
    page = browser.new_page()
    try:
        page.goto(lab.url)
        page.wait_for_selector(".input-row[data-name=tax]")
        page.fill("#expr", EXPRESSION)
        page.press("#expr", "Enter")
        page.wait_for_selector(".input-row[data-name=y]")
        for name, value in (("x", "3"), ("y", "0.25")):
            page.fill(f".input-row[data-name={name}] input.field", value)
            page.dispatch_event(f".input-row[data-name={name}] input.field", "change")
        page.wait_for_function(f"document.querySelector('#outputs').textContent.trim() === {OUTPUT!r}")
        page.click("#first")
        for _ in range(3):
            page.click("#next")
        page.click("#share")
        page.wait_for_selector("#share-box:not([hidden])")
        link = page.input_value("#share-link")
        assert page.evaluate("window.lab.stateKeys") == list(STATE_KEYS)  # lab.js and share_links agree
        assert page.errors == []
    finally:
        page.context.close()
    assert link.startswith(lab.url + "#")
    return link


@pytest.fixture(scope="module")
def lab_b():
    """Another lab: its own process, token and port."""
    with LabProcess() as process:
        yield process


def _assert_restored(page):
    page.wait_for_function(f"document.querySelector('#outputs').textContent.trim() === {OUTPUT!r}")
    assert page.input_value("#expr") == EXPRESSION
    assert page.input_value(".input-row[data-name=x] input.field") == "3"
    assert page.input_value(".input-row[data-name=y] input.field") == "0.25"
    assert page.text_content("#branch-sums") == BRANCH_SUM
    assert page.evaluate(STATE) == ["forward", "3"]


def test_every_key_of_a_shared_link_is_one_the_rules_know(shared_link):
    keys = [key for key, _ in urllib.parse.parse_qsl(shared_link.partition("#")[2])]
    assert keys and all(key in STATE_KEYS or key.startswith("v.") for key in keys), keys


def test_lab_open_starts_another_lab_on_the_shared_state(lab, shared_link, chromium):
    fragment = shared_link.partition("#")[2]
    with LabProcess(["--open", shared_link]) as other:
        assert other.token != lab.token and other.port != lab.port
        assert other.url == f"http://127.0.0.1:{other.port}/?token={other.token}#{fragment}"  # printed
        assert lab.token not in other.url
        page = chromium.new_page()
        page.goto(other.url)
        _assert_restored(page)
        assert page.evaluate("window.lab.link()") == "#" + fragment  # the state, exactly as shared


def test_the_browser_gets_the_shared_state_through_its_redirect_file(tmp_path, lab, shared_link, chromium):
    """``--open`` with the # part alone; the browser the lab starts is given the private redirect
    file (never the token URL), which forwards to the lab's URL with the # part."""
    if os.name != "posix":
        pytest.skip("the browser is a shell-less script here (POSIX)")
    browser = RecordingBrowser(tmp_path)
    fragment = shared_link.partition("#")[2]
    with LabProcess(["--open", "#" + fragment], browser=True, env=browser.env) as other:
        argv = browser.argv()
        assert other.token not in " ".join(argv) and argv[-1].startswith("file://")
        assert other.url.endswith("#" + fragment)
        page = chromium.new_page()
        page.goto(argv[-1])  # the redirect file, as the user's browser opens it
        page.wait_for_url(other.url)
        _assert_restored(page)


def test_the_paste_box_opens_a_link_from_another_lab(lab, lab_b, shared_link, chromium):
    page = chromium.new_page()
    page.goto(lab_b.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    assert page.is_hidden("#open-status")
    page.fill("#open-link", shared_link)  # lab A's link, with A's token and port
    page.click("#open-shared")
    _assert_restored(page)
    assert page.text_content("#open-status") == "Opened the shared link: this page now shows its state."
    assert page.input_value("#open-link") == ""
    assert page.evaluate("location.href").startswith(lab_b.url + "#")  # still this lab, its own token
    assert page.evaluate("document.body.dataset.token") == lab_b.token
    page.go_back()  # Back: the state before the link
    page.wait_for_function("document.querySelector('#outputs').textContent.trim() !== 'price = 18.25'")


@pytest.mark.parametrize(
    "text, english, korean",
    [
        ("hello", "That is not a lab's link", "lab의 링크가 아닙니다"),
        ("ftp://127.0.0.1/#tab=graph", "That is not a lab's link", "lab의 링크가 아닙니다"),
        ("https://example.com/docs#section-2", "This link holds no lab state", "lab의 상태가 없습니다"),
        ("http://127.0.0.1:8765/?token=abc", "This link holds no lab state", "lab의 상태가 없습니다"),
        ("#expr=" + "x" * LIMITS["link_chars"], f"at most {LIMITS['link_chars']}", f"최대 {LIMITS['link_chars']}자"),
    ],
)
def test_the_paste_box_says_why_a_link_holds_nothing_to_open(lab_b, chromium, text, english, korean):
    page = chromium.new_page()
    page.goto(lab_b.url)
    page.wait_for_selector(".input-row[data-name=tax]")
    before = page.evaluate("window.lab.link()")
    page.fill("#open-link", text)
    page.press("#open-link", "Enter")
    page.wait_for_selector("#open-status[data-state=refused]")
    assert english in page.text_content("#open-status")
    page.click("#lang")  # the message follows the language
    assert korean in page.text_content("#open-status")
    assert page.evaluate("window.lab.link()") == before  # nothing applied


def _console_errors(page):
    errors = []
    page.on(
        "console",
        lambda message: errors.append((message.text, message.location.get("url"))) if message.type == "error" else None,
    )
    return errors


def _shown(page, selector):
    return page.eval_on_selector_all(selector, "els => els.map(e => e.offsetParent !== null)")


@pytest.mark.parametrize("token", ["another lab's", "none"])
def test_a_link_without_this_labs_token_shows_how_to_open_it(lab, lab_b, shared_link, chromium, token):
    """The teacher's link, opened on a student's lab at the same address: lab A's token, or none."""
    fragment = shared_link.partition("#")[2]
    link = f"{lab_b.base}/{'' if token == 'none' else '?token=' + lab.token}#{fragment}"
    page = chromium.new_page()
    console = _console_errors(page)
    answer = page.goto(link)
    assert answer.status == 403
    assert lab_b.token not in answer.text() and lab_b.token not in page.content()
    assert _shown(page, ".shared") == [True, True] and _shown(page, ".plain") == [False, False]
    commands = page.eval_on_selector_all(".command", "els => els.map(e => e.textContent)")
    command = f"layerprop lab --open '{link}'"
    assert commands == [command, command]  # in English and in Korean
    assert "Open a shared link" in page.inner_text("body") and "공유 링크 열기" in page.inner_text("body")
    # Chromium logs the page's own status as a console error: the answer this page is meant to have
    assert console == [("Failed to load resource: the server responded with a status of 403 (Forbidden)", link)]
    page.errors[:] = [e for e in page.errors if "status of 403" not in e]  # the checks above covered it

    arguments = shlex.split(command)  # the command, as a shell reads it, opens the state in one's own lab
    assert arguments[:3] == ["layerprop", "lab", "--open"]
    with LabProcess(arguments[2:]) as own:
        fresh = chromium.new_page()
        fresh.goto(own.url)
        _assert_restored(fresh)


def test_an_address_without_token_or_state_says_to_open_the_printed_url(lab_b, chromium):
    page = chromium.new_page()
    console = _console_errors(page)
    answer = page.goto(lab_b.base + "/")
    assert answer.status == 403 and lab_b.token not in answer.text()
    assert _shown(page, ".shared") == [False, False] and _shown(page, ".plain") == [True, True]
    assert "?token=" in page.inner_text("section[lang=en] .plain")
    assert [text for text, _ in console] == [
        "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    page.errors[:] = [e for e in page.errors if "status of 403" not in e]
