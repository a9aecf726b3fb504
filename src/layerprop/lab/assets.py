"""The lab's page and scripts, assembled from ``static/`` — one copy for the lab's server and for the
notebook widgets.

The views (``graph.html`` + ``graph.js``, ``train.html`` + ``train.js``, styled by ``views.css``)
run on the stepper of :mod:`layerprop.viz` (``stepper.js`` with the heat colour map,
:func:`layerprop.viz.html.stepper_script`) and the words of ``i18n.js``. The server serves them as
separate files under the page ``index.html`` (:data:`ASSETS`, :func:`lab_page`); a widget gets them as one
ES module (:func:`widget_module`: the same files, then ``widget.js``) with :func:`widget_css`.
"""

from __future__ import annotations

from importlib import resources

#: the files the server serves under /static/, with their content types
ASSETS = {
    "lab.js": "text/javascript; charset=utf-8",
    "graph.js": "text/javascript; charset=utf-8",
    "train.js": "text/javascript; charset=utf-8",
    "layers.js": "text/javascript; charset=utf-8",  # lab --layers: the learner's own layers (on lab.js's hooks)
    "i18n.js": "text/javascript; charset=utf-8",
    "stepper.js": "text/javascript; charset=utf-8",
    "lab.css": "text/css; charset=utf-8",
    "views.css": "text/css; charset=utf-8",
}
#: the scripts the views need, in the order they load
VIEW_SCRIPTS = ("stepper.js", "i18n.js", "graph.js", "train.js")


def asset(name: str) -> str:
    """The text of a file the lab serves (``stepper.js`` comes from :mod:`layerprop.viz`)."""
    if name == "stepper.js":
        from ..viz.html import stepper_script

        return stepper_script()
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def view_html(name: str) -> str:
    """The markup of a view: ``graph`` or ``train``."""
    return asset(f"{name}.html")


def lab_page(token: str) -> str:
    """The lab's page, its asset links carrying ``token``."""
    html = (
        asset("index.html").replace("{{GRAPH_VIEW}}", view_html("graph")).replace("{{TRAIN_VIEW}}", view_html("train"))
    )
    return html.replace("{{TOKEN}}", token)


def widget_module() -> str:
    """The ES module of the notebook widgets: the views' scripts, their markup, then ``widget.js``."""
    import json

    markup = json.dumps({name: view_html(name) for name in ("graph", "train")})
    parts = [asset(name) for name in VIEW_SCRIPTS]
    return "\n".join([*parts, f"var LAYERPROP_VIEWS = {markup};", asset("widget.js")])


def widget_css() -> str:
    return asset("views.css")
