"""Per-op and per-program analytical features, and their JSON form."""

from __future__ import annotations

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
        # One pass: programs run to tens of thousands of ops and this runs per request.
        flops = read = written = n_structured = n_scheduled = 0
        max_depth = max_loop_depth = n_par = n_red = n_trans = 0
        weighted = 0.0
        static = True
        families: dict[str, int] = {}
        names: dict[str, int] = {}
        for o in self.graph.ops:
            f = o.flops
            flops += f
            read += o.bytes_read
            written += o.bytes_written
            if f:
                weighted += f * dtype_weight(o.bits)
            if o.depth > max_depth:
                max_depth = o.depth
            if o.schedule is not None:
                n_scheduled += 1
            if not o.static:
                static = False
            fam = o.family
            if fam != "other":
                families[fam] = families.get(fam, 0) + 1
            names[o.name] = names.get(o.name, 0) + 1
            lp = o.loops
            if lp is not None:
                n_structured += 1
                if len(lp.ranges) > max_loop_depth:
                    max_loop_depth = len(lp.ranges)
                n_par += lp.n_parallel
                n_red += lp.n_reduction
                n_trans += n_transcendental(o.payload) * (lp.domain or 0)
        dialects: dict[str, int] = {}
        for name, c in names.items():
            d = name.split(".", 1)[0]
            dialects[d] = dialects.get(d, 0) + c
        moved = read + written
        return {
            "flops": flops,
            "bytes": moved,
            "bytes_read": read,
            "bytes_written": written,
            "intensity": flops / moved if moved else 0.0,
            "weighted_intensity": weighted / moved if moved else 0.0,
            "n_ops": len(self.graph.ops),
            "n_structured_ops": n_structured,
            "n_edges": len(self.graph.edges),
            "max_region_depth": max_depth,
            "max_loop_depth": max_loop_depth,
            "n_parallel_loops": n_par,
            "n_reduction_loops": n_red,
            "n_transcendental": n_trans,
            "n_scheduled_ops": n_scheduled,
            "static": static,
            "families": families,
            "dialects": dialects,
        }

    def to_dict(self) -> dict:
        return {
            "schema_version": FEATURE_SCHEMA_VERSION,
            "total": self.total(),
            "ops": [op_features(o) for o in self.graph.ops],
            "edges": [list(e) for e in self.graph.edges],
        }
