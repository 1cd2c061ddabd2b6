"""The committed Python stubs are exactly what `make proto` generates from proto/."""

from __future__ import annotations

from pathlib import Path

from proto.generate import ROOT, generate


def test_committed_stubs_are_fresh(tmp_path: Path):
    fresh = generate(tmp_path)
    assert fresh, "protoc generated nothing"
    for path in fresh:
        committed = ROOT / path.relative_to(tmp_path)
        assert committed.exists(), f"{committed} is missing: run `make proto`"
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: run `make proto`"
