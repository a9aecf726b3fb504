"""The import contract: packages depend only downward.

    errors/validation/backend(+kernels)/display  ←  layers  ←  graph  ←  nets  ←  train/io/…  ←  viz  ←  lab  ←  cli

Every ``import`` in every module of ``src/layerprop`` — at the top or inside a function — is read
with :mod:`ast` (nothing is imported) and resolved to the layerprop part it names; a module may
use only parts of its own rank or below. So ``graph`` and ``nets`` never import ``viz`` (the
drawing attaches itself to them), and nothing but the CLI imports the lab.
"""

import ast
from pathlib import Path

import layerprop

SOURCE = Path(layerprop.__file__).parent

#: rank of each part of the package (the first name below ``layerprop``); lower never imports higher
RANKS = {
    "errors": 0, "validation": 0, "backend": 0, "kernels": 0, "display": 0,
    "layers": 1,
    "graph": 2,
    "gradcheck": 3, "nets": 3,
    "optim": 4, "train": 4, "io": 4, "datasets": 4, "progress": 4, "plotting": 4, "atomic": 4,
    "distributed": 4, "interop": 4, "onnx": 4, "npyformat": 4,
    "doctor": 4,
    "viz": 5,
    "lab": 6,
    "cli": 7, "__main__": 7,
}


def _part(module_path: Path) -> str:
    relative = module_path.relative_to(SOURCE).with_suffix("")
    return relative.parts[0]


def _imported_parts(module_path: Path):
    """(line, part) for each layerprop part that the module imports."""
    tree = ast.parse(module_path.read_text(encoding="utf-8"))
    package = list(module_path.relative_to(SOURCE).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "layerprop" and len(parts) > 1:
                    yield node.lineno, parts[1]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != "layerprop":
                    continue
                target = parts[1:]
            else:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (node.module.split(".") if node.module else [])
            if target:
                yield node.lineno, target[0]
            else:  # "from .. import viz" at the top of the package: the names are the parts
                for alias in node.names:
                    yield node.lineno, alias.name


def test_every_part_has_a_rank():
    parts = {_part(p) for p in SOURCE.rglob("*.py")} - {"__init__"}
    assert parts <= set(RANKS), f"give these parts a rank in the contract: {sorted(parts - set(RANKS))}"


def test_packages_depend_only_downward():
    broken = []
    for path in sorted(SOURCE.rglob("*.py")):
        part = _part(path)
        if part == "__init__":  # the package's own facade re-exports from every part
            continue
        for line, imported in _imported_parts(path):
            if imported in RANKS and RANKS[imported] > RANKS[part]:
                broken.append(f"{path.relative_to(SOURCE)}:{line}: {part} imports {imported}")
    assert not broken, "imports against the layering:\n" + "\n".join(broken)


def test_graph_and_nets_do_not_know_the_drawings():
    from layerprop.graph import Variable
    from layerprop.nets.base import Network

    for cls in (Variable, Network):
        source = Path(__import__(cls.__module__, fromlist=["_"]).__file__).read_text(encoding="utf-8")
        assert "from ..viz" not in source and "layerprop.viz" not in source
