"""Network classes by name, so a saved configuration can be rebuilt without running any code."""

from __future__ import annotations

from ..errors import ModelFileError

NETWORKS: dict = {}


def register_network(cls):
    """Class decorator: make ``cls`` rebuildable from ``{"class": cls.__name__, …}``."""
    NETWORKS[cls.__name__] = cls
    return cls


def build_network(config: dict):
    """Rebuild a network from the dict its ``to_config()`` returned (parameters not loaded)."""
    if not isinstance(config, dict) or "class" not in config:
        raise ModelFileError(f"a network configuration must be a dict with a 'class' key, got {config!r}")
    name = config["class"]
    if not isinstance(name, str):
        raise ModelFileError(f"a network configuration's 'class' must be a class name, got {name!r}")
    cls = NETWORKS.get(name)
    if cls is None:
        raise ModelFileError(f"unknown network class {name!r}; known: {', '.join(sorted(NETWORKS))}")
    return cls.from_config(config)
