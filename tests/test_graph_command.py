"""``layerprop graph`` and ``layerprop gradcheck`` (issue 8, items 7 and 13): no NumPy warnings,
one line for inf/NaN, finite --set values only, the parser's limits as one-line errors, plain
--help text, --format without -o, and --no-backward for the notes' examples."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

import layerprop
from layerprop.graph.expression import MAX_DEPTH


def graph_process(*argv, cwd=None, env=None, stdout=subprocess.PIPE):
    """``python -m layerprop graph ARGV`` as a real process, so that any warning would reach stderr.

    The process imports the same layerprop as this test (also from another working directory)."""
    env = dict(os.environ if env is None else env)
    package_root = str(Path(layerprop.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-W", "default", "-m", "layerprop", "graph", *argv],
        cwd=cwd,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "expr, values, shown",
    [
        ("1/x", ["x=0"], "gradient of x = -inf, out = inf"),
        ("log(x)", ["x=-1"], "out = nan"),
        ("log(x)*y", ["x=-1", "y=2"], "the output of log = nan"),
    ],
)
def test_inf_and_nan_give_one_line_and_no_numpy_warning(expr, values, shown):
    done = graph_process("--expr", expr, "--set", *values)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "RuntimeWarning" not in err and ".py:" not in err
    assert err.count("\n") == 1 and err.startswith("layerprop graph: note: not finite (inf or NaN): ")
    assert shown in err
    assert done.stdout.decode().startswith("digraph")


def test_finite_values_say_nothing(capsys):
    code, out, err = run_cli(
        capsys, "graph", "--expr", "(a*b + c*d)*t", "--set", "a=100", "b=2", "c=150", "d=3", "t=1.1"
    )
    assert code == 0 and err == "" and out.startswith("digraph")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "-1e400"])
def test_non_finite_set_values_are_refused_alike(capsys, value):
    code, out, err = run_cli(capsys, "graph", "--expr", "a*2", "--set", f"a={value}")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "values must be finite numbers" in err


def test_a_1000_term_sum_is_drawn(capsys):
    code, out, err = run_cli(capsys, "graph", "--expr", "+".join(["a"] * 1000), "--set", "a=1")
    assert code == 0, err
    assert "out = 1000" in out


def test_nesting_200_deep_is_one_line_exit_2(capsys):
    code, out, err = run_cli(capsys, "graph", "--expr", "(" * 200 + "a" + ")" * 200, "--set", "a=1")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"limit of {MAX_DEPTH} levels" in err and "recursion" not in err


@pytest.mark.parametrize("command", ["graph", "gradcheck"])
def test_help_shows_no_raw_rest(capsys, command):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    assert "``" not in out and f"layerprop {command}" in out


def fake_dot(tmp_path):
    """A stand-in for Graphviz's dot that prints fixed bytes for any -T format."""
    path = tmp_path / "fake-dot"
    path.write_text("#!/bin/sh\ncat >/dev/null\nprintf 'PICTURE:%s' \"$1\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.skipif(os.name != "posix", reason="the fake dot is a shell script")
@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_format_without_o_writes_the_picture_to_a_redirected_stdout(tmp_path, fmt):
    env = {**os.environ, "LAYERPROP_DOT": str(fake_dot(tmp_path))}
    work = tmp_path / "work"
    work.mkdir()
    target = tmp_path / f"redirected.{fmt}"
    with open(target, "wb") as stdout:  # what `layerprop graph --format png > redirected.png` does
        done = graph_process("--example", "apple", "--format", fmt, cwd=work, env=env, stdout=stdout)
    assert done.returncode == 0, done.stderr.decode()
    assert target.read_bytes() == f"PICTURE:-T{fmt}".encode()
    assert list(work.iterdir()) == []  # no stdout.png or other file left behind


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_binary_format_onto_a_terminal_is_refused_and_writes_nothing(capsys, monkeypatch, tmp_path, fmt):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code, out, err = run_cli(capsys, "graph", "--example", "apple", "--format", fmt)
    assert code == 2 and out == ""
    assert f"--format {fmt} is binary: give -o FILE" in err
    assert list(tmp_path.iterdir()) == []


def test_html_format_without_o_goes_to_stdout(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "graph", "--example", "apple", "--format", "html")
    assert code == 0, err
    assert out.lstrip().lower().startswith("<!doctype html>")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("example", ["apple", "apple-orange", "sigmoid", "two-layer-net"])
def test_no_backward_draws_no_gradients_for_the_examples(capsys, example):
    code, with_gradients, _ = run_cli(capsys, "graph", "--example", example)
    assert code == 0 and ", gradient " in with_gradients
    code, forward_only, err = run_cli(capsys, "graph", "--example", example, "--no-backward")
    assert code == 0, err
    assert ", gradient " not in forward_only and ">gradient<" not in forward_only
    assert forward_only.count("->") == with_gradients.count("->")  # the same graph, values only


def test_no_backward_for_an_expression(capsys):
    code, out, _ = run_cli(capsys, "graph", "--expr", "a*b", "--set", "a=2", "b=3", "--no-backward")
    assert code == 0 and ", gradient " not in out and "out = 6" in out


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--tol", "nan", "--tol must be a finite number"),
        ("--tol", "-1", "--tol must be >= 0"),
        ("--samples", "0", "--samples must be at least 1"),
    ],
)
def test_gradcheck_numbers_are_usage_errors(capsys, option, value, message):
    code, out, err = run_cli(capsys, "gradcheck", option, value)
    assert code == 2 and message in err and err.count("\n") == 1
