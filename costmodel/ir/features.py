"""Per-op and per-program analytical features, and their JSON form."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from costmodel.ir.graph import OpNode, ProgramGraph, n_transcendental

#: Bumped whenever a feature's meaning or the JSON layout changes.
FEATURE_SCHEMA_VERSION = 1


def dtype_weight(bits: int) -> float:
    """Relative cost of one FLOP at this width: a vector register holds 32/bits times as
    many lanes as at f32, so narrow types do proportionally more work per instruction."""
    return bits / 32.0 if bits else 1.0


def op_features(node: OpNode) -> dict:
    moved = node.bytes_read + node.bytes_written
    feats: dict = {
        "index": node.index,
        "name": node.name,
        "dialect": node.dialect,
        "family": node.family,
        "parent": node.parent,
        "depth": node.depth,
        "multiplier": node.multiplier,
        "operand_types": [t.text for t in node.operand_types],
        "result_types": [t.text for t in node.result_types],
        "element_type": node.element_type,
        "flops": node.flops,
        "bytes_read": node.bytes_read,
        "bytes_written": node.bytes_written,
        "bytes": moved,
        "intensity": node.flops / moved if moved else 0.0,
        "weighted_intensity": node.flops * dtype_weight(node.bits) / moved if moved else 0.0,
        "static": node.static,
    }
    if node.loops is not None:
        lp = node.loops
        feats["loops"] = {
            "ranges": list(lp.ranges),
            "iterator_types": list(lp.iterators),
            "indexing_maps": list(lp.indexing_maps),
            "n_parallel": lp.n_parallel,
            "n_reduction": lp.n_reduction,
            "depth": len(lp.ranges),
            "innermost_extent": lp.innermost_extent,
        }
        feats["payload"] = dict(node.payload or {})
        feats["n_transcendental"] = n_transcendental(node.payload)
    if node.trip_count is not None or node.family == "loop":
        feats["trip_count"] = node.trip_count
    if node.schedule is not None:
        feats["schedule"] = node.schedule.to_dict()
    return feats


@dataclass
class ProgramFeatures:
    graph: ProgramGraph

    def total(self) -> dict:
        ops = self.graph.ops
        flops = sum(o.flops for o in ops)
        read = sum(o.bytes_read for o in ops)
        written = sum(o.bytes_written for o in ops)
        moved = read + written
        weighted = sum(o.flops * dtype_weight(o.bits) for o in ops if o.flops)
        structured = [o for o in ops if o.loops is not None]
        return {
            "flops": flops,
            "bytes": moved,
            "bytes_read": read,
            "bytes_written": written,
            "intensity": flops / moved if moved else 0.0,
            "weighted_intensity": weighted / moved if moved else 0.0,
            "n_ops": len(ops),
            "n_structured_ops": len(structured),
            "n_edges": len(self.graph.edges),
            "max_region_depth": max((o.depth for o in ops), default=0),
            "max_loop_depth": max((len(o.loops.ranges) for o in structured), default=0),
            "n_parallel_loops": sum(o.loops.n_parallel for o in structured),
            "n_reduction_loops": sum(o.loops.n_reduction for o in structured),
            "n_transcendental": sum(n_transcendental(o.payload) * (o.loops.domain or 0)
                                    for o in structured),
            "n_scheduled_ops": sum(1 for o in ops if o.schedule is not None),
            "static": all(o.static for o in ops),
            "families": dict(Counter(o.family for o in ops if o.family != "other")),
            "dialects": dict(Counter(o.dialect for o in ops)),
        }

    def to_dict(self) -> dict:
        return {
            "schema_version": FEATURE_SCHEMA_VERSION,
            "total": self.total(),
            "ops": [op_features(o) for o in self.graph.ops],
            "edges": [list(e) for e in self.graph.edges],
        }
