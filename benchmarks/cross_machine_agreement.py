"""How well two datasets' latency labels of the same samples agree: a ceiling for ranking.

`datasets/cpu-v2` (AMD Zen 5) and `datasets/cpu-v3` (Intel Xeon) were collected from the same
plan, so they hold the same synthetic samples (same kernel, same schedule) timed on two
machines. Their within-group Kendall tau says how much of a schedule ranking carries over
between machines, beside each dataset's repeat-run noise ceiling (`costmodel noise`):

    .venv/bin/python benchmarks/cross_machine_agreement.py [A B] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from costmodel.cli_args import shipped  # noqa: E402


def agreement(a: str, b: str) -> dict:
    import pyarrow.parquet as pq
    from scipy.stats import kendalltau

    cols = ["sample_key", "group_id", "run", "source", "latency_median_s"]
    ta = pq.read_table(f"{a}/samples.parquet", columns=cols).to_pandas()
    tb = pq.read_table(f"{b}/samples.parquet", columns=cols).to_pandas()
    keep = lambda t: t[(t.run == "main") & (t.source == "synthetic")  # noqa: E731
                       & (t.latency_median_s > 0)]
    m = keep(ta).merge(keep(tb)[["sample_key", "latency_median_s"]], on="sample_key",
                       suffixes=("_a", "_b"))
    la, lb = np.log(m.latency_median_s_a.to_numpy()), np.log(m.latency_median_s_b.to_numpy())
    taus = []
    for _, g in m.groupby("group_id"):
        if len(g) > 2 and g.latency_median_s_a.nunique() > 1:
            t = kendalltau(g.latency_median_s_a, g.latency_median_s_b).statistic
            if np.isfinite(t):
                taus.append(float(t))
    return {"a": a, "b": b, "shared_samples": int(len(m)), "groups": len(taus),
            "within_group_kendall_tau": float(np.mean(taus)) if taus else None,
            "log_latency_correlation": float(np.corrcoef(la, lb)[0, 1]) if len(m) > 1 else None,
            "median_ratio_b_over_a": float(np.exp(np.median(lb - la))) if len(m) else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", nargs="?", default=shipped("datasets/cpu-v2"))
    ap.add_argument("b", nargs="?", default=shipped("datasets/cpu-v3"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    for d in (args.a, args.b):
        if not Path(d, "samples.parquet").is_file():
            print(f"{d}: no samples.parquet (not a dataset directory)", file=sys.stderr)
            return 2
    r = agreement(args.a, args.b)
    if args.json:
        print(json.dumps(r, indent=1))
    elif not r["shared_samples"]:
        print(f"{args.a} and {args.b} share no synthetic samples")
    else:
        print(f"{r['shared_samples']} shared samples in {r['groups']} groups: within-group "
              f"Kendall tau {r['within_group_kendall_tau']:.3f}, log-latency correlation "
              f"{r['log_latency_correlation']:.3f}, median latency ratio b/a "
              f"{r['median_ratio_b_over_a']:.3f}")
    return 0


if __name__ == "__main__":
    from benchmarks._cli import run

    run(main)
