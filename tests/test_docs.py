"""The documentation cannot drift from the code.

- Every tutorial page (docs/tutorial/*.md, English and Korean), the home page and README.md run:
  their ```python blocks are executed in order in one namespace per page, in a fresh working
  folder, and a ```text block that directly follows a python block is the output that block must
  print, exactly.
- Every page exists in both languages (page.md and page.ko.md).
- docs/make_drawings.py makes exactly the drawings committed under docs/images/drawings/.
- README.md is short, its relative links resolve (as they must on a forge), and neither it nor the
  site carries issue numbers or commit hashes.

The site itself is built by ``mkdocs build --strict`` in .ci/run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TUTORIAL = sorted((DOCS / "tutorial").glob("*.md"))
#: pages whose python blocks run as they are: the tutorial, the home page and the README
RUNNABLE = [*TUTORIAL, DOCS / "index.md", DOCS / "index.ko.md", ROOT / "README.md"]
#: optional packages a tutorial block may need, and what installs each
OPTIONAL = {
    "matplotlib": "pip install 'layerprop[plot]'",
    "PIL": "pip install 'layerprop[image]'",
    "onnx": "pip install 'layerprop[onnx]'",
    "onnxruntime": "pip install 'layerprop[onnx]'",
}
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def pages():
    """Every Markdown page of the site (docs/README.md, the contributors' note, is not one)."""
    return sorted(p for p in DOCS.rglob("*.md") if p != DOCS / "README.md")


def code_blocks(text: str) -> list[tuple[str, str | None, int]]:
    """``(python source, expected output or None, line number)`` for each python block of a page."""
    blocks, fences = [], list(FENCE.finditer(text))
    for i, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        expected = None
        if (
            i + 1 < len(fences)
            and fences[i + 1].group(1) == "text"
            and not text[fence.end() : fences[i + 1].start()].strip()
        ):
            expected = fences[i + 1].group(2)
        blocks.append((fence.group(2), expected, text.count("\n", 0, fence.start()) + 1))
    return blocks


def test_the_block_parser_pairs_code_with_its_output():
    text = "x\n```python\nprint(1)\n```\n\n```text\n1\n```\n```python\nprint(2)\n```\nprose\n```text\nnot output\n```\n"
    assert code_blocks(text) == [("print(1)\n", "1\n", 2), ("print(2)\n", None, 9)]


def _missing_optional(exc: BaseException) -> str | None:
    """The install command when ``exc`` is an optional package (or Graphviz) that is not there."""
    from layerprop.errors import MissingExtraError

    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in OPTIONAL:
        return f"needs {exc.name}: {OPTIONAL[exc.name.split('.')[0]]}"
    if isinstance(exc, MissingExtraError):
        return str(exc)
    return None


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_runs_and_prints_what_it_shows(page, tmp_path, monkeypatch):
    blocks = code_blocks(page.read_text(encoding="utf-8"))
    if page.stem not in ("index", "index.ko"):
        assert blocks, f"{page.name} has no python code"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__main__"}
    for source, expected, line in blocks:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(source, f"{page.name}:{line}", "exec"), namespace)  # our own page
        except Exception as exc:  # any error: a missing optional package is a skip, the rest a failure
            reason = _missing_optional(exc)
            if reason is None:
                raise
            if os.environ.get("CI"):
                pytest.fail(f"{page.name}, block at line {line}: {reason} (CI installs it)")
            pytest.skip(f"{page.name}, block at line {line}: {reason}")
        if expected is not None:
            got = [s.rstrip() for s in out.getvalue().rstrip("\n").split("\n")]
            assert got == [s.rstrip() for s in expected.rstrip("\n").split("\n")], (
                f"{page.name}, block at line {line} printed:\n{out.getvalue()}"
            )


def test_every_page_has_both_languages():
    english = {p for p in pages() if not p.name.endswith(".ko.md")}
    korean = {p for p in pages() if p.name.endswith(".ko.md")}
    assert {p.with_name(p.name[:-3] + ".ko.md") for p in english} == korean


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w/.-]+\.md)\s*$", nav, re.MULTILINE))
    english = {str(p.relative_to(DOCS)) for p in pages() if not p.name.endswith(".ko.md")}
    assert english == listed


def test_the_korean_tutorial_runs_the_same_code():
    """Each Korean tutorial page runs the same statements as its English twin (comments and the
    strings it prints for people may be Korean)."""

    def statements(page):
        return [re.sub(r"#.*|\"[^\"]*\"|'[^']*'", "", s).split() for s, _, _ in code_blocks(page.read_text("utf-8"))]

    for page in TUTORIAL:
        if not page.name.endswith(".ko.md"):
            twin = page.with_name(page.stem + ".ko.md")
            assert statements(page) == statements(twin), f"{page.name} and {twin.name} run different code"


def test_drawings_script_makes_the_committed_drawings(tmp_path):
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("Graphviz 'dot' is missing on CI (apt-get install graphviz)")
        pytest.skip("Graphviz 'dot' is not installed")
    pytest.importorskip("matplotlib")
    done = subprocess.run(
        [sys.executable, str(DOCS / "make_drawings.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in (DOCS / "images" / "drawings").iterdir())
    for name in made:
        if name.endswith(".svg"):
            assert (tmp_path / name).read_text("utf-8").lstrip().startswith(("<?xml", "<svg"))


def test_every_drawing_is_shown_somewhere():
    text = "\n".join(p.read_text("utf-8") for p in pages()) + (ROOT / "README.md").read_text("utf-8")
    for picture in (DOCS / "images").rglob("*"):
        if picture.is_file() and ".ko." not in picture.name:
            assert picture.name in text, f"{picture.relative_to(ROOT)} is not used by any page"


# -- the README ---------------------------------------------------------------------------------
README = ROOT / "README.md"
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_is_short():
    assert len(README.read_text("utf-8").splitlines()) <= 250


def test_readme_relative_links_resolve_in_the_repository():
    for target in MARKDOWN_LINK.findall(README.read_text("utf-8")):
        if "://" in target or target.startswith("#"):
            continue
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.exists(), f"README.md links {target}, which is not in the repository"
        assert path.is_relative_to(ROOT)


def test_site_links_outside_docs_resolve_in_the_repository():
    """Pages link the notebooks and examples as a forge needs (relative to the file)."""
    for page in pages():
        for target in MARKDOWN_LINK.findall(page.read_text("utf-8")):
            if "://" in target or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.exists(), f"{page.relative_to(ROOT)} links {target}, which does not exist"


ISSUE_NUMBER = re.compile(r"\bissue\s*#?\d+|(?<![\w/&])#\d+\b", re.IGNORECASE)
COMMIT_HASH = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b")


RESULTS = sorted((ROOT / "benchmarks" / "results").glob("*.md"))  # measured numbers the site includes


@pytest.mark.parametrize(
    "path", [README, DOCS / "README.md", *pages(), *RESULTS], ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_issue_numbers_or_commit_hashes(path):
    text = re.sub(r"^```.*?^```", "", path.read_text("utf-8"), flags=re.MULTILINE | re.DOTALL)
    assert not ISSUE_NUMBER.findall(text), f"{path.name} mentions an issue number"
    assert not COMMIT_HASH.findall(text), f"{path.name} mentions a commit hash"
