"""The root op's loop nest, read from the rendered IR with costmodel.ir (not hand-coded),
so tile vectors always have one entry per loop dim in the order IREE uses."""

from __future__ import annotations

import functools

from costmodel.ir import analyze_text
from costmodel.programs.families.base import Family, LoopInfo
from costmodel.programs.schedule import Schedule

# Any parseable compilation_info works as a marker: costmodel.ir records it on the op
# that carries it, which is how the root is found among several linalg ops.
_MARKER = Schedule.make("Default", {"distribution": [0]})


def root_loop_info(family: Family, shape: dict[str, int]) -> LoopInfo:
    return _cached(family, tuple(sorted(shape.items())))


@functools.lru_cache(maxsize=4096)
def _cached(family: Family, shape_items: tuple[tuple[str, int], ...]) -> LoopInfo:
    text = family.render(dict(shape_items), _MARKER)
    ops = analyze_text(text, filename=f"<{family.name}>").to_dict()["ops"]
    roots = [o for o in ops if o.get("schedule") is not None]
    if len(roots) != 1 or "loops" not in roots[0]:
        raise RuntimeError(f"{family.name}: expected one structured root op, found "
                           f"{[o['name'] for o in roots]}")
    loops = roots[0]["loops"]
    return LoopInfo(ranges=tuple(loops["ranges"]), iterators=tuple(loops["iterator_types"]))
