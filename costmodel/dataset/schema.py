"""Column schema of a measured dataset. Bump SCHEMA_VERSION on any incompatible change."""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

#: One row per measured (program, schedule, compile options, run).
SAMPLE_FIELDS: list[pa.Field] = [
    pa.field("sample_key", pa.string(), nullable=False),  # unique: program+schedule+options+run
    pa.field("run", pa.string(), nullable=False),  # "main", or "repeat-N" for noise re-measurements
    pa.field("group_id", pa.string(), nullable=False),  # candidate group: one (op, shape)
    pa.field("family", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),  # "synthetic" | "real_model"
    pa.field("model", pa.string()),  # real model name, for the unseen-model split
    pa.field("dispatch", pa.string()),
    pa.field("shape_json", pa.string(), nullable=False),
    pa.field("ir_hash", pa.string(), nullable=False),  # -> programs.parquet
    pa.field("schedule_json", pa.string(), nullable=False),
    pa.field("is_default", pa.bool_(), nullable=False),  # IREE's own heuristics chose the config
    pa.field("pipeline", pa.string()),
    pa.field("data_tiling", pa.bool_(), nullable=False),
    pa.field("ukernels", pa.string(), nullable=False),
    pa.field("feasible", pa.bool_(), nullable=False),
    pa.field("error", pa.string()),
    pa.field("error_kind", pa.string()),
    pa.field("compile_time_s", pa.float64()),
    pa.field("vmfb_bytes", pa.int64()),
    pa.field("static_instructions", pa.int64()),
    pa.field("vector_share", pa.float64()),
    pa.field("wide_vector_share", pa.float64()),
    pa.field("spills", pa.int64()),
    pa.field("reloads", pa.int64()),
    pa.field("latency_median_s", pa.float64()),
    pa.field("latency_iqr_s", pa.float64()),
    pa.field("latency_calls", pa.int64()),
    pa.field("latency_ci_rel", pa.float64()),
    pa.field("noisy", pa.bool_()),
    pa.field("instructions", pa.int64()),  # callgrind, optional
    pa.field("flops", pa.int64()),  # analytical, from costmodel.ir, for quick filtering
    pa.field("hardware_id", pa.string(), nullable=False),
    pa.field("measured_at", pa.float64(), nullable=False),  # unix time
]
SAMPLE_SCHEMA = pa.schema(SAMPLE_FIELDS, metadata={"schema_version": str(SCHEMA_VERSION)})
SAMPLE_COLUMNS = [f.name for f in SAMPLE_FIELDS]

PROGRAM_SCHEMA = pa.schema([
    pa.field("ir_hash", pa.string(), nullable=False),
    pa.field("ir", pa.string(), nullable=False),
], metadata={"schema_version": str(SCHEMA_VERSION)})

REQUIRED = [f.name for f in SAMPLE_FIELDS if not f.nullable]
