"""Model-level compile flags: choices IREE makes while it forms a model's dispatches.

Data tiling (with or without the mmt4d ukernels) and im2col for convolutions rewrite the
ops *before* dispatches exist, so they cannot be set per dispatch by a tuning spec: they
are flags of the whole build. ``tuner tune-model`` builds the model once per variant,
times every build side by side, and tunes the dispatches of the fastest one.

Measured (whole models, side-by-side medians on a Zen 4 core; `REAL_MODELS`): im2col
takes MobileNet's block from 3.41 to 2.48 ms and the ResNet block from 580 to 533 us, data
tiling the MLP from 73 to 66 us, and the transformer block is fastest without either. On
the NCHW convs IREE also drops explicit schedules, so only the im2col build leaves them
(as matmuls) to tune.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DATA_TILING = "--iree-opt-data-tiling=true"
_UK = "--iree-llvmcpu-enable-ukernels=all"
_IM2COL = "--iree-global-opt-use-im2col-for-convs"

#: Variant name -> the flags added to the plain build. "default" is IREE's own pipeline.
VARIANTS: dict[str, tuple[str, ...]] = {
    "default": (),
    "data-tiling": (DATA_TILING,),
    "data-tiling+ukernels": (DATA_TILING, _UK),
    "im2col": (_IM2COL,),
    "im2col+data-tiling": (_IM2COL, DATA_TILING),
    "im2col+data-tiling+ukernels": (_IM2COL, DATA_TILING, _UK),
}

#: A variant replaces the default only when its build is at least this much faster:
#: side-by-side medians of one model still differ by ~1% between identical builds.
MIN_GAIN = 0.02

_CONV = re.compile(r"linalg\.(?:conv_|depthwise_conv_)")


def variants_for(mlir: str) -> list[str]:
    """The variants worth building for this model: im2col only changes convolutions."""
    has_conv = _CONV.search(mlir) is not None
    return [v for v in VARIANTS if has_conv or not v.startswith("im2col")]


@dataclass
class FlagChoice:
    """What the variant search measured and chose."""

    chosen: str
    latency_s: dict[str, float]              # per variant that built, side by side
    failed: dict[str, str] = field(default_factory=dict)  # variant -> compiler error
    searched: bool = True
    why: str = ""                            # set when the search did not run
    #: The second, two-build timing of a non-default winner (empty when the default won).
    confirm: dict = field(default_factory=dict)

    @property
    def flags(self) -> tuple[str, ...]:
        return VARIANTS[self.chosen]

    def to_dict(self) -> dict:
        return {"chosen": self.chosen, "flags": list(self.flags), "searched": self.searched,
                "why": self.why, "min_gain": MIN_GAIN,
                "variants": {v: {"flags": list(VARIANTS[v]), "latency_s": t}
                             for v, t in self.latency_s.items()},
                "failed": self.failed, "confirm": self.confirm}


def pick(latency_s: dict[str, float], min_gain: float = MIN_GAIN) -> str:
    """The fastest variant, unless it beats the default by less than ``min_gain``."""
    if "default" not in latency_s:
        raise ValueError("the default build must be timed")
    best = min(latency_s, key=latency_s.__getitem__)
    if latency_s[best] <= latency_s["default"] * (1.0 - min_gain):
        return best
    return "default"


def not_searched(why: str) -> FlagChoice:
    return FlagChoice("default", {}, searched=False, why=why)


__all__ = ["DATA_TILING", "FlagChoice", "MIN_GAIN", "VARIANTS", "not_searched", "pick", "variants_for"]
