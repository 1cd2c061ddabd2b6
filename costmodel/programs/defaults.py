"""IREE's own default schedule for a kernel, made explicit.

A candidate with no schedule means "let IREE's heuristics choose". Those heuristics are a
deterministic function of the kernel, the flags and the target CPU, and we can ask for
their choice (``--compile-to=executable-configurations``) without compiling to code. The
cost model featurizes a default candidate by the tiles IREE will actually use, so it can
tell a good default from a bad one (measured: IREE's default conv and depthwise configs
are up to 39x slower than the best candidate of their group).

Data-tiled defaults are not resolved: data tiling rewrites the root into ``linalg.mmt4d``
with other loops, so its tiles do not describe the kernel's root op.
"""

from __future__ import annotations

from costmodel.programs.compile import DEFAULT_TARGET_CPU, executable_configurations
from costmodel.programs.schedule import Schedule


def default_key(schedule: dict) -> str | None:
    """``"none"`` / ``"all"`` (the ukernels setting) for a resolvable default candidate,
    None for an explicit schedule or a data-tiled default."""
    if schedule.get("pipeline") is not None or schedule.get("levels") or \
            schedule.get("data_tiling"):
        return None
    uk = schedule.get("ukernels")
    return "all" if uk and uk != "none" else "none"


def resolve_default(ir_text: str, ukernels: str = "none", *,
                    target_cpu: str = DEFAULT_TARGET_CPU) -> dict | None:
    """The schedule IREE's heuristics give the root op of ``ir_text`` (schedule attributes
    are ignored), as a ``Schedule.to_dict()`` dict; None when IREE rejects the module or
    no op gets a ``distribution`` level."""
    from costmodel.ir import analyze_text
    from costmodel.programs.dispatches import PIPELINE_RE, strip_schedules

    flags = Schedule.default(ukernels=ukernels == "all").compile_flags()
    try:
        dump = executable_configurations(strip_schedules(ir_text), flags, target_cpu=target_cpu)
    except Exception:  # noqa: BLE001 - any compiler failure means "unknown", not an error
        return None
    roots = [o for o in analyze_text(dump, filename="<configured>").to_dict()["ops"]
             if (o.get("schedule") or {}).get("levels", {}).get("distribution") is not None]
    if not roots:
        return None
    # A kernel IREE splits into several dispatches (softmax, layernorm, attention) has a
    # root per dispatch: take the costliest, as the features' root matching does.
    root = max(roots, key=lambda o: o.get("flops", 0))
    pipe = (root.get("schedule") or {}).get("pipeline")
    if not pipe:
        m = PIPELINE_RE.search(dump)
        pipe = m.group(1) if m else "Default"
    levels = {k: [int(t) for t in v] for k, v in root["schedule"]["levels"].items()}
    return {"pipeline": pipe, "levels": levels, "peeling": False,
            "data_tiling": False, "ukernels": ukernels == "all"}
