"""Optional packages in the tests (imported by them; not a test module).

The README's test command must pass on a fresh venv with only the ``[test]`` extra: a test that
needs another optional package is skipped, naming the package and its install line. CI installs
everything (.ci/run sets ``CI``; the browser tests also look at ``LAYERPROP_REQUIRE_BROWSER``):
there a missing package fails the test instead, so that nothing is skipped unnoticed.
"""

from __future__ import annotations

import importlib
import os

import pytest

#: environment variables under which a missing package fails the test instead of skipping it
REQUIRE_ALL = ("CI", "LAYERPROP_REQUIRE_BROWSER")


def missing(what: str):
    """Skip the test (or the whole module, when called at import) because ``what`` is not installed;
    fail it on CI."""
    if any(os.environ.get(name) for name in REQUIRE_ALL):
        pytest.fail(f"{what} is missing on CI (see .ci/run)")
    pytest.skip(f"{what} is not installed", allow_module_level=True)


def need(module: str, install: str):
    """The imported ``module``, or :func:`missing` naming ``install`` (e.g. ``pip install 'layerprop[lab]'``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"{module} ({install})")


def installed(module: str, install: str) -> bool:
    """Whether ``module`` can be imported — for a test that checks less without it; on CI it must be."""
    try:
        importlib.import_module(module)
    except ImportError:
        if any(os.environ.get(name) for name in REQUIRE_ALL):
            pytest.fail(f"{module} ({install}) is missing on CI (see .ci/run)")
        return False
    return True
