"""Messages that quote input: one helper for untrusted text, so an error line is
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


def test_the_cli_prints_one_bounded_line_whatever_an_error_holds(capsys, monkeypatch):
    """The net under every message: the CLI prints the first non-blank line of an error, cut at
    MAX_ERROR_CHARACTERS with its length said, for runtime errors (exit 1) and usage errors (exit 2)."""
    import layerprop.cli as cli
    from layerprop.cli import train_cmd
    from layerprop.cli.common import UsageError

    for error, code in ((ValueError("\n" + "x" * 1_000_000 + "\nsecond line"), 1), (UsageError("y" * 50_000), 2)):

        def run(args, error=error):
            raise error

        monkeypatch.setattr(train_cmd, "run", run)
        try:
            returned = cli.main(["train"])
        except SystemExit as exit_:  # argparse's exit for a usage error
            returned = exit_.code
        assert returned == code
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and len(err) < cli.MAX_ERROR_CHARACTERS + 100, len(err)
        assert "characters)" in err
