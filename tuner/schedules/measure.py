"""Compile a dispatch under a schedule and time it: one trial of the schedule tuner.

Benchmark modules (``util.func @entry(%repeat: i32)``) need no inputs; the entry records
``repeat`` dispatches into one command buffer, so timing ``repeat`` of them per call keeps
the runtime's per-call overhead out of microsecond kernels. Plain ``func.func`` modules are
timed with generated inputs. A compiler rejection is an infeasible trial, not an error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from costmodel.measure import LatencySettings, LoadedModule, make_inputs, time_callable
from costmodel.programs import Schedule, quick_compile
from costmodel.programs.dispatch_target import DispatchTarget

#: Timing settings for tuning trials: looser than dataset labels (+-3%, 0.6 s cap), since
#: the winner is re-measured against the default before anything is returned.
TRIAL_SETTINGS = LatencySettings(target_rel=0.03, time_cap_s=0.6, min_samples=6)
#: Per-call work target for benchmark modules: enough dispatches to amortize the submit.
_CALL_TARGET_S = 5e-4
_MAX_REPEAT = 256


@dataclass(frozen=True)
class TrialResult:
    key: str  # Schedule.key()
    schedule: dict
    feasible: bool
    latency_s: float | None = None  # median per dispatch
    ci_rel: float | None = None
    noisy: bool | None = None
    compile_s: float = 0.0
    error: str | None = None  # the compiler's (or the validity check's) reason
    stage: str = "measured"  # "measured" | "invalid" | "compile" | "run"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrialResult:
        return cls(**d)


class Runner:
    """Measures schedules of one dispatch; remembers the repeat count so all trials of the
    dispatch are timed the same way."""

    def __init__(self, target: DispatchTarget, settings: LatencySettings = TRIAL_SETTINGS,
                 repeat: int | None = None) -> None:
        self.target = target
        self.settings = settings
        self.repeat = repeat
        self._vmfbs: dict[str, bytes] = {}  # feasible builds, for re-timing without a compile

    def compile(self, schedule: Schedule) -> tuple[bytes | None, float, str | None]:
        text = self.target.render(schedule)
        res = quick_compile(text, schedule.compile_flags(), keep_vmfb=True)
        return (res.vmfb if res.ok else None), res.seconds, res.error

    def measure(self, schedule: Schedule) -> TrialResult:
        key, sd = schedule.key(), schedule.to_dict()
        why = None if schedule.is_default else self.target.check(schedule)
        if why is not None:
            return TrialResult(key, sd, False, error=why, stage="invalid")
        vmfb, compile_s, err = self.compile(schedule)
        if vmfb is None:
            return TrialResult(key, sd, False, compile_s=compile_s, error=err, stage="compile")
        self._vmfbs[key] = vmfb
        try:
            lat, ci, noisy = self.time(vmfb)
        except Exception as exc:  # a kernel that traps at run time is infeasible too
            return TrialResult(key, sd, False, compile_s=compile_s, error=str(exc)[:400],
                               stage="run")
        return TrialResult(key, sd, True, lat, ci, noisy, compile_s)

    def retime(self, schedule: Schedule) -> TrialResult:
        """Time an already-built schedule again (compiles only if it was never built)."""
        vmfb = self._vmfbs.get(schedule.key())
        if vmfb is None:
            return self.measure(schedule)
        lat, ci, noisy = self.time(vmfb)
        return TrialResult(schedule.key(), schedule.to_dict(), True, lat, ci, noisy)

    def time(self, vmfb: bytes) -> tuple[float, float | None, bool]:
        if self.target.entry is None:
            from costmodel.ir.parse import parse_mlir
            from costmodel.measure.signature import signature_of
            parsed = parse_mlir(self.target.mlir)
            with parsed.context:
                sig = signature_of(parsed.module, None)
            mod = LoadedModule(vmfb, sig.entry)
            r = time_callable(mod.bind(make_inputs(sig, 0)), self.settings)
            return r.median_s, _finite(r.ci_rel), r.noisy
        mod = LoadedModule(vmfb, self.target.entry)
        fn = mod.function
        if self.repeat is None:
            fn(1)  # first call: page faults and lazy init, not timed
            probe = time_callable(lambda: fn(1), LatencySettings(time_cap_s=0.1, min_samples=6))
            self.repeat = int(min(_MAX_REPEAT, max(1, math.ceil(_CALL_TARGET_S / probe.median_s))))
        rep = self.repeat
        r = time_callable(lambda: fn(rep), self.settings)
        return r.median_s / rep, _finite(r.ci_rel), r.noisy


def _finite(x: float) -> float | None:
    return None if x is None or math.isinf(x) else float(x)
