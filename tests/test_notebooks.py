"""The notebooks in notebooks/ run top to bottom in a fresh Jupyter kernel (they check their own numbers
with ``assert``), and are committed without outputs."""

from __future__ import annotations

import pytest
from notebook_helpers import NOTEBOOK_DIR, execute

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

#: the study notes' notebooks (lab_widgets.ipynb, the lab's widgets, is run by tests/test_lab_widgets.py)
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("note*.ipynb"))


def test_one_notebook_per_study_note():
    assert [p.name[:7] for p in NOTEBOOKS] == ["note000", "note001", "note002", "note003", "note004"]


@pytest.mark.parametrize("path", sorted(NOTEBOOK_DIR.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: a cell has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch, tmp_path):
    book = execute(path, tmp_path, monkeypatch)
    outputs = [o for cell in book.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "display_data" and "<svg" in o.data.get("text/html", "") for o in outputs), (
        "the notebook shows no drawing"
    )
