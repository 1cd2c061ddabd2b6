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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from costmodel.programs import REAL_MODELS, Schedule, real_model_dispatches
from costmodel.programs.dispatch_space import DispatchSpace
from costmodel.programs.dispatch_target import (COPY_KINDS, DispatchTarget, analyze_dispatch,
                                                 schedule_sticks, target_from_json,
                                                 target_to_json)
from tuner.errors import TunerError
from tuner.schedules.measure import Runner, TrialResult

DEFAULT_CACHE = Path(os.environ.get("TUNER_CACHE_DIR",
                                    Path.home() / ".cache" / "costmodel-tuner")) / "schedules"


def suite_dispatches(limit: int = 20, cache: Path = DEFAULT_CACHE, *,
                     im2col: bool = False) -> list:
    """Distinct real-model dispatches (by kind and shape) whose root keeps an explicit
    schedule, in model order, up to ``limit``. ``im2col``: after all of those, the new
    dispatches of the convolutional models built with im2col (`tune-model`'s ``im2col``
    variant: the im2col copies and the matmuls that replace NCHW convs, whose direct form
    drops explicit schedules), so the earlier figures' suites stay a prefix."""
    seen, out = set(), []

    def add(dispatches) -> bool:
        for d in dispatches:
            sig = d.name.split("_dispatch_", 1)[1].split("_", 1)[1]
            if d.kind in COPY_KINDS or sig in seen or d.name.startswith("_initializer"):
                continue    # (initializers run once, when the module loads)
            seen.add(sig)
            if _target_cache(cache, d) is None:
                continue  # IREE drops explicit configs on this root
            out.append(d)
            if len(out) >= limit:
                return True
        return False

    for model in REAL_MODELS:
        if add(real_model_dispatches(model)):
            return out
    if im2col:
        from costmodel.ir import onnx_to_linalg
        from tuner.schedules.model_flags import VARIANTS, variants_for

        for model in REAL_MODELS:
            mlir = onnx_to_linalg(REAL_MODELS[model](), filename=f"{model}.onnx")
            if "im2col" in variants_for(mlir) and add(
                    real_model_dispatches(model, VARIANTS["im2col"])):
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
        return target_from_json(t, d.mlir, d.entry) if t.get("sticks", True) else None
    cache.mkdir(parents=True, exist_ok=True)
    tg = analyze_dispatch(d.mlir, name=d.name, entry=d.entry)
    sticks = schedule_sticks(tg)
    path.write_text(json.dumps(target_to_json(tg, sticks)))
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
                  on_total: Callable[[int], None] | None = None, executor=None,
                  allow_mixed_hardware: bool = False, dispatches: Sequence | None = None,
                  im2col: bool = False) -> list[Pool]:
    """Measure (or resume) the pools of the suite; returns them loaded.

    ``executor`` (a ``costmodel.distributed`` Dask executor) measures on the cluster instead,
    appending to the same cache files (see ``_pools_on_cluster``). ``dispatches`` replaces
    the suite (those whose root ignores explicit schedules are dropped); ``im2col`` adds the
    conv models' im2col dispatches to the suite (``suite_dispatches``)."""
    cache.mkdir(parents=True, exist_ok=True)
    ds = (suite_dispatches(limit, cache, im2col=im2col) if dispatches is None else
          [d for d in dispatches if _target_cache(cache, d) is not None])
    pools = [load_pool(cache, d, n) for d in ds]
    cands = {p.name: pool_candidates(p.target, n) for p in pools}
    if on_total:
        # Each round of a pool that still has candidates to time re-times IREE's default too.
        missing = [[s.key() not in p.results for s in cands[p.name]] for p in pools]
        on_total(sum(sum(m[i:i + chunk]) + any(m[i:i + chunk])
                     for m in missing for i in range(0, n, chunk)))
    if executor is not None:
        _pools_on_cluster(pools, cands, n, chunk, cache, executor, progress,
                          allow_mixed_hardware)
        return pools
    if any(s.key() not in p.results for p in pools for s in cands[p.name]):
        _check_local_hardware(cache, allow_mixed_hardware)
    runners = {p.name: Runner(p.target) for p in pools}
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


def _append(cache: Path, pool: Pool, rec: dict) -> None:
    with (cache / f"{_slug(pool.name)}.jsonl").open("a") as fh:
        fh.write(json.dumps(rec) + "\n")
        fh.flush()


def pools_hardware(cache: Path) -> dict | None:
    """The hardware the cache's pools were measured on: ``hardware.json`` if a cluster run
    wrote it, else this machine's when a local run left results, else None (no results)."""
    from costmodel.dataset.fingerprint import hardware

    side = cache / "hardware.json"
    if side.exists():
        return json.loads(side.read_text())["hardware"]
    if any(f.stat().st_size for f in cache.glob("*.jsonl")):
        return hardware()  # measured here, by `measure_pools` without a cluster
    return None


def _check_local_hardware(cache: Path, allow_mixed: bool) -> None:
    """Before timing here: refuse a cache whose pools were timed on other hardware (pools
    ship in the repository, and replays compare timings within a pool), and record this
    machine as the pools' hardware when the cache has none yet."""
    from costmodel.dataset.fingerprint import hardware

    here, there = hardware(), pools_hardware(cache)
    if there is None:
        (cache / "hardware.json").write_text(json.dumps({"hardware": here,
                                                        "allow_mixed_hardware": allow_mixed}))
    elif there["id"] != here["id"] and not allow_mixed:
        raise TunerError(f"the pools in {cache} were measured on hardware {there['id']} "
                         f"({there.get('cpu_model')}, {there.get('iree_target_cpu')}); "
                         f"this machine is {here['id']} ({here.get('cpu_model')}), so "
                         "timing the missing candidates here would mix machines in one "
                         "pool: use another cache (--cache-dir, TUNER_CACHE_DIR) or "
                         "--allow-mixed-hardware")


def _pool_hardware(cache: Path, workers: dict[str, dict], allow_mixed: bool) -> dict:
    """The hardware the cache's pools are measured on (``pools_hardware``), else most
    workers'."""
    from costmodel.distributed import SchedulerError
    from costmodel.distributed.collect import choose_hardware

    side = cache / "hardware.json"
    hw = choose_hardware(pools_hardware(cache), workers)
    if not allow_mixed and not any(w["id"] == hw["id"] for w in workers.values()):
        seen = ", ".join(sorted({f"{w['id']} ({w.get('cpu_model')})" for w in workers.values()}))
        raise SchedulerError(f"the pools in {cache} were measured on hardware {hw['id']} "
                             f"({hw.get('cpu_model')}), but the workers are {seen}; use another "
                             "cache (TUNER_CACHE_DIR) or --allow-mixed-hardware")
    if not side.exists():
        side.write_text(json.dumps({"hardware": hw, "allow_mixed_hardware": allow_mixed}))
    return hw


def _pools_on_cluster(pools: list[Pool], cands: dict[str, list[Schedule]], n: int, chunk: int,
                      cache: Path, executor, progress, allow_mixed: bool) -> None:
    """The rounds of ``measure_pools`` as tasks on a Dask cluster, on one hardware.

    First IREE's default of every pool with work (its run fixes the pool's repeat count),
    then every round's default and candidates, round by round; each result is appended to
    the pool's cache file as it arrives, so a lost worker costs only its running task
    (Dask reruns it) and a stopped run resumes like a local one."""
    import sys

    from tuner.schedules.distributed import TrialTask, _run_task

    hw = _pool_hardware(cache, executor.workers_hardware(), allow_mixed)
    hw_id = None if allow_mixed else hw["id"]
    work = []  # (pool, round start, candidates still to measure)
    for start in range(0, n, chunk):
        for p in pools:
            batch = [s for s in cands[p.name][start:start + chunk] if s.key() not in p.results]
            if batch:
                work.append((p, start, batch))
    first = {}
    for p, start, _ in work:
        first.setdefault(p.name, (p, start))
    repeat: dict[str, int | None] = {}
    lost = 0

    def run(tasks: list[TrialTask], meta: list[tuple[Pool, str]], keys: list[str]) -> None:
        nonlocal lost
        for done in executor.map_unordered(_run_task, tasks, timing=True, hardware_id=hw_id,
                                           keys=keys, name="pool"):
            p, role = meta[done.index]
            if done.error is not None:
                lost += 1  # stays unmeasured: the next run measures it
                print(f"lost a {role} task of {p.name}: {done.error}", file=sys.stderr)
                continue
            r = done.result["result"]
            if role == "first":
                repeat[p.name] = done.result["repeat"]
            if role in ("first", "default"):
                if r.feasible:
                    _append(cache, p, {"role": "default", **r.to_dict()})
                    p.default_latencies.append(r.latency_s)
            else:
                _append(cache, p, {"role": "candidate", **r.to_dict()})
                p.results[r.key] = r
            if progress:
                progress(1)

    default = Schedule.default().to_dict()
    run([TrialTask(p.target, default, None) for p, _ in first.values()],
        [(p, "first") for p, _ in first.values()],
        [f"{_slug(p.name)}-default{start}" for p, start in first.values()])
    tasks, meta, keys = [], [], []
    for p, start, batch in work:
        rep = repeat.get(p.name)
        if first[p.name][1] != start:  # IREE's default again in every round
            tasks.append(TrialTask(p.target, default, rep))
            meta.append((p, "default"))
            keys.append(f"{_slug(p.name)}-default{start}")
        for s in batch:
            tasks.append(TrialTask(p.target, s.to_dict(), rep))
            meta.append((p, "candidate"))
            keys.append(f"{_slug(p.name)}-{s.key()}")
    if tasks:
        run(tasks, meta, keys)
    if lost:
        print(f"{lost} pool task(s) lost for good; rerun to measure them", file=sys.stderr)


def main(argv: Iterable[str] | None = None) -> None:
    """``python -m tuner.schedules.pool --n 24 --limit 20``: fill the cache (background)."""
    import argparse
    import sys

    from tqdm import tqdm
    ap = argparse.ArgumentParser(
        prog="python -m tuner.schedules.pool",
        description="Compile and time the schedule benchmark's candidate pools into the cache "
                    f"({DEFAULT_CACHE}; TUNER_CACHE_DIR moves it). Resumable: a rerun times "
                    "only what is missing.")
    ap.add_argument("--n", type=int, default=24, help="candidates per pool (default 24)")
    ap.add_argument("--limit", type=int, default=20,
                    help="at most this many real-model dispatches (default 20)")
    ap.add_argument("--chunk", type=int, default=8,
                    help="candidates per round; IREE's default is re-timed every round "
                         "(default 8)")
    ap.add_argument("--im2col", action="store_true",
                    help="also the conv models' dispatches built with im2col, after the others")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                    help=f"pool cache (default {DEFAULT_CACHE})")
    ap.add_argument("--allow-mixed-hardware", action="store_true",
                    help="time here even though the cache's pools were timed on other hardware")
    a = ap.parse_args(list(argv) if argv is not None else None)
    for name in ("n", "limit", "chunk"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be at least 1")
    bar = tqdm(desc="pool trials", unit="trial")
    try:
        measure_pools(a.n, limit=a.limit, chunk=a.chunk, progress=bar.update,
                      on_total=lambda t: setattr(bar, "total", t), im2col=a.im2col,
                      cache=a.cache_dir, allow_mixed_hardware=a.allow_mixed_hardware)
    except TunerError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    bar.close()


if __name__ == "__main__":
    main()
