"""Shared test set-up.

The whole session uses a fresh layerprop cache folder (``LAYERPROP_CACHE``), so tests never read
or write the user's ``~/.cache/layerprop``; subprocesses started by the tests inherit it. Tests
that need their own cache (tests/test_datasets.py, tests/test_download.py) still override it per
test with ``monkeypatch.setenv``.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where CuPy sees a GPU; elsewhere they are skipped, never failed."""
    from layerprop.backend import cuda_available

    marked = [item for item in items if item.get_closest_marker("gpu") is not None]
    if marked and not cuda_available():
        skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU (pip install 'layerprop[gpu]')")
        for item in marked:
            item.add_marker(skip)


# Every device the backend tests run on: the CPU always, the GPU where CuPy sees one.
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.fixture(params=DEVICES)
def device(request):
    """A device name the test runs on ('cpu', or 'cuda' on a machine with a GPU)."""
    return request.param


@pytest.fixture(scope="session", autouse=True)
def _session_layerprop_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layerprop-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERPROP_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def mnist_data():
    """MNIST as the CLI uses it: flat float32 images in [0, 1] and integer labels."""
    from layerprop.datasets import load_mnist

    assert os.environ.get("LAYERPROP_CACHE")
    return load_mnist(normalize=True, flatten=True)


# -- the lab in a browser (tests/test_lab_*.py; see lab_helpers) ----------------------------------
@pytest.fixture(scope="module")
def lab():
    """A running ``layerprop lab`` for the module's tests, always stopped after them."""
    from lab_helpers import LabProcess

    with LabProcess() as process:
        yield process


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the module's tests."""
    from lab_helpers import Chromium

    chromium = Chromium()
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def chromium(browser):
    """The browser; every page a test opens is closed after it (closing a page stops its job), and
    none may have had an uncaught exception or a console error."""
    opened = []

    class Pages:
        def new_page(self, **options):
            page = browser.new_page(**options)
            opened.append(page)
            return page

    yield Pages()
    errors = [error for page in opened for error in page.errors]
    for page in opened:
        page.context.close()
    assert errors == [], f"the pages had errors: {errors}"
