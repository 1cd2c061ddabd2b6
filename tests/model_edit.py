"""Copies of a trained model with heads.json (and the manifest) edited and re-signed, so a
load gets past the checksums to the check under test."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path


def edited_copy(src: Path, dst: Path, *, heads: Callable[[dict], None] | None = None,
                manifest: Callable[[dict], None] | None = None) -> Path:
    """``src`` copied to ``dst``; ``heads`` and ``manifest`` edit the parsed JSON in place."""
    shutil.copytree(src, dst)
    h = json.loads((dst / "heads.json").read_text())
    if heads:
        heads(h)
    (dst / "heads.json").write_text(json.dumps(h))
    m = json.loads((dst / "manifest.json").read_text())
    m["files"]["heads.json"] = hashlib.sha256((dst / "heads.json").read_bytes()).hexdigest()
    if manifest:
        manifest(m)
    (dst / "manifest.json").write_text(json.dumps(m))
    return dst
