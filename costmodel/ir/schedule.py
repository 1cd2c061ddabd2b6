"""Decode IREE schedule attributes (compilation_info / lowering_config) into typed vectors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from iree.compiler import ir

#: Tiling levels of the llvm-cpu lowering config, in the order the pipeline applies them.
CPU_TILE_LEVELS = (
    "distribution",
    "cache_parallel",
    "cache_reduction",
    "vector_common_parallel",
    "vector_reduction",
    "vector_inner_parallel",
)
SCHEDULE_ATTRS = ("compilation_info", "lowering_config", "translation_info")

_LEVEL_RE = re.compile(r"(\w+)\s*=\s*\[([-\d,\s]*)\]")
_NESTED_TILES_RE = re.compile(r"tile_sizes\s*=\s*\[((?:\s*\[[-\d,\s]*\]\s*,?)*)\]")
_PIPELINE_RE = re.compile(r"pipeline\s*=\s*(?:#[\w.]+<)?(\w+)")
_BOOL_RE = re.compile(r"(\w+)\s*=\s*(true|false)")


@dataclass(frozen=True)
class Schedule:
    """Tile sizes per level (as given; 0 means "not tiled at this level") and the pipeline."""

    levels: dict[str, tuple[int, ...]] = field(default_factory=dict)
    pipeline: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    source: str = ""  # the attribute text, for provenance

    def to_dict(self) -> dict:
        return {"levels": {k: list(v) for k, v in self.levels.items()},
                "pipeline": self.pipeline, "flags": dict(self.flags)}

    def tile(self, level: str) -> tuple[int, ...]:
        return self.levels.get(level, ())


def _ints(body: str) -> tuple[int, ...]:
    return tuple(int(x) for x in body.replace(" ", "").split(",") if x)


def parse_schedule_text(text: str) -> Schedule:
    """Parse the printed form of a compilation_info, lowering_config or translation_info."""
    if not isinstance(text, str):
        from costmodel.errors import InputError
        raise InputError(f"parse_schedule_text() takes attribute text (str), "
                         f"got {type(text).__name__}")
    levels: dict[str, tuple[int, ...]] = {}
    nested = _NESTED_TILES_RE.search(text)
    if nested:  # the older #iree_codegen.lowering_config<tile_sizes = [[..], [..]]> form
        for i, m in enumerate(re.finditer(r"\[([-\d,\s]*)\]", nested.group(1))):
            levels[f"tile_sizes_{i}"] = _ints(m.group(1))
        text_rest = text[: nested.start()] + text[nested.end():]
    else:
        text_rest = text
    for m in _LEVEL_RE.finditer(text_rest):
        levels[m.group(1)] = _ints(m.group(2))
    pm = _PIPELINE_RE.search(text)
    flags = {m.group(1): m.group(2) == "true" for m in _BOOL_RE.finditer(text)}
    return Schedule(levels=levels, pipeline=pm.group(1) if pm else None, flags=flags, source=text)


class ScheduleCache:
    """Attributes are uniqued, so each distinct config is decoded once."""

    def __init__(self) -> None:
        self._cache: dict[ir.Attribute, Schedule] = {}

    def __call__(self, attr: ir.Attribute) -> Schedule:
        s = self._cache.get(attr)
        if s is None:
            s = self._cache[attr] = parse_schedule_text(str(attr))
        return s


def merge(parts: list[Schedule]) -> Schedule | None:
    """Combine the schedules found on one op (e.g. a lowering_config and a translation_info)."""
    if not parts:
        return None
    levels: dict[str, tuple[int, ...]] = {}
    flags: dict[str, bool] = {}
    pipeline = None
    for p in parts:
        levels.update(p.levels)
        flags.update(p.flags)
        pipeline = pipeline or p.pipeline
    return Schedule(levels=levels, pipeline=pipeline, flags=flags,
                    source=" ".join(p.source for p in parts))
