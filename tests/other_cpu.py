"""A real dataset presented as timed on another CPU (for --transfer-data tests)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def as_other_cpu(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` with a manifest naming another IREE target CPU (a manifest is
    not a checksummed file, so the copy loads as valid)."""
    shutil.copytree(src, dst)
    m = json.loads((dst / "manifest.json").read_text())
    m["hardware"]["iree_target_cpu"] = "znver9"
    (dst / "manifest.json").write_text(json.dumps(m))
    return dst
