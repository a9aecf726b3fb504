"""The graded exercises in notebooks/exercises/ and their answers in notebooks/exercises/solutions/.

Each exercise cell (tagged ``exercise``, with ``metadata.layerprop.layer`` and ``.blank``) ends with
the doctor's verdict on the layer written in it. The solutions run top to bottom and every verdict
is ok — but for the one lesson marked ``.solution`` (the sigmoid of four nodes, right at every
ordinary input, overflows at x = −2000: the notebook shows why the book fuses it into one layer,
which exercise 2 passes); the blank exercises run too, and each verdict names the problem a blank layer has (``blank``)
— the doctor reports it, nothing crashes. An exercise and its solution are twins: the same cells,
the same metadata, only the code to write differs.
"""

from __future__ import annotations

import pytest

pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from notebook_helpers import NOTEBOOK_DIR, assert_committed_without_outputs, execute, read

EXERCISES = sorted((NOTEBOOK_DIR / "exercises").glob("*.ipynb"))
SOLUTIONS = NOTEBOOK_DIR / "exercises" / "solutions"
#: what the exercises make the learner write
LAYERS = [
    "MulLayer",
    "AddLayer",
    "Relu",
    "Sigmoid",
    "Affine",
    "SoftmaxWithLoss",
    "ExpLayer",
    "ReciprocalLayer",
    "SigmoidFromNodes",
]


def exercise_cells(book):
    return [cell for cell in book.cells if "exercise" in cell.metadata.get("tags", [])]


def verdict(cell) -> str:
    """The plain text of the doctor's verdict that ends the cell."""
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert results, f"the cell of {cell.metadata['layerprop']['layer']} shows no verdict: {cell.outputs}"
    return results[-1].data["text/plain"]


def test_the_exercises_cover_the_books_layers():
    assert [p.name for p in EXERCISES] == [p.name for p in sorted(SOLUTIONS.glob("*.ipynb"))]
    layers = [cell.metadata["layerprop"]["layer"] for path in EXERCISES for cell in exercise_cells(read(path))]
    assert layers == LAYERS


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_an_exercise_and_its_solution_are_twins(path):
    blank, answer = read(path), read(SOLUTIONS / path.name)
    assert len(blank.cells) == len(answer.cells)
    for first, second in zip(blank.cells, answer.cells):
        assert first.cell_type == second.cell_type and first.metadata == second.metadata
        if first.cell_type == "code" and "exercise" not in first.metadata.get("tags", []):
            assert first.source == second.source
        if first.cell_type == "code":
            assert first.source.rstrip().endswith(second.source.rstrip().splitlines()[-1])  # the same verdict line
    for book in (blank, answer):
        assert all(
            cell.source.rstrip().splitlines()[-1].startswith("doctor.check_layer(") for cell in exercise_cells(book)
        )
    assert_committed_without_outputs(path)
    assert_committed_without_outputs(SOLUTIONS / path.name)


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_solutions_pass(path, monkeypatch, tmp_path):
    book = execute(path, monkeypatch, tmp_path)
    assert not [o for cell in book.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    for cell in exercise_cells(book):
        text, about = verdict(cell), cell.metadata["layerprop"]
        if "solution" in about:  # a lesson: the four-node sigmoid overflows at large inputs (the notebook says why)
            assert text.splitlines()[0] == f"{about['layer']}: ✗ 문제 1개" and f"- {about['solution']}:" in text, text
        else:
            assert text.splitlines()[0] == f"{about['layer']}: ✓ 통과", text


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_blank_exercises_get_the_expected_problem(path, monkeypatch, tmp_path):
    book = execute(path, monkeypatch, tmp_path)
    assert not [o for cell in book.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    for cell in exercise_cells(book):
        text = verdict(cell)
        expected = cell.metadata["layerprop"]["blank"]
        assert text.splitlines()[0].startswith(f"{cell.metadata['layerprop']['layer']}: ✗ 문제"), text
        assert f"- {expected}:" in text, text
