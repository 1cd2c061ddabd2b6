"""``tuner tune-model``: tune every dispatch of a model and hand the result to the compiler.

1. Import (ONNX); build the model once per model-level flag variant (data tiling, im2col
   for convolutions: ``model_flags.py``), time the builds side by side and keep the fastest;
   compile that build once more to find its dispatches (standalone benchmarks).
2. Tune each dispatch whose root keeps an explicit schedule: model-guided, evolutionary and
   random search under an AUC bandit, then the side-by-side guard against IREE's default.
3. Write ``tuning_spec.mlir`` (transform dialect, for ``--iree-codegen-tuning-spec-path``),
   ``annotated.mlir`` (the model's executable sources with compilation_info on each tuned
   root; compile it with ``--compile-from=executable-sources``) and ``summary.json``.
4. Build the model plainly and with the chosen flags plus the spec, run both on the same
   random inputs and check the outputs agree; time both whole models side by side for the
   end-to-end speedup.
5. Record every dispatch's trials as a study in a tuner store.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from costmodel.errors import InputError
from costmodel.measure import LatencySettings, LoadedModule, make_inputs, time_callable
from costmodel.measure.signature import entry_signature
from costmodel.programs import Schedule, quick_compile
from costmodel.programs.compile import compile_command, first_error
from costmodel.programs.dispatches import dump_dispatches
from costmodel.dataset.fingerprint import hardware
from costmodel.distributed import Executor
from costmodel.programs.dispatch_space import DispatchSpace
from costmodel.programs.dispatch_target import (COPY_KINDS, DispatchError, DispatchTarget,
                                                 analyze_dispatch, schedule_sticks)
from tuner.errors import TunerError
from tuner.schedules.distributed import ClusterRun, check_on_cluster, tune_on_cluster
from tuner.schedules.build_guard import guard_entries
from tuner.schedules.measure import Runner, TrialResult
from tuner.schedules.model_flags import (DATA_TILING, VARIANTS, FlagChoice, not_searched, pick,
                                         variants_for)
from tuner.schedules.prior import prior_id
from tuner.schedules.record import (open_run_study, record_study, run_identity, stored_trials,
                                    study_name)
from tuner.schedules.search import STRATEGY_NAMES, Trial, TuneResult, tune
from tuner.schedules.spec import annotate_executables, tuning_spec
from tuner.store import open_storage

#: Dispatches a data-tiled build adds to lay out weights and inputs (named by IREE).
_ENCODING_PREFIX = "_encoding_"


class NumericMismatchError(TunerError):
    """The tuned build's outputs differ from the default build's."""


def load_model_mlir(path: Path) -> tuple[str, str]:
    """(linalg-level MLIR, model name) from MODEL.onnx or MODEL.mlir."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    name = path.stem.replace("-", "_").replace(".", "_") or "model"
    if path.suffix == ".onnx":
        from costmodel.ir.onnx_import import onnx_to_linalg
        text = onnx_to_linalg(path.read_bytes(), filename=str(path))
    elif path.suffix == ".mlir":
        from costmodel.ir.parse import parse_mlir
        from costmodel.ir.source import decode_ir, read_input
        text = decode_ir(read_input(path), filename=str(path))
        # IRParseError with line:column here, instead of a compiler crash dump later.
        parse_mlir(text, filename=str(path))
    else:
        raise InputError(f"{path}: expected a .onnx or .mlir model")
    _require_static(text, path)
    return text, name


def _require_static(text: str, path: Path) -> None:
    """The model is timed on random inputs, so its entry needs static argument shapes;
    say so before any build rather than after the variants were compiled."""
    sig = entry_signature(text)
    dynamic = [f"argument {i} is {a}" for i, a in enumerate(sig.args)
               if a.shape is not None and any(d < 0 for d in a.shape)]
    if dynamic:
        raise InputError(f"{path}: @{sig.entry} has dynamic shapes ({'; '.join(dynamic)}); "
                         "tune-model times the model on random inputs, so give it static "
                         "shapes (e.g. export the ONNX model with fixed input dimensions)")


def make_universe(target: DispatchTarget, size: int, seed: int) -> list[Schedule]:
    """IREE's default made explicit, then ``size`` valid candidates to score."""
    rng = np.random.default_rng(seed)
    return [target.default] + DispatchSpace(target).candidates(size, rng)


class CachedRunner:
    """Measure each schedule once per tuning run (the guard re-times on purpose)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.cache: dict[str, TrialResult] = {}

    def __call__(self, s: Schedule) -> TrialResult:
        if s.key() not in self.cache:
            self.cache[s.key()] = self.runner.measure(s)
        return self.cache[s.key()]



@dataclass
class DispatchOutcome:
    target: DispatchTarget | None
    name: str
    result: TuneResult | None = None
    skipped: str | None = None


@dataclass
class ModelOutcome:
    dispatches: list[DispatchOutcome] = field(default_factory=list)
    e2e_default_s: float | None = None
    e2e_tuned_s: float | None = None
    #: The chosen model-level flags' build before any dispatch was tuned (None: default).
    e2e_flags_s: float | None = None
    flag_choice: FlagChoice = field(default_factory=lambda: not_searched("not run"))
    numeric: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    cluster: dict | None = None  # where a --scheduler run measured (None: locally)
    #: Per tuned dispatch: the whole model built with its entry alone vs without (local
    #: runs with the check; see build_guard). Entries it dropped are not in the spec.
    build_guard: dict = field(default_factory=dict)

    def summary(self) -> dict:
        rows = []
        for d in self.dispatches:
            r = d.result
            rows.append({
                "dispatch": d.name, "skipped": d.skipped,
                "default_latency_s": r.default_latency_s if r else None,
                "best_latency_s": r.best_latency_s if r else None,
                "speedup": r.speedup if r else None,
                "trials": len(r.trials) if r else 0,
                "infeasible_trials": sum(not t.result.feasible for t in r.trials) if r else 0,
                "best_schedule": r.best.to_dict() if r else None,
                "best_compilation_info": r.best.to_attr() if r else "",
                "guard": r.guard if r else None,
                "in_spec": bool(r) and not r.best.is_default
                and self.build_guard.get(d.name, {}).get("kept", True),
                "build_guard": self.build_guard.get(d.name),
            })
        tuned = [d.result for d in self.dispatches if d.result]
        dsum = sum(r.default_latency_s for r in tuned)
        bsum = sum(r.best_latency_s for r in tuned)
        e2e = (self.e2e_default_s / self.e2e_tuned_s
               if self.e2e_default_s and self.e2e_tuned_s else None)
        extra = {} if self.cluster is None else {"cluster": self.cluster}
        return {"model_flags": self.flag_choice.to_dict(), "dispatches": rows,
                "geomean_dispatch_speedup": (math.exp(statistics.fmean(
                    math.log(r.speedup) for r in tuned)) if tuned else None),
                "sum_of_dispatches_speedup": dsum / bsum if bsum else None,
                "end_to_end": {"default_s": self.e2e_default_s, "tuned_s": self.e2e_tuned_s,
                               "speedup": e2e, "flags_only_s": self.e2e_flags_s},
                "numeric_check": self.numeric, "files": self.files, **extra}


def dispatch_targets(mlir: str, model_name: str, *, flags: tuple[str, ...] = (),
                     on_dispatches: Callable[[int], None] | None = None) -> list[DispatchOutcome]:
    """The dispatches of the model built with ``flags`` (model-level), each with its tuning
    target or the reason it is skipped."""
    dispatches = dump_dispatches(mlir, model_name, flags)
    if on_dispatches:
        on_dispatches(len(dispatches))
    out = []
    for d in dispatches:
        if d.kind in COPY_KINDS:
            out.append(DispatchOutcome(None, d.name, skipped="plain copy, nothing to tune"))
            continue
        if d.name.startswith(_ENCODING_PREFIX):
            out.append(DispatchOutcome(None, d.name, skipped="data-tiling layout change "
                                       "(IREE's own kernel)"))
            continue
        try:
            target = analyze_dispatch(d.mlir, name=d.name, entry=d.entry)
        except DispatchError as exc:
            why = str(exc)
            if DATA_TILING in flags:
                # Data tiling turns a matmul into IREE's mmt4d/pack kernels, which the
                # schedule space does not describe.
                why = f"data-tiled (IREE's mmt4d kernels, outside the schedule space): {why}"
            out.append(DispatchOutcome(None, d.name, skipped=why))
            continue
        if target.root_op == "linalg.mmt4d":
            # Data tiling's packed matmul: its 6-loop tiles are not in the schedule space
            # (tuning them is not validated end to end yet).
            out.append(DispatchOutcome(None, d.name, skipped="data-tiled (IREE's mmt4d "
                                       "kernels, outside the schedule space)"))
            continue
        if not schedule_sticks(target):
            out.append(DispatchOutcome(target, d.name,
                                       skipped="IREE drops explicit schedules on this root"))
            continue
        out.append(DispatchOutcome(target, d.name))
    return out


def tune_dispatches(mlir: str, model_name: str, budget: int, *, cost_model=None,
                    seed: int = 0, universe: int = 1000, storage: str | None = None,
                    strategies=STRATEGY_NAMES, on_trial: Callable[[str, Trial, float], None]
                    | None = None, on_dispatches: Callable[[int], None] | None = None,
                    prior=None, flags: tuple[str, ...] = (), cost_model_id: str | None = None
                    ) -> list[DispatchOutcome]:
    """Tune each dispatch locally. A rerun of the same search (same store, settings, cost
    model, prior, flags and hardware) takes the measurements of its earlier study instead of
    timing them again, and writes into that study."""
    out = dispatch_targets(mlir, model_name, flags=flags, on_dispatches=on_dispatches)
    for o in out:
        if o.skipped:
            continue
        target = o.target
        runner = CachedRunner(Runner(target))
        ident = None
        if storage:
            ident = run_identity(model_name, target, budget=budget, batch=4, seed=seed,
                                 universe=universe, strategies=strategies,
                                 cost_model=cost_model_id, prior=prior_id(prior),
                                 flags=list(flags), hardware=hardware()["id"])
            runner.cache.update(_resumed(storage, model_name, target, ident))
        uni = make_universe(target, universe, seed)
        cb = (lambda t, best, _n=o.name: on_trial(_n, t, best)) if on_trial else None
        o.result = tune(target, budget, measure=runner, universe=uni, model=cost_model,
                        strategies=strategies, seed=seed, on_trial=cb,
                        remeasure=runner.runner.retime, prior=prior)
        if storage:
            record_study(storage, model_name, target, o.result, identity=ident)
    return out


def _resumed(storage: str, model_name: str, target: DispatchTarget,
             identity: dict) -> dict[str, TrialResult]:
    """Measured results of an earlier run of this very search, by schedule key."""
    store = open_storage(storage)
    try:
        _, rec = open_run_study(store, study_name(model_name, target.name), identity)
        if rec is None:
            return {}
        return {k: TrialResult.from_dict(p["result"]) for k, p in stored_trials(store, rec).items()}
    finally:
        store.close()


def tune_dispatches_on_cluster(mlir: str, model_name: str, budget: int, executor: Executor,
                               storage: str, *, cost_model=None, cost_model_id: str | None = None,
                               seed: int = 0, universe: int = 1000, strategies=STRATEGY_NAMES,
                               allow_mixed_hardware: bool = False, on_trial=None,
                               on_dispatches=None, prior=None
                               ) -> tuple[list[DispatchOutcome], ClusterRun]:
    """As ``tune_dispatches``, with every trial measured on ``executor`` and written to the
    store as it finishes (see tuner.schedules.distributed)."""
    out = dispatch_targets(mlir, model_name, on_dispatches=on_dispatches)
    todo = [o.target for o in out if not o.skipped]
    results, info = tune_on_cluster(
        todo, model_name, budget, executor, storage,
        make_universe=lambda t: make_universe(t, universe, seed), cost_model=cost_model,
        cost_model_id=cost_model_id, seed=seed, universe=universe, strategies=strategies,
        allow_mixed_hardware=allow_mixed_hardware, on_trial=on_trial, prior=prior)
    for o in out:
        if not o.skipped:
            o.result = results[o.target.name]
    return out, info


def _run_outputs(vmfb: bytes, mlir: str, seed: int) -> list[np.ndarray]:
    sig = entry_signature(mlir)
    mod = LoadedModule(vmfb, sig.entry)
    res = mod(*mod.upload(make_inputs(sig, seed)))
    res = res if isinstance(res, (list, tuple)) else [res]
    return [np.asarray(r.to_host() if hasattr(r, "to_host") else r) for r in res]


def build(mlir: str, flags: list[str]) -> bytes:
    res = quick_compile(mlir, flags, keep_vmfb=True, timeout=600)
    if not res.ok:
        raise TunerError(f"compiling the model failed: {res.error}")
    return res.vmfb


def numeric_check(mlir: str, default_vmfb: bytes, tuned_vmfb: bytes, *, seed: int = 0,
                  rtol: float = 1e-3, atol: float = 1e-4) -> dict:
    """Run both builds on the same inputs; reordered float reductions differ in the last
    bits, so compare with a tolerance and report the worst error."""
    a, b = _run_outputs(default_vmfb, mlir, seed), _run_outputs(tuned_vmfb, mlir, seed)
    if len(a) != len(b):
        raise NumericMismatchError(f"output counts differ: {len(a)} vs {len(b)}")
    worst = 0.0
    ok = True
    for x, y in zip(a, b):
        if x.shape != y.shape:
            raise NumericMismatchError(f"output shapes differ: {x.shape} vs {y.shape}")
        diff = np.abs(x.astype(np.float64) - y.astype(np.float64))
        worst = max(worst, float(diff.max(initial=0.0)))
        ok &= bool(np.allclose(x, y, rtol=rtol, atol=atol))
    return {"ok": ok, "max_abs_diff": worst, "outputs": len(a), "rtol": rtol, "atol": atol}


def build_and_check(mlir: str, spec_path: Path, annotated: str, *, seed: int = 0,
                    flags: tuple[str, ...] = (), default_vmfb: bytes | None = None
                    ) -> tuple[dict, list[bytes]]:
    """Build the model plainly and with the model-level ``flags`` plus the spec (and from the
    annotated sources), compare their outputs; returns the numeric check and the
    [default, tuned] builds."""
    default_vmfb = build(mlir, []) if default_vmfb is None else default_vmfb
    tuned_vmfb = build(mlir, [*flags, f"--iree-codegen-tuning-spec-path={spec_path}"])
    ann = quick_compile(annotated, ["--compile-from=executable-sources"], keep_vmfb=True,
                        timeout=600)
    if not ann.ok:
        raise TunerError(f"the annotated MLIR does not compile: {ann.error}")
    numeric = numeric_check(mlir, default_vmfb, tuned_vmfb, seed=seed)
    numeric["annotated"] = numeric_check(mlir, default_vmfb, ann.vmfb, seed=seed)
    return numeric, [default_vmfb, tuned_vmfb]


def time_models(mlir: str, vmfbs: list[bytes], rounds: int = 3) -> list[float]:
    """Median latency of each whole-model build, timed alternately (side by side)."""
    sig = entry_signature(mlir)
    calls = []
    for v in vmfbs:
        mod = LoadedModule(v, sig.entry)
        calls.append(mod.bind(make_inputs(sig, 0)))
    st = LatencySettings(target_rel=0.03, time_cap_s=0.5)
    lat: list[list[float]] = [[] for _ in vmfbs]
    for _ in range(rounds):
        for i, c in enumerate(calls):
            lat[i].append(time_callable(c, st).median_s)
    return [statistics.median(x) for x in lat]


def choose_model_flags(mlir: str, *, rounds: int = 3, confirm_rounds: int = 5,
                       on_variant: Callable[[str], None] | None = None
                       ) -> tuple[FlagChoice, dict[str, bytes]]:
    """Build the model once per variant that applies, time the builds side by side and
    pick the fastest (``model_flags.pick``), which must then beat the default again, timed
    against it alone; returns the choice and the builds by variant.
    A variant the compiler rejects is recorded as failed; the default must build."""
    vmfbs: dict[str, bytes] = {}
    failed: dict[str, str] = {}
    for v in variants_for(mlir):
        if on_variant:
            on_variant(v)
        try:
            vmfbs[v] = build(mlir, list(VARIANTS[v]))
        except TunerError as exc:
            if v == "default":
                raise
            failed[v] = str(exc)
    names = list(vmfbs)
    lat = dict(zip(names, time_models(mlir, [vmfbs[v] for v in names], rounds=rounds)))
    choice = FlagChoice(pick(lat), lat, failed)
    if choice.chosen != "default":
        # A burst of load on a shared machine can last a whole round: the winner must win
        # again, against the default alone, before the build depends on it.
        if on_variant:
            on_variant(f"confirming {choice.chosen}")
        d, w = time_models(mlir, [vmfbs["default"], vmfbs[choice.chosen]],
                           rounds=confirm_rounds)
        choice.confirm = {"variant": choice.chosen, "default_s": d, "variant_s": w}
        if pick({"default": d, choice.chosen: w}) == "default":
            choice.chosen = "default"
    return choice, vmfbs


def executable_sources(mlir: str, flags: tuple[str, ...] = ()) -> str:
    cmd = compile_command([*flags, "--compile-to=executable-sources"])
    cmd = [c for c in cmd if not c.startswith("--output-format")]
    proc = subprocess.run(cmd, input=mlir.encode(), capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise TunerError(f"compiling to executable sources failed: "
                         f"{first_error(proc.stderr.decode(errors='replace'))}")
    return proc.stdout.decode()


def tune_model(path: Path, budget: int, out: Path, *, cost_model=None, seed: int = 0,
               universe: int = 1000, storage: str | None = None, check: bool = True,
               on_trial=None, on_dispatches=None, executor: Executor | None = None,
               cost_model_id: str | None = None, allow_mixed_hardware: bool = False,
               prior=None, model_flags: bool | str = True,
               on_variant: Callable[[str], None] | None = None) -> ModelOutcome:
    """Tune ``path``'s dispatches; with ``executor`` (a Dask cluster) every compile and timed
    run, the guard and the end-to-end check run on its workers (one hardware fingerprint).
    ``prior`` (a ``SchedulePrior`` for ``cost_model``) ranks model-guided candidates.
    ``model_flags``: True: first choose the model-level flags (``choose_model_flags``; local
    runs only) and tune the dispatches of that build; a variant name (``VARIANTS``): use its
    flags without the search; False: IREE's default pipeline."""
    if isinstance(model_flags, str) and model_flags not in VARIANTS:
        raise InputError(f"--model-flags {model_flags!r}: use auto, off or one of "
                         f"{', '.join(VARIANTS)}")
    if budget < 1:
        raise InputError("--budget must be at least 1")
    mlir, name = load_model_mlir(path)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(out / 'tuning.sqlite').resolve()}"
    choice, builds = not_searched("--model-flags off"), {}
    if isinstance(model_flags, str):  # given, not searched
        choice = FlagChoice(model_flags, {}, searched=False, why=f"--model-flags {model_flags}")
        if on_variant and model_flags != "default":
            on_variant(model_flags)
        if executor is None and check and model_flags != "default":
            builds = {model_flags: build(mlir, list(VARIANTS[model_flags]))}
        if executor is not None and model_flags != "default":
            raise InputError("cluster runs (--scheduler) build IREE's default pipeline only; "
                             "drop --model-flags or run locally")
    elif model_flags and executor is not None:
        choice = not_searched("model-level flags are chosen on local runs only")
    elif model_flags:
        choice, builds = choose_model_flags(mlir, on_variant=on_variant)
    flags = choice.flags
    if executor is None:
        outcome = ModelOutcome(tune_dispatches(mlir, name, budget, cost_model=cost_model,
                                               seed=seed, universe=universe, storage=storage,
                                               on_trial=on_trial, on_dispatches=on_dispatches,
                                               prior=prior, flags=flags,
                                               cost_model_id=cost_model_id))
    else:
        dispatches, info = tune_dispatches_on_cluster(
            mlir, name, budget, executor, storage, cost_model=cost_model,
            cost_model_id=cost_model_id, seed=seed, universe=universe,
            allow_mixed_hardware=allow_mixed_hardware, on_trial=on_trial,
            on_dispatches=on_dispatches, prior=prior)
        outcome = ModelOutcome(dispatches, cluster=info.to_dict())
    outcome.flag_choice = choice
    entries = [(d.target, d.result.best) for d in outcome.dispatches if d.result]
    if check and executor is None:
        base = builds.get(choice.chosen) or build(mlir, list(flags))
        builds.setdefault(choice.chosen, base)
        entries, outcome.build_guard = guard_entries(
            mlir, flags, entries, base, build=build, time_models=time_models,
            on_entry=(lambda n: on_variant(f"whole-build guard: {n}")) if on_variant else None)
    spec_path, ann_path = out / "tuning_spec.mlir", out / "annotated.mlir"
    spec_path.write_text(tuning_spec(entries))
    ann_path.write_text(annotate_executables(executable_sources(mlir, flags), entries))
    outcome.files = {"spec": str(spec_path), "annotated": str(ann_path),
                     "store": storage, "summary": str(out / "summary.json")}
    if check and executor is None:
        outcome.numeric, vmfbs = build_and_check(mlir, spec_path, ann_path.read_text(),
                                                 seed=seed, flags=flags,
                                                 default_vmfb=builds.get("default"))
        if flags:  # the chosen flags' untuned build too, to split the gain
            vmfbs.append(builds[choice.chosen])
        times = time_models(mlir, vmfbs)
        outcome.e2e_default_s, outcome.e2e_tuned_s = times[:2]
        outcome.e2e_flags_s = times[2] if flags else None
    elif check:
        res = check_on_cluster(executor, mlir, spec_path.read_text(), ann_path.read_text(),
                               seed=seed, hardware_id=None if allow_mixed_hardware
                               else outcome.cluster["hardware_id"])
        outcome.numeric = res["numeric"]
        outcome.e2e_default_s, outcome.e2e_tuned_s = res["e2e"]
        outcome.cluster["check"] = {"worker": res["worker"], "hardware_id": res["hardware_id"],
                                    "timing_core": res["timing_core"]}
    (out / "summary.json").write_text(json.dumps(outcome.summary(), indent=2))
    if check and not outcome.numeric["ok"]:
        raise NumericMismatchError(
            f"tuned build differs from the default build (max abs diff "
            f"{outcome.numeric['max_abs_diff']:.3g}); see {out / 'summary.json'}")
    return outcome


def tune_ir(mlir: str, budget: int, *, cost_model=None, seed: int = 0, universe: int = 1000,
            on_trial: Callable[[Trial, float], None] | None = None, prior=None
            ) -> tuple[DispatchTarget, TuneResult]:
    """Tune one dispatch given as MLIR text (what the TuneDispatch RPC serves)."""
    if budget < 1:
        raise InputError("budget must be at least 1")
    target = analyze_dispatch(mlir)
    if not schedule_sticks(target):
        raise DispatchError(f"{target.name}: IREE drops explicit schedules on this root "
                            f"({target.root_op}); there is nothing to tune")
    runner = CachedRunner(Runner(target))
    res = tune(target, budget, measure=runner, universe=make_universe(target, universe, seed),
               model=cost_model, seed=seed, on_trial=on_trial, remeasure=runner.runner.retime,
               prior=prior)
    return target, res
