"""Shared by the notebook tests (imported by them; not a test module): run a notebook top to bottom
in a fresh Jupyter kernel that imports this checkout's layerprop, and read notebooks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
SRC = Path(__file__).resolve().parent.parent / "src"


def read(path):
    """The notebook at ``path``, validated."""
    import nbformat

    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    return book


def assert_committed_without_outputs(path):
    for cell in read(path).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: a cell has outputs"


def execute(path, monkeypatch, tmp_path):
    """Run the notebook in a fresh ``python3`` kernel (installed into ``tmp_path`` when missing); the
    executed notebook is returned. A cell that raises fails the test with that cell's error."""
    import nbclient
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
    book = read(path)
    client = nbclient.NotebookClient(  # widgets keep their state in the notebook, as Jupyter saves it
        book,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        store_widget_state=True,
    )
    try:
        client.execute()
    except NoSuchKernel as exc:
        pytest.fail(f"no Jupyter kernel: {exc}")
    return book


def outputs(book) -> list:
    return [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
