"""Dataset manifest bookkeeping across collection sessions (a real SQLite journal)."""

from __future__ import annotations

import json

from costmodel.dataset.store import DatasetStore


def test_hardware_load_of_every_session_is_kept(tmp_path):
    hw = {"id": "h1", "cpu_model": "test"}
    first = DatasetStore(tmp_path / "d", hardware=hw)
    first.export(collection={"families": ["matmul"], "hardware_load": [[0.5, 0.4, 0.3]]})
    first.export(collection={"hardware_load": [[0.5, 0.4, 0.3], [0.7, 0.6, 0.5]]})
    first.close()
    second = DatasetStore(tmp_path / "d", hardware=hw)
    manifest = second.export(collection={"hardware_load": [[2.0, 1.5, 1.0]]})
    second.close()
    coll = manifest["collection"]
    assert coll["families"] == ["matmul"]
    assert len(coll["hardware_load_sessions"]) == 2
    assert coll["hardware_load"] == [[0.5, 0.4, 0.3], [0.7, 0.6, 0.5], [2.0, 1.5, 1.0]]
    on_disk = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert on_disk["collection"]["hardware_load"] == coll["hardware_load"]
