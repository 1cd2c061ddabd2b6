"""Real dispatches' sampled schedules in a dataset: planning, rendering and a real collect."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from costmodel.collect import collect, real_model_items
from costmodel.dataset import load
from costmodel.errors import InputError
from costmodel.programs import Schedule, schedule_applied


@pytest.fixture(scope="module")
def mlp_items():
    return real_model_items(["mlp"], schedules=3, seed=0)


def _groups(items):
    out = defaultdict(list)
    for it in items:
        out[it.group_id].append(it)
    return out


def test_each_schedulable_dispatch_gets_sampled_schedules_beside_iree_variants(mlp_items):
    groups = _groups(mlp_items)
    assert len(groups) == 4                       # the MLP's four dispatches
    for members in groups.values():
        defaults = [it for it in members if it.is_default]
        sampled = [it for it in members if not it.is_default]
        assert len(defaults) == 4 and len(sampled) == 3
        assert len({it.dispatch for it in members}) == 1
        assert all(it.root_index is not None and it.schedule["levels"] for it in sampled)
        assert all(it.root_index is None for it in defaults)
    assert len({it.key for it in mlp_items}) == len(mlp_items)
    # Deterministic, so a resumed run plans the same items; IREE's variants keep their keys.
    assert [it.key for it in real_model_items(["mlp"], schedules=3, seed=0)] == \
        [it.key for it in mlp_items]
    plain = real_model_items(["mlp"])
    assert [it.key for it in plain] == [it.key for it in mlp_items if it.is_default]
    other = real_model_items(["mlp"], schedules=3, seed=1)
    assert {it.key for it in other if not it.is_default} != \
        {it.key for it in mlp_items if not it.is_default}


def test_a_sampled_schedule_is_what_iree_configures(mlp_items):
    it = next(it for it in mlp_items if not it.is_default)
    text = it.render()
    assert "compilation_info" in text
    levels = Schedule.from_dict(it.schedule).tiles
    assert schedule_applied(text, levels)
    # IREE's own variants are the dispatch module as dumped (its own configs, no override).
    default = next(d for d in mlp_items if d.is_default and d.group_id == it.group_id)
    assert "compilation_info" not in default.render()


def test_copies_get_no_sampled_schedules():
    items = real_model_items(["small_cnn"], schedules=2, seed=0)
    copies = [it for it in items if it.family == "dispatch:slow_memcpy"]
    assert copies and all(it.is_default for it in copies)


def test_bad_schedule_counts_are_refused():
    with pytest.raises(InputError, match="schedules per dispatch"):
        real_model_items(["mlp"], schedules=-1)
    with pytest.raises(InputError, match="unknown real models"):
        real_model_items(["no_such_model"], schedules=2)


def test_cli_wants_real_models_for_dispatch_schedules(tmp_path):
    out = tmp_path / "d"
    res = subprocess.run([sys.executable, "-m", "costmodel", "collect", "--samples", "3",
                          "--dispatch-schedules", "2", "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    assert "--real-models" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


def test_collected_group_times_sampled_schedules_side_by_side(tmp_path, mlp_items):
    softmax = [it for it in mlp_items if "softmax" in it.dispatch]
    out = tmp_path / "real"
    stats = collect(softmax, str(out), workers=1, time_cap_s=0.05, progress=False,
                    collection={"real_models": ["mlp"], "dispatch_schedules": 3})
    assert stats.measured == len(softmax) == 7
    samples, programs, manifest = load(out)
    rows = samples.to_pylist()
    assert {r["group_id"] for r in rows} == {softmax[0].group_id}
    assert sum(not r["is_default"] for r in rows) == 3
    assert manifest["collection"]["dispatch_schedules"] == 3
    texts = dict(zip(programs.column("ir_hash").to_pylist(), programs.column("ir").to_pylist()))
    for r in rows:
        sched = json.loads(r["schedule_json"])
        if r["is_default"]:
            assert sched["pipeline"] is None
            continue
        assert sched["levels"] and "compilation_info" in texts[r["ir_hash"]]
        if r["feasible"]:
            assert r["latency_median_s"] > 0 and r["static_instructions"] > 0
        else:
            assert r["error"]
    assert sum(r["feasible"] for r in rows if not r["is_default"]) >= 1
    # A repeat run re-times the dispatch benchmark group (its entry takes a repeat count).
    from costmodel.collect import noise_items, noise_report
    repeat = noise_items(str(out), 7, seed=0)
    assert len(repeat) == 7 and all(it.entry and it.fixed_inputs == (1,) for it in repeat)
    collect(repeat, str(out), workers=1, time_cap_s=0.05, progress=False)
    report = noise_report(str(out))
    assert report["samples"] == sum(r["feasible"] for r in rows) and report["groups"] == 1
    # A shared host can shift a whole run's ~5 us timings by 2x either way (seen here: every
    # main sample at 9 us, every repeat at 4.6 us; and in CI the reverse), so the bound is on
    # gross mismatches: wrong units, or the repeat timing compile or I/O, are 100x and more.
    assert report["latency_mape"] >= 0 and 0 <= report["latency_median_ape"] < 3
    assert -1 <= report["kendall_tau"] <= 1


def test_manifest_records_synthetic_settings_only_when_synthetic_samples_were_planned():
    from costmodel.cli import build_parser
    from costmodel.cli_data import collection_record

    parse = build_parser().parse_args
    real = parse(["collect", "--real-models", "mlp", "--dispatch-schedules", "3", "--out", "x"])
    rec = collection_record(real, ["matmul", "softmax"], ["mlp"])
    assert rec["families"] == [] and rec["schedules_per_group"] is None
    assert rec["aligned_share"] is None
    assert rec["real_models"] == ["mlp"] and rec["dispatch_schedules"] == 3
    both = parse(["collect", "--samples", "24", "--schedules-per-group", "6",
                  "--real-models", "mlp", "--out", "x"])
    rec = collection_record(both, ["matmul"], ["mlp"])
    assert rec["families"] == ["matmul"] and rec["schedules_per_group"] == 6
    assert rec["samples"] == 24 and rec["aligned_share"] == both.aligned_share


def test_planning_caches_what_the_compiler_said_of_each_dispatch(tmp_path, monkeypatch,
                                                                  mlp_items):
    import costmodel.programs.dispatch_target as dt

    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path))
    first = real_model_items(["mlp"], schedules=3, seed=0)
    assert first == mlp_items
    cached = sorted((tmp_path / "dispatch-targets").glob("*.json"))
    assert cached

    def no_compile(*a, **k):
        raise AssertionError("planning compiled although the answer was cached")
    monkeypatch.setattr(dt, "analyze_dispatch", no_compile)
    assert real_model_items(["mlp"], schedules=3, seed=0) == first
    cached[0].write_text("{not json")           # a damaged entry is asked again
    monkeypatch.undo()
    monkeypatch.setenv("COSTMODEL_CACHE_DIR", str(tmp_path))
    assert real_model_items(["mlp"], schedules=3, seed=0) == first
    assert json.loads(cached[0].read_text())["sticks"] in (True, False)
