"""`tuner tune-model --scheduler ...`: the search stays here, compiles and timed runs go to Dask.

This process keeps every dispatch's search loop (cost model, searchers, AUC bandit, the same
``search`` as a local run, driven step by step by ``search.search_steps``) and the study store.
Each trial, one ``Runner.measure(schedule)``, is a task on the cluster, run the way
``costmodel.distributed`` measures: compile under the host gate, time on the worker's pinned
timing core with the gate held exclusively, one timed task per worker (``timing_core``).

* All dispatches search at once: a round sends the next batch of every unfinished dispatch
  (and the guards of finished searches), so two workers have work even for one dispatch.
* Durable: each trial is written to its dispatch's study (client id ``trial-N``) as it
  arrives, before the executor submits the next task. A worker lost mid-task costs only that
  task, which Dask reruns elsewhere; a stopped run resumes with the same command (stored
  trials answer the replayed search, so it continues where it stopped).
* Hardware: the run measures on one hardware fingerprint (a resumed study's, else the one
  most workers share); workers of other hardware get no task and results that still come
  from one are re-measured, unless ``allow_mixed_hardware``. Every trial records its
  worker, hardware id and timing core.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from costmodel.distributed import Done, Executor, SchedulerError
from costmodel.programs import Schedule
from costmodel.programs.dispatch_target import DispatchTarget
from tuner.errors import StudyNotFoundError, TunerError
from tuner.schedules.measure import Runner, TrialResult
from tuner.schedules.prior import prior_id
from tuner.schedules.record import open_run_study, run_identity, stored_trials, study_name
from tuner.schedules.search import (STRATEGY_NAMES, Batch, Trial, TuneResult, guard,
                                    search_steps)
from tuner.schedules.space import dispatch_space
from tuner.store import MeasurementRecord, Store, StudyRecord, TrialRecord, open_storage
from tuner.study import CONFIG_VERSION



# --------------------------------------------------------------------------- on the worker

class GatedRunner(Runner):
    """A Runner for a Dask worker: compiles hold the host gate shared, timed runs hold it
    exclusively on the worker's pinned timing core (``costmodel.distributed.gate``)."""

    core: int | None = None

    def compile(self, schedule: Schedule):
        from costmodel.distributed import gate
        with gate.compiling():
            return super().compile(schedule)

    def time(self, vmfb: bytes):
        from costmodel.distributed import gate
        from costmodel.measure import pinned
        self.core = gate.timing_core()
        with gate.timing(), pinned(self.core):
            return super().time(vmfb)


@dataclass
class TrialTask:
    """Compile and time one schedule of a dispatch (``repeat``: the dispatch's repeat count,
    None for its first trial, which chooses it)."""

    target: DispatchTarget
    schedule: dict
    repeat: int | None

    def run(self) -> dict:
        runner = GatedRunner(self.target, repeat=self.repeat)
        res = runner.measure(Schedule.from_dict(self.schedule))
        return {"result": res, "repeat": runner.repeat, "timing_core": runner.core}


@dataclass
class GuardTask:
    """The side-by-side re-timing of a winner against IREE's default, on one worker."""

    target: DispatchTarget
    best: dict
    repeat: int | None
    rounds: int

    def run(self) -> dict:
        runner = GatedRunner(self.target, repeat=self.repeat)
        g = guard(runner.retime, Schedule.from_dict(self.best), rounds=self.rounds)
        return {**g, "timing_core": runner.core}


@dataclass
class CheckTask:
    """Build the model with and without the spec, compare outputs, time both (one worker)."""

    mlir: str
    spec: str
    annotated: str
    seed: int

    def run(self) -> dict:
        from costmodel.distributed import gate
        from costmodel.measure import pinned
        from tuner.schedules.model_tune import build_and_check, time_models
        with tempfile.TemporaryDirectory() as d:
            spec = Path(d) / "tuning_spec.mlir"
            spec.write_text(self.spec)
            with gate.compiling():
                numeric, vmfbs = build_and_check(self.mlir, spec, self.annotated,
                                                 seed=self.seed)
        core = gate.timing_core()
        with gate.timing(), pinned(core):
            e2e = time_models(self.mlir, vmfbs)
        return {"numeric": numeric, "e2e": e2e, "timing_core": core}


def _run_task(task) -> dict:
    return task.run()


# --------------------------------------------------------------------------- the search

# --------------------------------------------------------------------------- the driver

@dataclass
class _Dispatch:
    """One dispatch's tuning in progress."""

    target: DispatchTarget
    universe: list[Schedule]
    steps: Generator
    name: str  # study name (numbered when another run's study holds the plain one)
    identity: dict  # the run's identity, kept in the study config (see record.run_identity)
    study: StudyRecord | None = None
    stored: dict[str, dict] = field(default_factory=dict)  # schedule key -> stored trial params
    repeat: int | None = None
    want: Batch | None = None  # the batch the search waits for
    got: dict[int, TrialResult] = field(default_factory=dict)
    best_s: float = math.inf
    trials: list[Trial] | None = None
    guard_best: Schedule | None = None
    result: TuneResult | None = None


@dataclass
class ClusterRun:
    """What ``tune_on_cluster`` adds to a run's summary."""

    scheduler: str | None
    hardware: dict
    allow_mixed_hardware: bool
    workers: dict[str, str]  # address -> hardware id
    trials_per_worker: dict[str, int] = field(default_factory=dict)
    trials_per_hardware: dict[str, int] = field(default_factory=dict)
    resumed_trials: int = 0
    rejected_results: int = 0

    def to_dict(self) -> dict:
        return {"scheduler": self.scheduler, "hardware_id": self.hardware["id"],
                "cpu_model": self.hardware.get("cpu_model"),
                "allow_mixed_hardware": self.allow_mixed_hardware, "workers": self.workers,
                "trials_per_worker": self.trials_per_worker,
                "trials_per_hardware": self.trials_per_hardware,
                "resumed_trials": self.resumed_trials, "rejected_results": self.rejected_results}


def tune_on_cluster(targets: list[DispatchTarget], model_name: str, budget: int,
                    executor: Executor, storage: str, *,
                    make_universe: Callable[[DispatchTarget], list[Schedule]],
                    cost_model=None, cost_model_id: str | None = None, seed: int = 0,
                    universe: int = 1000, strategies: Sequence[str] = STRATEGY_NAMES,
                    guard_rounds: int = 3, allow_mixed_hardware: bool = False,
                    on_trial: Callable[[str, Trial, float], None] | None = None,
                    prior=None) -> tuple[dict[str, TuneResult], ClusterRun]:
    """Tune ``targets`` with every measurement on ``executor``, each trial committed to
    ``storage`` as it arrives. Returns the TuneResult per dispatch name and the cluster
    facts for the summary."""
    from costmodel.distributed.collect import choose_hardware

    slots = max(1, getattr(executor, "timing_slots", lambda: 1)())
    batch = max(4, slots)  # 4 is the local search's batch: same picks with <= 4 workers
    store = open_storage(storage)
    try:
        runs: list[_Dispatch] = []
        existing_hw = None
        for target in targets:
            ident = run_identity(model_name, target, budget=budget, batch=batch, seed=seed,
                              universe=universe, strategies=strategies,
                              cost_model=cost_model_id, prior=prior_id(prior))
            name, rec = open_run_study(store, study_name(model_name, target.name), ident)
            run = _Dispatch(target, make_universe(target), None, name, ident, rec)
            if rec is not None:
                run.stored = stored_trials(store, rec)
                existing_hw = existing_hw or rec.config.get("hardware")
            runs.append(run)
        workers = executor.workers_hardware()
        hw = choose_hardware(existing_hw, workers)
        if not allow_mixed_hardware and not any(w["id"] == hw["id"] for w in workers.values()):
            seen = ", ".join(sorted({f"{w['id']} ({w.get('cpu_model')})"
                                     for w in workers.values()}))
            raise SchedulerError(
                f"{storage} holds trials of this run measured on hardware {hw['id']} "
                f"({hw.get('cpu_model')}), but the workers are {seen}; use another --out or "
                "--storage, or --allow-mixed-hardware")
        info = ClusterRun(executor.scheduler, hw, allow_mixed_hardware,
                          {a: w["id"] for a, w in sorted(workers.items())})
        for run in runs:
            run.steps = search_steps(run.target, run.universe, budget, model=cost_model,
                                     strategies=strategies, batch=batch, seed=seed,
                                     prior=prior)
            run.want = next(run.steps)
        _Driver(store, executor, runs, info, model_name=model_name, guard_rounds=guard_rounds,
                hardware_id=None if allow_mixed_hardware else hw["id"],
                window=max(4, 3 * slots), on_trial=on_trial).run()
        info.rejected_results = getattr(executor, "rejected", 0)
        return {r.target.name: r.result for r in runs}, info
    finally:
        store.close()


class _Driver:
    """Rounds of tasks until every dispatch has its TuneResult."""

    def __init__(self, store: Store, executor: Executor, runs: list[_Dispatch], info: ClusterRun,
                 *, model_name: str, guard_rounds: int, hardware_id: str | None, window: int,
                 on_trial) -> None:
        self.store, self.executor, self.runs, self.info = store, executor, runs, info
        self.model_name, self.guard_rounds = model_name, guard_rounds
        self.hardware_id, self.window, self.on_trial = hardware_id, window, on_trial

    def run(self) -> None:
        while True:
            tasks: list = []
            meta: list[tuple[_Dispatch, str, int]] = []  # (dispatch, kind, trial number)
            for run in self.runs:
                self._answer_from_store(run)
                if run.want is not None:
                    for number, _, s in run.want:
                        if number not in run.got:
                            tasks.append(TrialTask(run.target, s.to_dict(), run.repeat))
                            meta.append((run, "trial", number))
                elif run.guard_best is not None and run.result is None:
                    tasks.append(GuardTask(run.target, run.guard_best.to_dict(), run.repeat,
                                           self.guard_rounds))
                    meta.append((run, "guard", 0))
            if not tasks:
                break
            keys = [f"{self.runs.index(r)}-{kind}{n}" for r, kind, n in meta]
            for done in self.executor.map_unordered(_run_task, tasks, timing=True,
                                                    hardware_id=self.hardware_id, keys=keys,
                                                    name="tune", window=self.window):
                run, kind, number = meta[done.index]
                if done.error is not None:
                    raise TunerError(
                        f"{kind} {number or ''} of {run.target.name} was lost for good "
                        f"({type(done.error).__name__}: {done.error}); the finished trials are "
                        "in the study: rerun the same command to resume")
                if kind == "trial":
                    self._trial_done(run, number, done)
                else:
                    self._guard_done(run, done)
            for run in self.runs:
                self._advance(run)

    def _answer_from_store(self, run: _Dispatch) -> None:
        """Resume: a trial this run already stored answers the replayed search."""
        while run.want is not None:
            for number, technique, s in run.want:
                p = run.stored.get(s.key())
                if number in run.got or p is None:
                    continue
                if p["number"] != number:
                    raise TunerError(f"study {run.name} does not replay (trial {number} was "
                                     f"trial {p['number']}); use another --out or --storage")
                res = TrialResult.from_dict(p["result"])
                run.repeat = run.repeat or p.get("repeat")
                run.got[number] = res
                self.info.resumed_trials += 1
                self._report(run, number, technique, res)
            if len(run.got) < len(run.want):
                return
            self._advance(run)

    def _advance(self, run: _Dispatch) -> None:
        if run.want is None or any(n not in run.got for n, _, _ in run.want):
            return
        results = [run.got[n] for n, _, _ in run.want]
        run.got = {}
        try:
            run.want = run.steps.send(results)
        except StopIteration as stop:
            run.want = None
            run.trials, _ = stop.value
            self._searched(run)

    def _searched(self, run: _Dispatch) -> None:
        """After the search: pick the winner and ask for the guard (as ``search.tune``)."""
        trials = run.trials
        first = trials[0].result
        if not first.feasible:
            raise TunerError(f"{run.target.name}: IREE's default schedule failed on the "
                             f"cluster ({first.stage}: {first.error})")
        default_lat = first.latency_s
        feas = [t for t in trials[1:] if t.result.feasible]
        if not feas or min(t.result.latency_s for t in feas) >= default_lat:
            run.result = TuneResult(run.target.name, default_lat, default_lat,
                                    Schedule.default(), trials,
                                    {"kept": False, "reason": "no candidate beat the default"})
            return
        win = min(feas, key=lambda t: t.result.latency_s)
        run.guard_best = Schedule.from_dict(win.result.schedule)
        if not self.guard_rounds:
            run.result = TuneResult(run.target.name, default_lat, win.result.latency_s,
                                    run.guard_best, trials,
                                    {"kept": True, "default_median_s": default_lat,
                                     "best_median_s": win.result.latency_s})

    def _guard_done(self, run: _Dispatch, done: Done) -> None:
        g = {**done.result, "worker": done.worker, "hardware_id": done.hardware_id}
        dm = g["default_median_s"]
        if g["kept"]:
            run.result = TuneResult(run.target.name, dm, g["best_median_s"], run.guard_best,
                                    run.trials, g)
        else:
            run.result = TuneResult(run.target.name, dm, dm, Schedule.default(), run.trials, g)

    def _trial_done(self, run: _Dispatch, number: int, done: Done) -> None:
        out = done.result
        res: TrialResult = out["result"]
        technique = next(t for n, t, _ in run.want if n == number)
        if number == 1:
            run.repeat = out["repeat"]  # every later trial of the dispatch is timed alike
        self._write(run, number, technique, res, done, out)
        run.got[number] = res
        for counts, k in ((self.info.trials_per_worker, done.worker),
                          (self.info.trials_per_hardware, done.hardware_id)):
            counts[k] = counts.get(k, 0) + 1
        self._report(run, number, technique, res)

    def _report(self, run: _Dispatch, number: int, technique: str, res: TrialResult) -> None:
        if res.feasible:
            run.best_s = min(run.best_s, res.latency_s)
        if self.on_trial is not None:
            self.on_trial(run.target.name, Trial(number, technique, res), run.best_s)

    def _write(self, run: _Dispatch, number: int, technique: str, res: TrialResult, done: Done,
               out: dict) -> None:
        """Commit one trial (and its latency) to the dispatch's study before going on."""
        if run.study is None:  # created with the first trial: the default's latency is known
            target = run.target
            config = {"version": CONFIG_VERSION, "space": dispatch_space(target).to_dict(),
                      "strategy": "random", "options": {}, "seed": 0, "direction": "minimize",
                      "candidates": 64, "kind": "dispatch", "dispatch": target.name,
                      "model": self.model_name,
                      "default_latency_s": res.latency_s if res.feasible else None,
                      "run": run.identity,
                      "hardware": self.info.hardware, "scheduler": self.info.scheduler,
                      "allow_mixed_hardware": self.info.allow_mixed_hardware}
            run.study, _ = self.store.get_or_create_study(run.name, config)
        params = {"schedule": res.schedule, "technique": technique, "feasible": res.feasible,
                  "stage": res.stage, "number": number, "worker": done.worker,
                  "hardware_id": done.hardware_id, "timing_core": out.get("timing_core"),
                  "repeat": out.get("repeat"), "result": res.to_dict()}
        if not res.feasible:
            params["error"] = res.error
        tr = self.store.add_trial(run.study.id, TrialRecord(0, run.study.id, 0, 0, params,
                                                            client_id=f"trial-{number}"))
        if tr.params.get("result", {}).get("key") != res.key:
            raise TunerError(f"study {run.name} already holds another trial {number}; "
                             "use another --out or --storage")
        if res.feasible:
            self.store.add_measurement(run.study.id,
                                       MeasurementRecord(tr.id, float(res.latency_s), False))


def check_on_cluster(executor: Executor, mlir: str, spec: str, annotated: str, *, seed: int,
                     hardware_id: str | None) -> dict:
    """The numeric check and end-to-end timing as one task on a worker of the run's hardware."""
    (done,) = list(executor.map_unordered(_run_task, [CheckTask(mlir, spec, annotated, seed)],
                                          timing=True, hardware_id=hardware_id,
                                          keys=["check"], name="tune-check"))
    if done.error is not None:
        raise TunerError(f"the end-to-end check was lost for good: {done.error}")
    return {**done.result, "worker": done.worker, "hardware_id": done.hardware_id}
