"""A Griffe extension for the API reference: layerprop's docstrings, as Markdown.

mkdocstrings reads docstrings from the source without importing it. Two things need more:

* A layer's docstring gets its "Rules" section (the forward and backward rule in English and
  Korean) when the class is created (``Layer.__init_subclass__``), from the class attributes
  ``forward_rule``/``backward_rule``/``*_ko``. This extension takes that docstring from the
  imported class, so the rules are written once, in the layer, and the API page shows them.
* The docstrings are written in reStructuredText habits (``:class:`X```, ``text::`` before an
  indented block, ``>>>`` examples). They become Markdown: the role is dropped (the name stays
  code), a literal block or a simple table becomes a fenced ``text`` block, a doctest a fenced
  ``pycon`` block, ``:param name:`` and ``:raises Error:`` fields a list.

Loaded by mkdocs.yml (``extensions: [docs/griffe_layerprop.py]``); it changes nothing in the code.
"""

from __future__ import annotations

import importlib
import inspect
import re

import griffe

TABLE_BORDER = re.compile(r"^\s*=+(?: +=+)+\s*$")
FIELD = re.compile(r"^\s*:(param|raises?|exception)\s+([^:]+):(.*)$")
ROLE = re.compile(r":(?:attr|class|func|meth|mod|data|exc|obj|const|py:\w+):`~?([^`]+)`")


def markdown(text: str) -> str:
    """The docstring ``text`` with its reStructuredText habits turned into Markdown."""
    text = ROLE.sub(lambda m: f"``{m.group(1)}``", text)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if TABLE_BORDER.match(line):  # a simple reST table: kept as it is, in a text block
            indent = line[: len(line) - len(line.lstrip())]
            block, borders = [], 0
            while i < len(lines):
                block.append(lines[i][len(indent) :])
                borders += bool(TABLE_BORDER.match(lines[i]))
                i += 1
                if borders >= 2 and TABLE_BORDER.match(lines[i - 1]) and (i == len(lines) or not lines[i].strip()):
                    break
            out += [f"{indent}```text", *(indent + b for b in block), f"{indent}```"]
            continue
        field = FIELD.match(line)
        if field:  # ":param name: text" and ":raises Error: text" (with indented continuations): a list
            indent = line[: len(line) - len(line.lstrip())]
            if not out or out[-1].strip():
                out.append("")
            while field:
                kind, name, text = field.groups()
                label = "**Raises** " if kind.startswith("raise") else ""
                item = [f"{indent}- {label}``{name}`` — {text.strip()}"]
                i += 1
                while i < len(lines) and lines[i].startswith(indent + " ") and not FIELD.match(lines[i]):
                    item.append(f"{indent}  {lines[i].strip()}")
                    i += 1
                out += item
                field = FIELD.match(lines[i]) if i < len(lines) else None
            continue
        if stripped.startswith(">>>"):  # a doctest: up to the next blank line
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i].strip())
                i += 1
            out += [f"{indent}```pycon", *(indent + b for b in block), f"{indent}```"]
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            intro = line.rstrip()[:-2].rstrip()
            indent = len(line) - len(line.lstrip())
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block_indent = len(lines[j]) - len(lines[j].lstrip()) if j < len(lines) else 0
            if j < len(lines) and block_indent > indent:
                block = []
                while j < len(lines) and (
                    not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) >= block_indent
                ):
                    block.append(lines[j][block_indent:])
                    j += 1
                while block and not block[-1].strip():
                    block.pop()
                pad = " " * indent
                if intro.strip():
                    out += [(intro + ":") if not intro.endswith(":") else intro, ""]
                out += [f"{pad}```text", *(pad + b if b else "" for b in block), f"{pad}```", ""]
                i = j
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


def runtime_docstring(obj: griffe.Object) -> str | None:
    """The docstring a class has once imported, when it differs from its source (a layer's Rules)."""
    try:
        module = importlib.import_module(obj.module.path)
    except Exception:  # an optional dependency missing: keep the source docstring
        return None
    runtime = module
    for part in obj.path[len(obj.module.path) + 1 :].split("."):
        runtime = getattr(runtime, part, None)
        if runtime is None:
            return None
    if "forward_rule" not in vars(runtime) and "backward_rule" not in vars(runtime):
        return None
    return inspect.cleandoc(runtime.__doc__ or "")


class LayerpropDocstrings(griffe.Extension):
    """Layer docstrings from the imported classes; every docstring turned into Markdown."""

    def on_module(self, *, mod: griffe.Module, **kwargs) -> None:
        _to_markdown(mod)

    def on_class(self, *, cls: griffe.Class, **kwargs) -> None:
        if cls.docstring is not None:
            text = runtime_docstring(cls)
            if text:
                cls.docstring.value = text
        _to_markdown(cls)

    def on_function(self, *, func: griffe.Function, **kwargs) -> None:
        _to_markdown(func)

    def on_attribute(self, *, attr: griffe.Attribute, **kwargs) -> None:
        _to_markdown(attr)


def _to_markdown(obj: griffe.Object) -> None:
    if obj.docstring is not None:
        obj.docstring.value = markdown(obj.docstring.value)
