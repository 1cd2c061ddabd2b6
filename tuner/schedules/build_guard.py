"""The whole-build guard: each tuned dispatch's config must not slow the whole model down.

Every dispatch's best schedule was guarded against IREE's default in its standalone
benchmark, but a config can still cost time in the model's build: on small_cnn's im2col
build, three entries that won 1.08-1.99x standalone each made the whole model 12-14%
slower (measured with a spec holding only that entry). So before the spec is written,
the model is built once per entry (the chosen flags plus a spec of that entry alone) and
timed side by side with the flags-only build; an entry whose build is more than
``TOLERANCE`` slower is left out of the spec.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from costmodel.programs import Schedule
from costmodel.programs.dispatch_target import DispatchTarget
from tuner.schedules.spec import tuning_spec

#: A single entry's build may be this much slower than the base before it is dropped
#: (side-by-side medians on a shared machine wobble by 1-2%).
TOLERANCE = 0.03

Entry = tuple[DispatchTarget, Schedule]


def guard_entries(mlir: str, flags: Sequence[str], entries: Sequence[Entry], base_vmfb: bytes,
                  *, build: Callable[[str, list[str]], bytes],
                  time_models: Callable[..., list[float]], rounds: int = 3,
                  on_entry: Callable[[str], None] | None = None
                  ) -> tuple[list[Entry], dict[str, dict]]:
    """(the entries to keep, per dispatch name: base and alone latency and the verdict)."""
    tuned = [(t, s) for t, s in entries if not s.is_default]
    if not tuned:
        return list(entries), {}
    vmfbs = []
    with tempfile.TemporaryDirectory(prefix="build-guard-") as tmp:
        for i, (t, s) in enumerate(tuned):
            if on_entry:
                on_entry(t.name.split("$")[-1])
            spec = Path(tmp) / f"entry{i}.mlir"
            spec.write_text(tuning_spec([(t, s)]))
            vmfbs.append(build(mlir, [*flags, f"--iree-codegen-tuning-spec-path={spec}"]))
    lat = time_models(mlir, [base_vmfb, *vmfbs], rounds=rounds)
    base, report, drop = lat[0], {}, set()
    for (t, _), alone in zip(tuned, lat[1:]):
        kept = alone <= base * (1.0 + TOLERANCE)
        report[t.name] = {"base_s": base, "alone_s": alone, "kept": kept}
        if not kept:
            drop.add(t.name)
    return [(t, s) for t, s in entries if t.name not in drop], report
