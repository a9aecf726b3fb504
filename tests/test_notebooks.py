"""The notebooks in notebooks/ run top to bottom in a fresh Jupyter kernel (they check their own numbers
with ``assert``), and are committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SRC = Path(__file__).resolve().parent.parent / "src"


def test_one_notebook_per_study_note():
    assert [p.name[:7] for p in NOTEBOOKS] == ["note000", "note001", "note002", "note003", "note004"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: a cell has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch, tmp_path):
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
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute()
    except NoSuchKernel as exc:
        pytest.fail(f"no Jupyter kernel: {exc}")
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "display_data" and "<svg" in o.data.get("text/html", "") for o in outputs), (
        "the notebook shows no drawing"
    )
