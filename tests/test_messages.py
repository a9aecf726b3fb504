"""Messages that quote input (issue 17, "Also"): one helper for untrusted text, so an error line is
one short line whatever came — a 9 MB name, a name with a newline, a tuple of 2⁶⁰ leaves."""

from __future__ import annotations

import pytest

from layerprop.errors import ArgumentError, ArgumentTypeError, quoted, shown
from layerprop.validation import integer, positive


def test_quoted_keeps_text_on_one_short_line():
    assert quoted("posix") == "'posix'"
    assert quoted("sys\ntem") == "'sys\\ntem'"  # escaped: the CLI prints a message's first line only
    long = quoted("a" * 9_000_000)
    assert len(long) < 100 and "9000000 characters" in long and "\n" not in long
    assert quoted(b"\x00bytes") == repr("\x00bytes")


def test_shown_bounds_any_value_and_the_work_of_writing_it():
    dag = (None,)
    for _ in range(60):  # 2**60 leaves: repr() would never end
        dag = (dag, dag)
    assert len(shown(dag)) < 120
    assert shown(list(range(10**6))).endswith("… (1000000 items)]")
    assert shown({"a": "x" * 10**6, "b": 2}).startswith("{'a': 'xxx")
    assert shown(2**5000) == "<an integer of 5001 bits>"
    assert shown(b"x" * 10**6) == "<1000000 bytes>"
    assert shown((1,)) == "(1,)" and shown(None) == "None" and shown(2.5) == "2.5"
    assert shown(object()) == "<object>"


def test_validation_messages_quote_the_value_within_bounds():
    with pytest.raises(ArgumentTypeError) as caught:
        integer("hidden_size_list[0]", "x" * 10**6, minimum=1, owner="MultiLayerNet")
    assert len(str(caught.value)) < 200
    with pytest.raises(ArgumentTypeError) as caught:
        positive("lr", [[1]] * 10**5)
    assert len(str(caught.value)) < 200 and "100000 items" in str(caught.value)
    with pytest.raises(ArgumentError, match="must be > 0, got -1"):
        positive("lr", -1)
