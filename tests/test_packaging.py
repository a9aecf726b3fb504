"""What the package ships: the type marker (PEP 561) in the package data, and one version source."""

from __future__ import annotations

from pathlib import Path

import pytest

import layerprop

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")


def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_package_says_it_is_typed():
    assert (Path(layerprop.__file__).parent / "py.typed").is_file()
    assert "py.typed" in project()["tool"]["setuptools"]["package-data"]["layerprop"]


def test_the_version_has_one_source():
    config = project()
    assert "version" in config["project"]["dynamic"] and "version" not in config["project"]
    assert config["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "layerprop.__version__"}
