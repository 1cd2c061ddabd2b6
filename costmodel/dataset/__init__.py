"""Measured datasets: Parquet (zstd) plus manifest.json, written crash-safely."""

from costmodel.dataset.schema import SAMPLE_COLUMNS, SAMPLE_SCHEMA, SCHEMA_VERSION
from costmodel.dataset.store import (DatasetError, DatasetStore, ir_hash, load,
                                     update_manifest, validate)

__all__ = ["SAMPLE_COLUMNS", "SAMPLE_SCHEMA", "SCHEMA_VERSION", "DatasetError", "DatasetStore",
           "ir_hash", "load", "update_manifest", "validate"]
