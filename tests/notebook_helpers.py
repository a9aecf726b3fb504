"""Shared by the notebook tests: run a notebook top to bottom in a fresh Jupyter kernel (nbclient)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def execute(path, tmp_path, monkeypatch, timeout: int = 300):
    """The notebook at ``path`` after running it in a "python3" kernel that imports this checkout's
    layerprop, in ``tmp_path``; the widgets' state is kept in its metadata (as Jupyter saves it)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import NoSuchKernel, find_kernel_specs

    if "python3" not in find_kernel_specs():  # a pip-installed ipykernel ships it; make sure
        from ipykernel.kernelspec import install

        try:
            install(prefix=str(tmp_path / "kernels"))
        except Exception as exc:
            pytest.fail(f"no python3 Jupyter kernel and installing one failed: {exc}")
        monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "kernels" / "share" / "jupyter"))
    # the kernel imports this checkout's layerprop, and draws without a display
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        store_widget_state=True,
    )
    try:
        client.execute()
    except NoSuchKernel as exc:
        pytest.fail(f"no Jupyter kernel: {exc}")
    return book
