"""Where the latency model's absolute error comes from: collection sessions, kernels, schedules.

The host is shared and its speed drifts between sessions (stop 39 measured about 1.5x on
repeat runs), so a dataset collected over several sessions could carry a per-session scale
that no model can predict. This runs `costmodel eval`'s folds of one split (latency only),
takes the out-of-fold predictions, and splits their log error log(predicted / measured):

* per collection session (a dataset's samples split where `measured_at` pauses for more than
  ``--gap`` seconds): the median error, and the MAPE after correcting every group by the
  median error of the *other* groups of its session (what knowing each session's machine
  state exactly would buy);
* into a per-group offset (the kernel's whole level is off) and the within-group rest (its
  schedules are ordered or spaced wrongly): the MAPE with either part removed;
* per kernel family and per schedule kind (IREE's default variants, sampled pipelines).

    .venv/bin/python benchmarks/label_drift.py [--data DATASETS] [--split unseen_shapes]
        [--gap 1200] [--folds 3] [--seed 0] [--json]

The run prints figures; it checks nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks._folds import add_fold_args, out_of_fold  # noqa: E402
from costmodel.cli_args import as_recorded, positive_int  # noqa: E402

MIN_OTHERS = 24  # rows of other groups a session needs before it corrects a group


def sessions(dataset: np.ndarray, when: np.ndarray, gap: float) -> np.ndarray:
    """Session label per row: "<dataset>#<n>", a new session after a pause over ``gap`` s."""
    out = np.empty(len(when), dtype=object)
    for name in np.unique(dataset):
        idx = np.where(dataset == name)[0]
        idx = idx[np.argsort(when[idx], kind="stable")]
        n = np.concatenate([[0], np.cumsum(np.diff(when[idx]) > gap)])
        out[idx] = [f"{name}#{k}" for k in n]
    return out


def session_corrected(value: np.ndarray, err: np.ndarray, session: np.ndarray,
                      group: np.ndarray) -> np.ndarray:
    """``value`` with each group divided by exp(median error of its session's other groups)."""
    out = value.copy()
    for s in np.unique(session):
        m = session == s
        for g in np.unique(group[m]):
            mine, others = m & (group == g), m & (group != g)
            if others.sum() >= MIN_OTHERS:
                out[mine] = value[mine] / np.exp(np.median(err[others]))
    return out


def decompose(err: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row group mean of ``err`` and the within-group rest."""
    _, inv = np.unique(group, return_inverse=True)
    mean = (np.bincount(inv, err) / np.bincount(inv))[inv]
    return mean, err - mean


def schedule_kind(row: dict) -> str:
    sched = json.loads(row["schedule_json"])
    flags = "".join(f for f, on in (("+dt", row["data_tiling"]),
                                    ("+uk", row["ukernels"] not in (None, "none"))) if on)
    if row["is_default"]:
        return "default" + flags
    return f"sampled{flags} {sched.get('pipeline') or 'default pipeline'}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_fold_args(ap, ("unseen_shapes", "unseen_families", "random_within_groups"))
    ap.add_argument("--gap", type=positive_int, default=1200,
                    help="seconds without a sample that start a new session")
    args = ap.parse_args(argv)

    import pyarrow.parquet as pq

    paths, frame, p, _ = out_of_fold(args)
    rows, y, value, group = p["rows"], p["y"], p["value"], p["group"].astype(str)
    meta = {}
    for d in paths:
        cols = ["sample_key", "run", "measured_at", "schedule_json", "is_default",
                "data_tiling", "ukernels"]
        for r in pq.read_table(Path(d) / "samples.parquet", columns=cols).to_pylist():
            if r["run"] == "main":
                meta[r["sample_key"]] = dict(r, dataset=Path(d).name)
    rec = [meta[k] for k in frame.sample_key[rows]]
    session = sessions(np.array([r["dataset"] for r in rec]),
                       np.array([r["measured_at"] for r in rec]), args.gap)
    err = np.log(value) - np.log(y)
    mape = lambda v, m=slice(None): float(np.mean(np.abs(v[m] / y[m] - 1)))  # noqa: E731
    offset, within = decompose(err, group)
    res = {"data": ",".join(as_recorded(d) for d in paths), "split": args.split, "seed": args.seed, "rows": int(len(y)),
           "mape": mape(value), "log_error_sd": float(err.std()),
           "group_offset_sd": float(offset.std()), "within_group_sd": float(within.std()),
           "true_within_group_sd": float(decompose(np.log(y), group)[1].std()),
           "mape_without_group_offset": mape(value / np.exp(offset)),
           "mape_without_within_group_error": mape(value / np.exp(within)),
           "mape_session_corrected": mape(session_corrected(value, err, session, group)),
           "sessions": {}, "families": {}, "schedule_kinds": {}}
    for s in sorted(set(session), key=lambda s: (s.split("#")[0], int(s.split("#")[1]))):
        m = session == s
        when = np.array([r["measured_at"] for r, k in zip(rec, m) if k])
        res["sessions"][s] = {"rows": int(m.sum()), "groups": int(len(np.unique(group[m]))),
                              "hours": float((when.max() - when.min()) / 3600),
                              "median_log_error": float(np.median(err[m])), "mape": mape(value, m)}
    for key, labels in (("families", frame.family[rows].astype(str)),
                        ("schedule_kinds", np.array([schedule_kind(r) for r in rec]))):
        for f in np.unique(labels):
            m = labels == f
            res[key][f] = {"rows": int(m.sum()), "mape": mape(value, m),
                           "median_log_error": float(np.median(err[m])),
                           "group_offset_sd": float(offset[m].std()),
                           "within_group_sd": float(within[m].std())}
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"{args.split}, {len(y)} out-of-fold latency predictions ({args.data})")
    print(f"MAPE {res['mape']:.3f}; log error sd {res['log_error_sd']:.3f} = group offsets "
          f"{res['group_offset_sd']:.3f} + within groups {res['within_group_sd']:.3f} (the "
          f"labels' own within-group sd: {res['true_within_group_sd']:.3f})")
    print(f"MAPE without group offsets {res['mape_without_group_offset']:.3f}, without the "
          f"within-group error {res['mape_without_within_group_error']:.3f}, with each session's "
          f"median error corrected {res['mape_session_corrected']:.3f}")
    for key, title in (("sessions", "session"), ("families", "family"),
                       ("schedule_kinds", "schedule kind")):
        extra = ("hours",) if key == "sessions" else ("offset sd", "within sd")
        print(f"\n{title:42s} {'rows':>6s} {'MAPE':>6s} {'median err':>10s} "
              + " ".join(f"{c:>9s}" for c in extra))
        for name, v in res[key].items():
            cols = ((v["hours"],) if key == "sessions"
                    else (v["group_offset_sd"], v["within_group_sd"]))
            print(f"{name:42s} {v['rows']:6d} {v['mape']:6.3f} {v['median_log_error']:+10.3f} "
                  + " ".join(f"{c:9.3f}" for c in cols))
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
