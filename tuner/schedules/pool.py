"""The benchmark's measured candidate pools: real compiles and timings, cached and resumable.

For each dispatch of the suite, a deterministic list of valid candidates (half near IREE's
default, half random) is compiled and timed once; search strategies are then compared by
replaying their choices against these measurements, so every strategy sees the same
numbers. Candidates are measured in rounds across all dispatches (``chunk`` per dispatch per
round) so a partial run still gives equal-sized pools, and IREE's default is re-timed in
every round, side by side with the candidates. Every result is appended (and flushed) to
``<cache>/<dispatch>.jsonl`` before the next starts: a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from costmodel.programs import REAL_MODELS, Schedule, real_model_dispatches
from tuner.schedules.dispatch import DispatchTarget, analyze_dispatch, schedule_sticks
from tuner.schedules.measure import Runner, TrialResult
from tuner.schedules.space import DispatchSpace

DEFAULT_CACHE = Path(os.environ.get("TUNER_CACHE_DIR",
                                    Path.home() / ".cache" / "costmodel-tuner")) / "schedules"
_SKIP_KINDS = ("slow_memcpy",)  # plain copies: no compute root worth a schedule


def suite_dispatches(limit: int = 20, cache: Path = DEFAULT_CACHE) -> list:
    """Distinct real-model dispatches (by kind and shape) whose root keeps an explicit
    schedule, in model order, up to ``limit``."""
    seen, out = set(), []
    for model in REAL_MODELS:
        for d in real_model_dispatches(model):
            sig = d.name.split("_dispatch_", 1)[1].split("_", 1)[1]
            if d.kind in _SKIP_KINDS or sig in seen:
                continue
            seen.add(sig)
            if _target_cache(cache, d) is None:
                continue  # IREE drops explicit configs on this root
            out.append(d)
            if len(out) >= limit:
                return out
    return out


def _slug(name: str) -> str:
    return name.replace("$", "_") + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]


@dataclass
class Pool:
    """One dispatch's measured pool."""

    name: str
    default_latencies: list[float]  # every timing of IREE's default, side by side
    results: dict[str, TrialResult]  # candidate key -> result (default excluded)
    order: list[str]  # candidate keys in generation order
    target: DispatchTarget | None = None

    @property
    def default_latency(self) -> float:
        return statistics.median(self.default_latencies)

    def measured(self) -> list[TrialResult]:
        return [self.results[k] for k in self.order if k in self.results]


def _target_cache(cache: Path, d) -> DispatchTarget | None:
    """analyze_dispatch costs a compile; keep the answer next to the pool. None when IREE
    ignores explicit schedules on the dispatch's root."""
    path = cache / f"{_slug(d.name)}.target.json"
    if path.exists():
        t = json.loads(path.read_text())
        if not t.get("sticks", True):
            return None
        from costmodel.programs import LoopInfo
        return DispatchTarget(name=t["name"], mlir=d.mlir, root_index=t["root_index"],
                              root_op=t["root_op"],
                              loops=LoopInfo(tuple(t["ranges"]), tuple(t["iterators"])),
                              elem_bytes=t["elem_bytes"], default=Schedule.from_dict(t["default"]),
                              pipelines=tuple(t["pipelines"]), entry=d.entry,
                              consumer_spans_reduction=t["spans"], root_text=t["root_text"])
    cache.mkdir(parents=True, exist_ok=True)
    tg = analyze_dispatch(d.mlir, name=d.name, entry=d.entry)
    sticks = schedule_sticks(tg)
    path.write_text(json.dumps({"sticks": sticks,
        "name": tg.name, "root_index": tg.root_index, "root_op": tg.root_op,
        "ranges": list(tg.loops.ranges), "iterators": list(tg.loops.iterators),
        "elem_bytes": tg.elem_bytes, "default": tg.default.to_dict(),
        "pipelines": list(tg.pipelines), "spans": tg.consumer_spans_reduction,
        "root_text": tg.root_text}))
    return tg if sticks else None


def pool_candidates(target: DispatchTarget, n: int) -> list[Schedule]:
    seed = int(hashlib.sha1(target.name.encode()).hexdigest()[:8], 16)
    return DispatchSpace(target).candidates(n, np.random.default_rng(seed))


def load_pool(cache: Path, d, n: int) -> Pool:
    target = _target_cache(cache, d)
    order = [s.key() for s in pool_candidates(target, n)]
    defaults, results = [], {}
    path = cache / f"{_slug(d.name)}.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if rec.get("role") == "default":
                defaults.append(rec["latency_s"])
            else:
                results[rec["key"]] = TrialResult.from_dict(
                    {k: v for k, v in rec.items() if k != "role"})
    return Pool(d.name, defaults, results, order, target)


def measure_pools(n: int = 24, *, limit: int = 20, chunk: int = 8, cache: Path = DEFAULT_CACHE,
                  progress: Callable[[int], None] | None = None,
                  on_total: Callable[[int], None] | None = None) -> list[Pool]:
    """Measure (or resume) the pools of the suite; returns them loaded."""
    cache.mkdir(parents=True, exist_ok=True)
    ds = suite_dispatches(limit, cache)
    pools = [load_pool(cache, d, n) for d in ds]
    todo = sum(1 + sum(1 for k in p.order if k not in p.results) for p in pools)
    if on_total:
        on_total(todo)
    runners = {p.name: Runner(p.target) for p in pools}
    cands = {p.name: pool_candidates(p.target, n) for p in pools}
    for start in range(0, n, chunk):
        for p in pools:
            batch = [s for s in cands[p.name][start:start + chunk] if s.key() not in p.results]
            if not batch:
                continue
            path = cache / f"{_slug(p.name)}.jsonl"
            runner = runners[p.name]
            with path.open("a") as fh:
                # IREE's default first in every round: the baseline is timed side by side.
                r = runner.measure(Schedule.default())
                if r.feasible:
                    fh.write(json.dumps({"role": "default", **r.to_dict()}) + "\n")
                    fh.flush()
                    p.default_latencies.append(r.latency_s)
                if progress:
                    progress(1)
                for s in batch:
                    res = runner.measure(s)
                    fh.write(json.dumps({"role": "candidate", **res.to_dict()}) + "\n")
                    fh.flush()
                    p.results[res.key] = res
                    if progress:
                        progress(1)
    return pools


def main(argv: Iterable[str] | None = None) -> None:
    """``python -m tuner.schedules.pool --n 24 --limit 20``: fill the cache (background)."""
    import argparse

    from tqdm import tqdm
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=8)
    a = ap.parse_args(list(argv) if argv is not None else None)
    bar = tqdm(desc="pool trials", unit="trial")
    measure_pools(a.n, limit=a.limit, chunk=a.chunk, progress=bar.update,
                  on_total=lambda t: setattr(bar, "total", t))
    bar.close()


if __name__ == "__main__":
    main()
