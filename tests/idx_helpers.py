"""Helpers shared by the data-set tests (imported by them; not a test module)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from layerprop.datasets import known


def spec_for_gz(spec: known.IdxFileSpec, gz: Path, shape) -> known.IdxFileSpec:
    """A copy of ``spec`` whose checksums and sizes accept the synthetic file ``gz`` of ``shape``."""
    raw = gz.read_bytes()
    content = gzip.decompress(raw)
    return known.IdxFileSpec(
        spec.role,
        spec.filename,
        shape,
        hashlib.md5(content).hexdigest(),
        len(content),
        gz_md5=hashlib.md5(raw).hexdigest(),
    )
