"""Decoded MLIR types, cached per unique type so nothing is stringified twice."""

from __future__ import annotations

import re
from dataclasses import dataclass

from iree.compiler import ir

_BITS_RE = re.compile(r"^(?:[a-z]*?)(\d+)")


@dataclass(frozen=True, slots=True)
class TypeInfo:
    text: str
    kind: str  # tensor | memref | vector | scalar | other
    element: str  # element type text ("f32"); the type itself for scalars
    bits: int  # element width; 0 where it has none
    shape: tuple[int, ...] | None  # None for unranked; -1 marks a dynamic extent
    elements: int | None  # None when unknown (dynamic or unranked)

    @property
    def nbytes(self) -> int | None:
        if self.elements is None or not self.bits:
            return None
        return self.elements * max(self.bits, 8) // 8


def element_bits(text: str) -> int:
    """Storage width of an element type from its text: f32 -> 32, index -> 64, i1 -> 1."""
    if text == "index":
        return 64
    if text.startswith("complex<"):
        return 2 * element_bits(text[8:-1])
    if text.startswith("vector<"):
        return 0
    m = _BITS_RE.match(text.lstrip("!"))
    if m and text[:1] in "fiub":
        return int(m.group(1))
    return 0


class TypeCache:
    """Maps ir.Type -> TypeInfo. MLIR uniques types per context, so hits are common."""

    def __init__(self) -> None:
        self._cache: dict[int, TypeInfo] = {}

    def __call__(self, t: ir.Type) -> TypeInfo:
        # Keyed by the hash of the uniqued type: an int compares without calling back
        # into the bindings, which a hit on an ir.Type key would do for __eq__.
        h = hash(t)
        info = self._cache.get(h)
        if info is None:
            info = self._cache[h] = _decode(t)
        return info


def _decode(t: ir.Type) -> TypeInfo:
    text = str(t)
    if isinstance(t, ir.ShapedType):
        st = t
        kind = text.split("<", 1)[0] if "<" in text else "other"
        if kind not in ("tensor", "memref", "vector"):
            kind = "other"
        element = str(st.element_type)
        bits = element_bits(element)
        if not st.has_rank:
            return TypeInfo(text, kind, element, bits, None, None)
        shape = tuple(-1 if st.is_dynamic_dim(i) else int(d) for i, d in enumerate(st.shape))
        elements: int | None = None
        if all(d >= 0 for d in shape):
            elements = 1
            for d in shape:
                elements *= d
        return TypeInfo(text, kind, element, bits, shape, elements)
    bits = element_bits(text)
    kind = "scalar" if bits else "other"
    return TypeInfo(text, kind, text, bits, () if bits else None, 1 if bits else None)
