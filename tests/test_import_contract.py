"""The import contract: packages depend only downward, and so do the modules inside each package.

    errors ← validation ← display ← notebook ← progress ← backend ← storage ← layers ← graph ← gradcheck ← nets
      ← optim ← io ← datasets ← training ← interop ← doctor ← viz ← lab ← cli

Every ``import`` in every module of ``src/layerprop`` — at the top or inside a function — is read
with :mod:`ast` (nothing is imported) and resolved to the module it names. Each part (a top-level
module or package) has its own rank in :data:`PART_RANKS`, and each module of a package its own
rank in :data:`MODULE_RANKS`: a module may import parts of a lower rank, and modules of its own
package of a lower rank. So ``graph`` and ``nets`` never import ``viz`` (the drawing attaches
itself to them), nothing but the CLI imports the lab, and a new module must say where it stands.

A package's ``__init__`` is its facade: it may import any module of its package, and no module of
the package imports it. The old import paths (:data:`OLD_PATHS`) only re-export their new home;
nothing inside layerprop imports them.
"""

import ast
from pathlib import Path

import layerprop

SOURCE = Path(layerprop.__file__).parent

#: rank of each part of the package (the first name below ``layerprop``); lower never imports higher
PART_RANKS = {
    "errors": 0,
    "validation": 1,
    "display": 2,
    "notebook": 2.5,  # between display and progress (a rank is only an order)
    "progress": 3,
    "backend": 4,
    "storage": 5,
    "layers": 6,
    "graph": 7,
    "gradcheck": 8,
    "nets": 9,
    "optim": 10,
    "io": 11,
    "datasets": 12,
    "training": 13,
    "interop": 14,
    "doctor": 15,  # the drawings mark its verdicts (viz.render(…, check=True)): it sits below them
    "viz": 16,
    "lab": 17,
    "cli": 18,
    "__main__": 19,
}

#: rank of each module inside its package (the package's ``__init__`` is its facade, above them all)
MODULE_RANKS = {
    "backend": {"kernels": 0},
    "storage": {"inputs": 0, "npyformat": 0, "atomic": 1},
    "layers": {
        "base": 0,
        "interface": 0,
        "activation": 1,
        "affine": 1,
        "arithmetic": 1,
        "conv": 1,
        "regularization": 1,
        "loss": 2,
    },
    "graph": {"config": 0, "variable": 1, "functions": 2, "expression": 3},
    "nets": {
        "base": 0,
        "init": 0,
        "memory": 0,
        "registry": 0,
        "chapter3": 1,
        "multi_layer": 1,
        "sequential": 1,
        "two_layer": 1,
        "convnet": 2,
    },
    "io": {"book_pickle": 0, "model_file": 0},
    "datasets": {
        "cache": 0,
        "download": 0,
        "idx": 0,
        "image_file": 0,
        "preprocess": 0,
        "folder": 1,
        "known": 2,
        "fashion_mnist": 3,
        "mnist": 3,
    },
    "training": {
        "blas": 0,
        "callbacks": 0,
        "curves": 0,
        "run_lock": 0,
        "checkpoint": 1,
        "communicators": 1,
        "trainer": 2,
    },
    "interop": {"book_import": 0, "onnx_export": 0},
    "doctor": {
        "messages": 0,
        "learner_file": 1,
        "hints": 1,
        "report": 1,
        "interface": 2,
        "checks": 3,
        "graph_check": 4,
    },
    "viz": {
        "values": 0,
        "heatmap": 1,
        "model": 1,
        "dot": 2,
        "examples": 2,
        "layout": 2,
        "steps": 2,
        "svg": 3,
        "html": 4,
        "rendering": 5,
    },
    "lab": {
        "assets": 0,
        "connections": 0,
        "limits": 0,
        "log": 0,
        "names": 0,
        "security": 0,
        "exports": 1,
        "graphs": 1,
        "share_links": 1,
        "toy": 1,
        "userdata": 1,
        "learner_layers": 2,
        "training": 2,
        "server": 3,
        "widgets": 3,
    },
    "cli": {
        "common": 0,
        "curves_cmd": 1,
        "doctor_cmd": 1,
        "evaluate_cmd": 1,
        "export_cmd": 1,
        "gradcheck_cmd": 1,
        "graph_cmd": 1,
        "import_book_cmd": 1,
        "lab_cmd": 1,
        "predict_cmd": 1,
        "train_cmd": 1,
    },
}

#: imports against the module ranks that are there on purpose, each with its reason
UPWARD_BY_DESIGN = {
    ("graph.variable", "graph.functions"): "Variable's methods (x.sum(), x.exp(), x.T …) are thin calls of the "
    "graph functions, imported when called",
}

#: old import paths kept for code written against earlier versions → the module they re-export
OLD_PATHS = {
    "train": "training.trainer",
    "distributed": "training.communicators",
    "plotting": "training.curves",
    "atomic": "storage.atomic",
    "npyformat": "storage.npyformat",
    "kernels": "backend.kernels",
    "interop.book_pickle": "io.book_pickle",
    "viz.expr": "graph.expression",
}
for _old in OLD_PATHS:
    if "." not in _old:
        PART_RANKS.setdefault(_old, PART_RANKS[OLD_PATHS[_old].split(".")[0]])


def _name(module_path: Path) -> str:
    """``layers.activation`` for src/layerprop/layers/activation.py, ``layers`` for its ``__init__``."""
    parts = module_path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules():
    return sorted(SOURCE.rglob("*.py"))


def _imported_modules(module_path: Path):
    """(line, dotted name below layerprop) for each layerprop module or name that the module imports."""
    tree = ast.parse(module_path.read_text(encoding="utf-8"))
    relative = module_path.relative_to(SOURCE)
    package = list(relative.parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "layerprop" and len(parts) > 1:
                    yield node.lineno, ".".join(parts[1:])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                if parts[0] != "layerprop":
                    continue
                target = parts[1:]
            else:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = base + (node.module.split(".") if node.module else [])
            for alias in node.names:  # "from .. import viz", "from . import kernels": the names may be modules
                candidate = [*target, alias.name]
                if (SOURCE.joinpath(*candidate).with_suffix(".py")).exists() or SOURCE.joinpath(*candidate).is_dir():
                    yield node.lineno, ".".join(candidate)
                elif target:
                    yield node.lineno, ".".join(target)


def _module_of(dotted: str) -> str:
    """The module file a dotted name resolves to (``layers.base.Layer`` → ``layers.base``)."""
    parts = dotted.split(".")
    while parts:
        path = SOURCE.joinpath(*parts)
        if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
            return ".".join(parts)
        parts.pop()
    return dotted


def test_every_module_has_a_rank():
    missing = []
    for path in _modules():
        name = _name(path)
        if name == "" or name in OLD_PATHS:
            continue
        part, _, module = name.partition(".")
        if part not in PART_RANKS:
            missing.append(part)
        elif module and module not in MODULE_RANKS.get(part, {}):
            missing.append(name)
    assert not missing, f"give these modules a rank in the contract: {sorted(set(missing))}"


def test_packages_depend_only_downward():
    broken = []
    for path in _modules():
        importer = _name(path)
        if importer == "":  # the package's own facade re-exports from every part
            continue
        part, _, module = importer.partition(".")
        for line, dotted in _imported_modules(path):
            target = _module_of(dotted)
            where = f"{path.relative_to(SOURCE)}:{line}: {importer} imports {target}"
            if target in OLD_PATHS and importer != target:
                broken.append(f"{where} (an old import path: import {OLD_PATHS[target]})")
                continue
            if importer in OLD_PATHS:
                if target != OLD_PATHS[importer]:
                    broken.append(f"{where} (an old path re-exports only {OLD_PATHS[importer]})")
                continue
            target_part, _, target_module = target.partition(".")
            if target_part not in PART_RANKS:
                continue
            if target_part != part:
                if PART_RANKS[target_part] >= PART_RANKS[part]:
                    broken.append(where)
                continue
            if not module:  # a package's facade may import its own modules
                continue
            if not target_module:
                broken.append(f"{where} (a module never imports its own package's facade)")
            elif (importer, target) not in UPWARD_BY_DESIGN and (
                MODULE_RANKS[part][target_module] >= MODULE_RANKS[part][module]
            ):
                broken.append(where)
    assert not broken, "imports against the layering:\n" + "\n".join(broken)


def test_old_import_paths_still_work():
    import importlib
    import importlib.util

    for old, new in OLD_PATHS.items():
        if new == "backend.kernels" and importlib.util.find_spec("cupy") is None:
            continue  # the CUDA kernels import CuPy (the gpu tests use them)
        old_module = importlib.import_module(f"layerprop.{old}")
        new_module = importlib.import_module(f"layerprop.{new}")
        public = [name for name in vars(new_module) if not name.startswith("_")]
        public = getattr(new_module, "__all__", public)
        assert all(getattr(old_module, name) is getattr(new_module, name) for name in public), old


def test_graph_and_nets_do_not_know_the_drawings():
    from layerprop.graph import Variable
    from layerprop.nets.base import Network

    for cls in (Variable, Network):
        source = Path(__import__(cls.__module__, fromlist=["_"]).__file__).read_text(encoding="utf-8")
        assert "from ..viz" not in source and "layerprop.viz" not in source
