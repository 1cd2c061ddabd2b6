"""Record a dispatch's tuning as a study in a tuner store (SQLite by default).

The study's config carries ``{"kind": "dispatch", "dispatch": name, "default_latency_s": x,
"best_latency_s": y}`` (read by the HTML reports) next to the usual study fields, and one
trial per measured schedule: params hold the schedule, the technique that proposed it and,
for infeasible trials, the compiler's reason; feasible trials get their latency (seconds)
as the measurement. Infeasible trials have no measurement (a loss of "does not compile" is
not a number).
"""

from __future__ import annotations

from collections.abc import Sequence

from costmodel.programs.dispatch_target import DispatchTarget
from tuner.errors import StudyNotFoundError
from tuner.schedules.search import TuneResult
from tuner.schedules.space import dispatch_space
from tuner.store import MeasurementRecord, Store, StudyRecord, TrialRecord, open_storage
from tuner.study import CONFIG_VERSION


def study_name(model: str, dispatch: str) -> str:
    return f"schedules/{model}/{dispatch}"


def run_identity(model_name: str, target: DispatchTarget, *, budget: int, batch: int,
                 seed: int, universe: int, strategies: Sequence[str], cost_model: str | None,
                 prior: str | None = None, **extra) -> dict:
    """What a stored study must match for a run to resume into it (budget and batch size
    the batches, so others make another search)."""
    return {"model": model_name, "dispatch": target.name, "budget": budget, "batch": batch,
            "seed": seed, "universe": universe, "strategies": list(strategies),
            "cost_model": cost_model, "prior": prior, **extra}


def open_run_study(store: Store, base: str, identity: dict) -> tuple[str, StudyRecord | None]:
    """A study of an earlier run of this very search (to resume), else a free name."""
    n = 1
    while True:
        name = base if n == 1 else f"{base}#{n}"
        try:
            rec = store.get_study(name)
        except StudyNotFoundError:
            return name, None
        if rec.config.get("run") == identity:
            return name, rec
        n += 1


def stored_trials(store: Store, rec: StudyRecord) -> dict[str, dict]:
    out = {}
    for tr, _ in store.events(rec.id):
        if "result" in tr.params:
            out[tr.params["result"]["key"]] = tr.params
    return out


def record_study(storage: str, model: str, target: DispatchTarget, result: TuneResult, *,
                 identity: dict | None = None) -> str:
    """Write the study for this dispatch; returns its name. With ``identity`` (a local
    run's ``run_identity``), a rerun of the same search writes into its earlier study
    (trials are idempotent by number); any other run gets a numbered name."""
    store = open_storage(storage)
    base = study_name(model, target.name)
    name, rec = (base, None) if identity is None else open_run_study(store, base, identity)
    if rec is not None:
        old = {tr.client_id: tr.params.get("result", {}).get("key")
               for tr, _ in store.events(rec.id)}
        if any(old.get(f"trial-{x.number}", x.result.key) != x.result.key for x in result.trials):
            identity = None  # the search went another way this time: keep both, numbered
    if identity is None:
        name = base
    config = {"version": CONFIG_VERSION, "space": dispatch_space(target).to_dict(),
              "strategy": "random", "options": {}, "seed": 0, "direction": "minimize",
              "candidates": 64, "kind": "dispatch", "dispatch": target.name, "model": model,
              "default_latency_s": result.default_latency_s,
              "best_latency_s": result.best_latency_s,
              "best_compilation_info": result.best.to_attr(),
              **({} if identity is None else {"run": identity})}
    rec, created = store.get_or_create_study(name, config)
    if not created and identity is None:  # a re-run: keep the old study, under a numbered name
        n = 2
        while True:
            rec, created = store.get_or_create_study(f"{name}#{n}", config)
            if created:
                name = f"{name}#{n}"
                break
            n += 1
    for t in result.trials:
        r = t.result
        params = {"schedule": r.schedule, "technique": t.technique, "feasible": r.feasible,
                  "stage": r.stage, "result": r.to_dict()}
        if not r.feasible:
            params["error"] = r.error
        tr = store.add_trial(rec.id, TrialRecord(0, rec.id, 0, 0, params,
                                                 client_id=f"trial-{t.number}"))
        if r.feasible:  # idempotent: a resumed trial carries the very same value
            store.add_measurement(rec.id, MeasurementRecord(tr.id, float(r.latency_s), False))
    store.close()
    return name
