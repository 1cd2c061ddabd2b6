"""`costmodel collect --aligned-share`: groups whose loop extents are all multiples of 16, as
real models' dimensions are, without changing the plan of existing datasets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from costmodel.collect import synthetic_items
from costmodel.collect.plan import ALIGN
from costmodel.errors import InputError
from costmodel.programs import FAMILIES
from costmodel.programs.families.base import is_aligned

CPU_V4 = Path(__file__).resolve().parent.parent / "datasets" / "cpu-v4"


def _is_aligned(shape: dict[str, int]) -> bool:
    return is_aligned(shape, ALIGN)


def test_share_zero_plans_exactly_what_the_shipped_dataset_was_collected_with():
    """Resuming a dataset regenerates its plan: with no aligned share the plan must be the
    one datasets/cpu-v4 recorded, key for key (drawn for the CPU it was collected on: the
    vector size bounds the schedules, and this machine may be another)."""
    manifest = json.loads((CPU_V4 / "manifest.json").read_text())
    rec = manifest["collection"]
    items = synthetic_items(rec["families"], rec["samples"], seed=rec["seed"],
                            schedules_per_group=rec["schedules_per_group"],
                            target_cpu=manifest["hardware"]["iree_target_cpu"])
    t = pq.read_table(CPU_V4 / "samples.parquet", columns=["sample_key", "source", "run"])
    rows = t.to_pylist()
    shipped = {r["sample_key"] for r in rows if r["source"] == "synthetic" and r["run"] == "main"}
    assert {it.key for it in items} == shipped


def test_full_share_aligns_every_extent_within_each_familys_budget():
    items = synthetic_items(list(FAMILIES), 13 * 24, schedules_per_group=4, seed=1,
                            aligned_share=1.0)
    shapes = {it.group_id: (it.family, it.shape) for it in items}
    assert len(shapes) == 13 * 6
    for family, shape in shapes.values():
        assert _is_aligned(shape), (family, shape)
        lo, hi = FAMILIES[family].budget
        assert lo <= FAMILIES[family].size(shape) <= hi, (family, shape)
    plain = synthetic_items(list(FAMILIES), 13 * 24, schedules_per_group=4, seed=1)
    mm = [it.shape for it in plain if it.family in ("matmul", "batch_matmul")]
    assert sum(map(_is_aligned, mm)) < len(mm) / 2  # what the share is for


def test_partial_share_aligns_about_that_share_of_groups():
    items = synthetic_items(["matmul", "reduction"], 2 * 200, schedules_per_group=2, seed=0,
                            aligned_share=0.5)
    groups = {it.group_id: it.shape for it in items}
    share = np.mean([_is_aligned(s) for s in groups.values()])
    assert 0.35 <= share <= 0.75   # 200 groups: the binomial 99.9% range with room for chance


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_share_outside_zero_to_one_is_refused(bad):
    with pytest.raises(InputError, match="aligned share"):
        synthetic_items(["matmul"], 4, aligned_share=bad)


def test_collect_records_the_share_and_measures_aligned_kernels(tmp_path):
    out = tmp_path / "ds"
    res = subprocess.run([sys.executable, "-m", "costmodel", "collect", "--families",
                          "transpose", "--samples", "4", "--schedules-per-group", "2",
                          "--aligned-share", "1", "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["collection"]["aligned_share"] == 1.0
    rows = pq.read_table(out / "samples.parquet").to_pylist()
    assert len(rows) == 4 and all(r["feasible"] for r in rows)
    assert all(_is_aligned(json.loads(r["shape_json"])) for r in rows)
    assert all(r["latency_median_s"] > 0 for r in rows)
    bad = subprocess.run([sys.executable, "-m", "costmodel", "collect", "--samples", "4",
                          "--aligned-share", "2", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--aligned-share: must be between 0 and 1" in bad.stderr
    assert not (tmp_path / "x").exists()
