"""Record a dispatch's tuning as a study in a tuner store (SQLite by default).

The study's config carries ``{"kind": "dispatch", "dispatch": name, "default_latency_s": x,
"best_latency_s": y}`` (read by the HTML reports) next to the usual study fields, and one
trial per measured schedule: params hold the schedule, the technique that proposed it and,
for infeasible trials, the compiler's reason; feasible trials get their latency (seconds)
as the measurement. Infeasible trials have no measurement (a loss of "does not compile" is
not a number).
"""

from __future__ import annotations

from tuner.schedules.dispatch import DispatchTarget
from tuner.schedules.search import TuneResult
from tuner.schedules.space import dispatch_space
from tuner.store import MeasurementRecord, TrialRecord, open_storage
from tuner.study import CONFIG_VERSION


def study_name(model: str, dispatch: str) -> str:
    return f"schedules/{model}/{dispatch}"


def record_study(storage: str, model: str, target: DispatchTarget, result: TuneResult) -> str:
    """Write (or extend) the study for this dispatch; returns its name."""
    store = open_storage(storage)
    name = study_name(model, target.name)
    config = {"version": CONFIG_VERSION, "space": dispatch_space(target).to_dict(),
              "strategy": "random", "options": {}, "seed": 0, "direction": "minimize",
              "candidates": 64, "kind": "dispatch", "dispatch": target.name, "model": model,
              "default_latency_s": result.default_latency_s,
              "best_latency_s": result.best_latency_s,
              "best_compilation_info": result.best.to_attr()}
    rec, created = store.get_or_create_study(name, config)
    if not created:  # a re-run: keep the old study, under a numbered name
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
                  "stage": r.stage}
        if not r.feasible:
            params["error"] = r.error
        tr = store.add_trial(rec.id, TrialRecord(0, rec.id, 0, 0, params,
                                                 client_id=f"trial-{t.number}"))
        if r.feasible:
            store.add_measurement(rec.id, MeasurementRecord(tr.id, float(r.latency_s), False))
    store.close()
    return name
