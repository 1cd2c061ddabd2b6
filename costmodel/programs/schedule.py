"""A schedule: tile sizes per level and a pipeline for the root op, plus two compile flags.

``to_attr()`` renders the ``#iree_codegen.compilation_info`` attribute in the current
llvm-cpu syntax (``#iree_cpu.lowering_config<distribution = [...], ...>``). A schedule with
no pipeline is IREE's own heuristics (no attribute at all), which is one candidate of every
group. The printed attribute parses back with ``costmodel.ir.parse_schedule_text``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: Tiling levels of the llvm-cpu lowering_config, in the order IREE applies them.
LEVELS = ("distribution", "cache_parallel", "cache_reduction", "vector_common_parallel",
          "vector_reduction", "vector_inner_parallel")
#: Levels that tile parallel loops only (their entries on reduction dims must be 0) ...
PARALLEL_LEVELS = frozenset({"distribution", "cache_parallel", "vector_common_parallel",
                             "vector_inner_parallel"})
#: ... and levels that tile reduction loops only.
REDUCTION_LEVELS = frozenset({"cache_reduction", "vector_reduction"})
#: The boolean flags of a schedule (``Schedule`` fields and ``to_dict()`` keys).
FLAGS = ("peeling", "data_tiling", "ukernels")
#: llvm-cpu pipelines accepted by #iree_cpu.pipeline<...> in IREE 3.13.
PIPELINES = ("Default", "DoubleTilingExpert", "ConvTileAndDecomposeExpert", "Mmt4dTilingExpert",
             "BufferOpsTileAndVectorize", "DataTiling", "LinalgExtTileAndVectorize")


@dataclass(frozen=True)
class Schedule:
    """One point of the schedule space.

    ``pipeline=None`` means "IREE default": no compilation_info is attached and IREE's
    heuristics pick tiles and pipeline. ``levels`` maps a tiling level to one tile size per
    loop dim of the root op (0 = not tiled at that level). ``peeling`` adds
    ``{enable_loop_peeling}`` to translation_info (peel remainders instead of masking).
    ``data_tiling`` and ``ukernels`` are compile flags, not attributes. With an explicit
    compilation_info IREE leaves the root op out of data tiling, so for explicit schedules
    these flags only affect the other ops of the module.
    """

    pipeline: str | None = None
    levels: tuple[tuple[str, tuple[int, ...]], ...] = field(default=())
    peeling: bool = False
    data_tiling: bool = False
    ukernels: bool = False

    # -- construction ------------------------------------------------------------------
    @classmethod
    def default(cls, *, data_tiling: bool = False, ukernels: bool = False) -> Schedule:
        return cls(data_tiling=data_tiling, ukernels=ukernels)

    @classmethod
    def make(cls, pipeline: str, levels: Mapping[str, Sequence[int]], *, peeling: bool = False,
             data_tiling: bool = False, ukernels: bool = False) -> Schedule:
        """Build an explicit schedule; levels are stored in IREE's level order."""
        unknown = set(levels) - set(LEVELS)
        if unknown:
            # IREE ignores unknown level keys silently, so catch typos here.
            raise ValueError(f"unknown tiling level(s) {sorted(unknown)}; known: {LEVELS}")
        ordered = tuple((k, tuple(int(x) for x in levels[k])) for k in LEVELS if k in levels)
        return cls(pipeline=pipeline, levels=ordered, peeling=peeling,
                   data_tiling=data_tiling, ukernels=ukernels)

    # -- views -------------------------------------------------------------------------
    @property
    def is_default(self) -> bool:
        return self.pipeline is None

    @property
    def tiles(self) -> dict[str, tuple[int, ...]]:
        return dict(self.levels)

    def tile(self, level: str) -> tuple[int, ...]:
        return self.tiles.get(level, ())

    def lowering_config(self) -> str:
        body = ", ".join(f"{k} = [{', '.join(map(str, v))}]" for k, v in self.levels)
        return f"#iree_cpu.lowering_config<{body}>"

    def translation_info(self) -> str:
        opts = ", {enable_loop_peeling}" if self.peeling else ""
        return (f"#iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<{self.pipeline}>"
                f"{opts}>")

    def to_attr(self) -> str:
        """The compilation_info attribute text, or "" for the default schedule."""
        if self.is_default:
            return ""
        return (f"#iree_codegen.compilation_info<lowering_config = {self.lowering_config()}, "
                f"translation_info = {self.translation_info()}>")

    def compile_flags(self) -> list[str]:
        """Flags for iree-compile. Both are always spelled out so no build default leaks in."""
        return [f"--iree-opt-data-tiling={'true' if self.data_tiling else 'false'}",
                f"--iree-llvmcpu-enable-ukernels={'all' if self.ukernels else 'none'}"]

    # -- serialization -----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"pipeline": self.pipeline, "levels": {k: list(v) for k, v in self.levels},
                "peeling": self.peeling, "data_tiling": self.data_tiling,
                "ukernels": self.ukernels}

    @classmethod
    def from_dict(cls, d: Mapping) -> Schedule:
        flags = dict(data_tiling=bool(d.get("data_tiling", False)),
                     ukernels=bool(d.get("ukernels", False)))
        if d.get("pipeline") is None:
            return cls.default(**flags)
        return cls.make(d["pipeline"], d.get("levels") or {}, peeling=bool(d.get("peeling")),
                        **flags)

    def key(self) -> str:
        """Stable short id of the schedule (for dedup and as a sample id with a group id)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """Compact human-readable form, e.g. 'DTE d[64,64,0] v[8,16,0] r[0,0,4] +peel'."""
        if self.is_default:
            s = "default"
        else:
            short = {"distribution": "d", "cache_parallel": "cp", "cache_reduction": "cr",
                     "vector_common_parallel": "v", "vector_reduction": "r",
                     "vector_inner_parallel": "vi"}
            parts = [self.pipeline or ""] + [
                f"{short[k]}[{','.join(map(str, v))}]" for k, v in self.levels]
            s = " ".join(parts) + (" +peel" if self.peeling else "")
        return s + (" +dt" if self.data_tiling else "") + (" +uk" if self.ukernels else "")
