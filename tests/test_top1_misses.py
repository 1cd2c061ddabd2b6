"""benchmarks/top1_misses.py: its per-group picks and rank residuals on hand examples, and a
run on the tiny real dataset whose top-1 slowdown must equal `costmodel eval`'s."""

import json

import numpy as np
import pytest

from benchmarks.top1_misses import group_picks, main, percentile_ranks, rank_residuals


def test_picks_follow_the_eval_definition_and_mark_defaults():
    y = np.array([1.0, 2.0, 4.0, 3.0, 1.0, 6.0, 5.0])
    cost = np.array([2.0, 1.0, 3.0, 0.0, 0.0, 1.0, 9.0])
    group = np.array(["a", "a", "a", "b", "b", "b", "c"])  # c: one row, no pick
    dflt = np.array([False, True, False, False, False, True, False])
    picks = {p["group"]: p for p in group_picks(cost, y, group, dflt)}
    assert set(picks) == {"a", "b"}
    # a: the lowest cost is the default at 2.0 against the best 1.0.
    assert picks["a"]["slowdown"] == pytest.approx(1.0) and picks["a"]["pick_default"] == 1.0
    assert picks["a"]["default_slowdown"] == pytest.approx(1.0)
    # b: two tied lowest costs (3.0 and 1.0) are picked at their mean, 2.0.
    assert picks["b"]["slowdown"] == pytest.approx(1.0) and picks["b"]["pick_default"] == 0.0
    assert picks["b"]["default_slowdown"] == pytest.approx(5.0)


def test_rank_residuals_are_binned_by_predicted_rank():
    group = np.array(["g"] * 5)
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    cost = np.array([2.0, 1.0, 3.0, 4.0, 5.0])  # the two fastest swapped
    assert percentile_ranks(cost, group).tolist() == [0.4, 0.2, 0.6, 0.8, 1.0]
    kind = np.array(["d", "s", "s", "s", "s"])
    r = rank_residuals(cost, y, group, kind)
    assert r["s"]["0.0-0.2"] == {"rows": 1, "rank_residual": pytest.approx(0.2)}
    assert r["d"]["0.2-0.5"] == {"rows": 1, "rank_residual": pytest.approx(-0.2)}
    assert r["d"]["0.5-0.8"] == {"rows": 0, "rank_residual": None}


def test_run_on_a_real_dataset_matches_the_eval(dataset, model_dir, capsys):
    assert main(["--data", str(dataset), "--model", str(model_dir), "--folds", "2",
                 "--worst", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["top1_slowdown"] == pytest.approx(out["eval_top1_slowdown"], abs=1e-12)
    assert set(out["families"]) <= {"matmul", "transpose"} and out["families"]
    assert sum(f["groups"] for f in out["families"].values()) == out["groups"]
    assert sum(f["share_of_total"] for f in out["families"].values()) == pytest.approx(1.0)
    kinds = out["rank_residual_by_predicted_rank"]
    assert sum(b["rows"] for k in kinds.values() for b in k.values()) == out["rows"]
    assert len(out["worst_groups"]) == min(3, out["groups"])
    worst = [g["slowdown"] for g in out["worst_groups"]]
    assert worst == sorted(worst, reverse=True)
    assert worst[0] >= max(f["top1_slowdown"] for f in out["families"].values())


def test_a_split_that_spreads_groups_over_folds_matches_the_eval_too(dataset, model_dir, capsys):
    assert main(["--data", str(dataset), "--model", str(model_dir), "--folds", "2",
                 "--split", "random_within_groups", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["top1_slowdown"] == pytest.approx(out["eval_top1_slowdown"], abs=1e-12)
