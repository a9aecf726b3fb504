"""MkDocs hooks: links from the pages to the repository's notebooks.

A page links a notebook the way a forge needs it, relative to the file in the repository
(``../../notebooks/note004_computational_graph_shop.ipynb`` from ``docs/tutorial/…``), so the link
works when the Markdown is read on a forge. Those files lie outside ``docs/``; these hooks copy
them into the site (``notebooks/…``) and point the page's link at that copy, so
``mkdocs build --strict`` checks them like any other link.

Loaded by mkdocs.yml (``hooks: [docs/hooks.py]``).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

#: folders of the repository (beside docs/) whose files the pages may link
REPOSITORY_FOLDERS = ("notebooks",)
SUFFIXES = (".ipynb",)  # not .md: those would become pages
LINK = re.compile(r"\]\(([^)\s#]+)(#[^)\s]*)?\)")


def _root(config) -> Path:
    return Path(config["docs_dir"]).resolve().parent


def on_files(files, config):
    root = _root(config)
    for folder in REPOSITORY_FOLDERS:
        for path in sorted((root / folder).glob("*")):
            if path.suffix in SUFFIXES and path.is_file():
                uri = f"{folder}/{path.name}"
                if files.get_file_from_path(uri) is None:
                    files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown, page, config, files):
    page_dir = posixpath.dirname(page.file.src_uri)

    def relink(match):
        target, anchor = match.group(1), match.group(2) or ""
        if "://" in target or target.startswith("/"):
            return match.group(0)
        in_repo = posixpath.normpath(posixpath.join("docs", page_dir, target))  # relative to the repo root
        if in_repo.split("/")[0] not in REPOSITORY_FOLDERS:
            return match.group(0)
        return f"]({posixpath.relpath(in_repo, page_dir or '.')}{anchor})"  # the copy in the site

    return LINK.sub(relink, markdown)
