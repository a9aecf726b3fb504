"""The notebooks in notebooks/ run top to bottom in a fresh Jupyter kernel (they check their own numbers
with ``assert``), and are committed without outputs."""

from __future__ import annotations

import pytest

pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from notebook_helpers import NOTEBOOK_DIR, assert_committed_without_outputs, execute, outputs

#: the study notes' notebooks (lab_widgets.ipynb, the lab's widgets, runs in tests/test_lab_widgets.py)
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("note*.ipynb"))


def test_one_notebook_per_study_note():
    assert [p.name[:7] for p in NOTEBOOKS] == ["note000", "note001", "note002", "note003", "note004"]


@pytest.mark.parametrize("path", sorted(NOTEBOOK_DIR.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    assert_committed_without_outputs(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch, tmp_path):
    shown = outputs(execute(path, monkeypatch, tmp_path))
    assert not [o for o in shown if o.output_type == "error"]
    assert any(o.output_type == "display_data" and "<svg" in o.data.get("text/html", "") for o in shown), (
        "the notebook shows no drawing"
    )
