"""Share links between labs: what a link holds, how another lab opens it, and the page a link
without this lab's token gets.

A lab's page keeps its whole state in its URL's ``#`` part — ``tab=graph&expr=…&v.x=3…``, the keys
of :data:`STATE_KEYS` — and its Share button copies that URL. The URL also carries the sharer's
token, host and port, which no other lab accepts. What travels between labs is the ``#`` part
alone: ``layerprop lab --open LINK`` (:func:`shared_fragment`) starts a lab whose own URL carries
LINK's ``#`` part, and the page's "Open a shared link" box does the same in a running lab (its
own copy of these rules, in ``static/lab.js``). The ``#`` part never reaches the server: a browser
never sends it, and the command only appends it to the URL it prints and opens.

A browser that asks for this lab's page without its token — someone opened a link shared from
another lab — gets :func:`token_help_page` (status 403): a static page, the same for every
request, that says in English and Korean how to open the link in one's own lab. Its own script
reads the link from the address bar to show the exact command.
"""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse

from .assets import asset
from .limits import LIMITS, LabLimitError

#: the keys the page writes in a link's ``#`` part (an input's value is ``v.NAME``); a ``#`` part
#: that is just ``graph`` or ``train`` names a tab. static/lab.js holds the same list (a test
#: compares them).
STATE_KEYS = (
    "tab",
    "expr",
    "preset",
    "step",
    "data",
    "pts",
    "classes",
    "cols",
    "file",
    "hidden",
    "act",
    "opt",
    "lr",
    "batch",
    "speed",
    "seed",
)
VALUE_PREFIX = "v."
TAB_NAMES = ("graph", "train")
#: what stays as it is in a ``#`` part (RFC 3986: pchar, "/" and "?"; "%" keeps escapes as they are);
#: everything else is percent-encoded (a space, "'" — so the link fits in a shell's single quotes)
FRAGMENT_SAFE = "!$&()*+,;=:@/?%-._~"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: how much of a refused link an error message repeats
SHOWN_CHARS = 60


def holds_state(fragment: str) -> bool:
    """Whether a ``#`` part (without the ``#``) holds a lab's state: a tab's name, or at least one of
    :data:`STATE_KEYS` or an input's value."""
    if fragment in TAB_NAMES:
        return True
    keys = [key for key, _ in urllib.parse.parse_qsl(fragment, keep_blank_values=True)]
    return any(key in STATE_KEYS or key.startswith(VALUE_PREFIX) for key in keys)


def _shown(text: str) -> str:
    return repr(text) if len(text) <= SHOWN_CHARS else repr(text[: SHOWN_CHARS - 1] + "…")


def shared_fragment(link: str) -> str:
    """The ``#`` part (without the ``#``, percent-encoded) of ``link``: a link copied from any lab
    (``http(s)://HOST:PORT/?token=…#…``; the host, port and token are not used) or its ``#`` part
    alone. :class:`~.limits.LabLimitError`, in English and Korean, when ``link`` is longer than
    ``LIMITS["link_chars"]``, is not one line, is not such a link, or holds no lab state."""
    text = link.strip()
    limit = LIMITS["link_chars"]
    if len(text) > limit:
        raise LabLimitError(
            f"the link is {len(text)} characters long; a lab opens links of at most {limit}",
            f"링크가 {len(text)}자입니다 — lab은 최대 {limit}자까지의 링크를 엽니다",
        )
    if _CONTROL.search(text):
        raise LabLimitError(
            "the link holds a line break or another control character; give the link on one line",
            "링크에 줄바꿈이나 제어 문자가 있습니다 — 링크를 한 줄로 주세요",
        )
    if text.startswith("#"):
        fragment = text[1:]
    else:
        try:
            parts = urllib.parse.urlsplit(text)
        except ValueError:  # a malformed [IPv6] host
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise LabLimitError(
                f"{_shown(text)} is not a lab's link: give a link copied with a lab's Share button "
                "(http://…/?token=…#…) or its # part",
                f"{_shown(text)}은(는) lab의 링크가 아닙니다 — lab의 공유 버튼으로 복사한 링크"
                "(http://…/?token=…#…)나 그 # 뒷부분을 주세요",
            )
        fragment = parts.fragment
    if not holds_state(fragment):
        raise LabLimitError(
            f"the link {_shown(text)} holds no lab state (a lab's link has it after #: tab=…&expr=…); "
            "copy the link with the lab's Share button",
            f"링크 {_shown(text)}에는 lab의 상태가 없습니다 (lab의 링크는 # 뒤에 tab=…&expr=…처럼 상태를 담습니다) "
            "— lab의 공유 버튼으로 링크를 복사하세요",
        )
    return urllib.parse.quote(fragment, safe=FRAGMENT_SAFE)


def _hash_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _inline(page: str, tag: str) -> str:
    return re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S).group(1)


def token_help_page() -> tuple[bytes, list]:
    """The page a request for ``/`` without this lab's token gets (``static/other_lab.html``, sent
    with status 403): its body and its headers. It holds no token, no state and no other route; its
    Content-Security-Policy lets only its own inline style and script run and it loads nothing."""
    page = asset("other_lab.html")
    policy = (
        f"default-src 'none'; script-src {_hash_source(_inline(page, 'script'))}; "
        f"style-src {_hash_source(_inline(page, 'style'))}; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-security-policy", policy.encode("ascii")),
        (b"cache-control", b"no-store"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-content-type-options", b"nosniff"),
    ]
    return page.encode("utf-8"), headers
