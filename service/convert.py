"""Feature dicts (costmodel.ir) -> costmodel.v1 protobuf messages."""

from __future__ import annotations

from proto.costmodel.v1 import costmodel_service_pb2 as pb

_TOTAL_SCALARS = ("flops", "bytes", "bytes_read", "bytes_written", "intensity",
                  "weighted_intensity", "n_ops", "n_structured_ops", "n_edges",
                  "max_region_depth", "max_loop_depth", "n_parallel_loops", "n_reduction_loops",
                  "n_transcendental", "n_scheduled_ops")
_OP_SCALARS = ("index", "name", "dialect", "family", "parent", "depth", "multiplier", "flops",
               "bytes_read", "bytes_written", "intensity", "weighted_intensity")


def totals_to_proto(total: dict) -> pb.ProgramTotals:
    msg = pb.ProgramTotals(**{k: total[k] for k in _TOTAL_SCALARS}, fully_static=total["static"])
    msg.families.update(total["families"])
    msg.dialects.update(total["dialects"])
    return msg


def op_to_proto(op: dict) -> pb.OpFeatures:
    msg = pb.OpFeatures(**{k: op[k] for k in _OP_SCALARS}, fully_static=op["static"],
                        element_type=op["element_type"] or "")
    msg.operand_types.extend(op["operand_types"])
    msg.result_types.extend(op["result_types"])
    loops = op.get("loops")
    if loops is not None:
        msg.loops.CopyFrom(pb.LoopNest(
            ranges=loops["ranges"], iterator_types=loops["iterator_types"],
            indexing_maps=loops["indexing_maps"], n_parallel=loops["n_parallel"],
            n_reduction=loops["n_reduction"], innermost_extent=loops["innermost_extent"]))
        msg.payload.update(op.get("payload", {}))
    if op.get("trip_count") is not None:
        msg.trip_count = op["trip_count"]
    sched = op.get("schedule")
    if sched is not None:
        msg.schedule.pipeline = sched["pipeline"] or ""
        msg.schedule.flags.update(sched["flags"])
        for name, sizes in sched["levels"].items():
            msg.schedule.levels.add(name=name, sizes=sizes)
    return msg


def features_to_proto(feats: dict, *, include_ops: bool, tokens: list[str] | None
                      ) -> pb.AnalyzeResponse:
    resp = pb.AnalyzeResponse(schema_version=feats["schema_version"],
                              total=totals_to_proto(feats["total"]))
    if include_ops:
        resp.ops.extend(op_to_proto(o) for o in feats["ops"])
        resp.edges.extend(pb.Edge(producer=a, consumer=b) for a, b in feats["edges"])
    if tokens is not None:
        resp.tokens.extend(tokens)
    return resp
