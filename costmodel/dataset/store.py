"""A dataset directory: a crash-safe staging journal plus the Parquet files it exports.

    datasets/NAME/
      samples.parquet   one row per measured (program, schedule, options, run); zstd
      programs.parquet  deduplicated IR text, keyed by ir_hash; zstd
      manifest.json     schema version, hardware fingerprint, counts, file checksums
      staging.sqlite    (not shipped) the journal that collection appends to

Every finished sample is committed to the SQLite journal (WAL, synchronous=FULL) before
the collector moves on, keyed by sample_key, so a kill at any moment loses no finished
sample and a resumed run duplicates none. Export rewrites the Parquet files and the
manifest through temporary files and atomic renames, manifest last.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from costmodel.dataset.schema import (PROGRAM_SCHEMA, REQUIRED, SAMPLE_COLUMNS, SAMPLE_SCHEMA,
                                      SCHEMA_VERSION)
from costmodel.errors import InputError

SAMPLES = "samples.parquet"
PROGRAMS = "programs.parquet"
MANIFEST = "manifest.json"
STAGING = "staging.sqlite"


class DatasetError(InputError):
    """A dataset on disk is missing, inconsistent or from an incompatible schema."""


def ir_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class DatasetStore:
    def __init__(self, root: str | Path, *, hardware: dict | None = None,
                 allow_mixed_hardware: bool = False) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise DatasetError(f"{self.root}: exists and is not a directory")
        self.root.mkdir(parents=True, exist_ok=True)
        self.allow_mixed_hardware = allow_mixed_hardware
        # Each store object is one collection session; its load readings are kept beside
        # those of earlier sessions instead of replacing them.
        self.session = (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                        + "/" + os.urandom(3).hex())
        self.db = sqlite3.connect(self.root / STAGING, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS samples (sample_key TEXT PRIMARY KEY, row TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS programs (ir_hash TEXT PRIMARY KEY, ir TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """)
        if self._count() == 0 and (self.root / SAMPLES).exists():
            self._import_parquet()
        self.hardware = self._meta("hardware")
        if self.hardware is None and hardware is not None:
            self._set_meta("hardware", hardware)
            self.hardware = hardware

    # -- journal ---------------------------------------------------------------------------
    def _meta(self, key: str):
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def _set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def _count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]

    def __len__(self) -> int:
        return self._count()

    def done_keys(self) -> set[str]:
        return {k for (k,) in self.db.execute("SELECT sample_key FROM samples")}

    def add(self, row: dict, ir: str) -> bool:
        """Journal one finished sample durably. Returns False if its key was already there."""
        missing = [k for k in REQUIRED if row.get(k) is None and k != "ir_hash"]
        if missing:
            raise DatasetError(f"sample is missing required fields: {missing}")
        unknown = set(row) - set(SAMPLE_COLUMNS)
        if unknown:
            raise DatasetError(f"sample has unknown fields: {sorted(unknown)}")
        hw = row["hardware_id"]
        if (self.hardware and hw != self.hardware["id"] and not self.allow_mixed_hardware):
            raise DatasetError(
                f"sample from hardware {hw} cannot join a dataset measured on "
                f"{self.hardware['id']} ({self.hardware.get('cpu_model')}); use another dataset "
                "or allow mixed hardware explicitly")
        h = ir_hash(ir)
        row = {**row, "ir_hash": h}
        with self.db:  # one transaction: the row and its IR land together or not at all
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR IGNORE INTO programs VALUES (?, ?)", (h, ir))
            cur = self.db.execute("INSERT OR IGNORE INTO samples VALUES (?, ?)",
                                  (row["sample_key"], json.dumps(row)))
        return cur.rowcount == 1

    def rows(self) -> list[dict]:
        return [json.loads(r) for (r,) in self.db.execute("SELECT row FROM samples ORDER BY rowid")]

    def program(self, h: str) -> str | None:
        r = self.db.execute("SELECT ir FROM programs WHERE ir_hash=?", (h,)).fetchone()
        return r[0] if r else None

    def _import_parquet(self) -> None:
        """Seed an empty journal from exported files (e.g. a fresh clone resuming a dataset)."""
        validate(self.root)
        samples = pq.read_table(self.root / SAMPLES).to_pylist()
        programs = pq.read_table(self.root / PROGRAMS).to_pylist()
        manifest = json.loads((self.root / MANIFEST).read_text())
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR IGNORE INTO programs VALUES (?, ?)",
                                [(p["ir_hash"], p["ir"]) for p in programs])
            self.db.executemany("INSERT OR IGNORE INTO samples VALUES (?, ?)",
                                [(s["sample_key"], json.dumps(s)) for s in samples])
            self._set_meta("hardware", manifest["hardware"])
            if "collection" in manifest:
                self._set_meta("collection", manifest["collection"])

    # -- export ----------------------------------------------------------------------------
    def export(self, *, collection: dict | None = None, extra: dict | None = None) -> dict:
        """Write Parquet and manifest from the journal; returns the manifest."""
        rows = self.rows()
        if collection is not None:
            prev = self._meta("collection") or {}
            merged = {**prev, **collection}
            if "hardware_load" in collection:
                sessions = dict(prev.get("hardware_load_sessions") or {})
                if not sessions and prev.get("hardware_load"):
                    sessions["earlier"] = prev["hardware_load"]  # written before sessions
                sessions[self.session] = collection["hardware_load"]
                merged["hardware_load_sessions"] = sessions
                merged["hardware_load"] = [x for loads in sessions.values() for x in loads]
            self._set_meta("collection", merged)
        samples = pa.Table.from_pylist([{c: r.get(c) for c in SAMPLE_COLUMNS} for r in rows],
                                       schema=SAMPLE_SCHEMA)
        used = {r["ir_hash"] for r in rows}
        progs = [{"ir_hash": h, "ir": ir} for h, ir in
                 self.db.execute("SELECT ir_hash, ir FROM programs ORDER BY ir_hash") if h in used]
        programs = pa.Table.from_pylist(progs, schema=PROGRAM_SCHEMA)
        files = {}
        for name, table in ((SAMPLES, samples), (PROGRAMS, programs)):
            tmp = self.root / (name + ".tmp")
            pq.write_table(table, tmp, compression="zstd", compression_level=9)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            files[name] = {"rows": table.num_rows, "sha256": file_sha256(tmp)}
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "name": self.root.name,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "hardware": self.hardware,
            "rows": len(rows),
            **summarize(rows),
            "files": files,
            "collection": self._meta("collection") or {},
            **(extra or {}),
        }
        old = self.root / MANIFEST
        if old.exists():  # keep sections other commands added (e.g. the noise report)
            try:
                prev = json.loads(old.read_text())
                for key in ("noise", "created"):
                    if key in prev and key not in manifest:
                        manifest[key] = prev[key]
            except (OSError, ValueError):
                pass
        manifest.setdefault("created", manifest["updated"])
        for name in (PROGRAMS, SAMPLES):
            os.replace(self.root / (name + ".tmp"), self.root / name)
        _atomic_write_bytes(self.root / MANIFEST, json.dumps(manifest, indent=1).encode())
        return manifest

    def close(self) -> None:
        self.db.close()


def summarize(rows: list[dict]) -> dict:
    main = [r for r in rows if r["run"] == "main"]
    return {
        "rows_main": len(main),
        "rows_feasible": sum(1 for r in main if r["feasible"]),
        "groups": len({r["group_id"] for r in main}),
        "rows_per_family": dict(sorted(Counter(r["family"] for r in main).items())),
        "groups_per_family": dict(sorted(Counter(
            f for f, _ in {(r["family"], r["group_id"]) for r in main}).items())),
        "rows_per_source": dict(Counter(r["source"] for r in main)),
        "rows_per_run": dict(Counter(r["run"] for r in rows)),
        "real_models": sorted({r["model"] for r in main if r.get("model")}),
    }


def update_manifest(root: str | Path, **sections) -> dict:
    """Add or replace top-level manifest sections (e.g. ``noise``) atomically."""
    path = Path(root) / MANIFEST
    manifest = json.loads(path.read_text())
    manifest.update(sections)
    _atomic_write_bytes(path, json.dumps(manifest, indent=1).encode())
    return manifest


def validate(root: str | Path) -> dict:
    """Check a dataset directory; returns its manifest or raises DatasetError."""
    root = Path(root)
    mpath = root / MANIFEST
    if not mpath.exists():
        raise DatasetError(f"{root}: no {MANIFEST} (not a dataset directory?)")
    try:
        manifest = json.loads(mpath.read_text())
    except ValueError as exc:
        raise DatasetError(f"{mpath}: not valid JSON ({exc})") from None
    for key in ("schema_version", "hardware", "rows", "files"):
        if key not in manifest:
            raise DatasetError(f"{mpath}: missing '{key}'")
    if manifest["schema_version"] != SCHEMA_VERSION:
        raise DatasetError(f"{root}: schema version {manifest['schema_version']}, this build "
                           f"reads {SCHEMA_VERSION}")
    for name in (SAMPLES, PROGRAMS):
        path = root / name
        meta = manifest["files"].get(name)
        if meta is None or not path.exists():
            raise DatasetError(f"{root}: {name} missing")
        if file_sha256(path) != meta["sha256"]:
            raise DatasetError(f"{path}: checksum does not match the manifest")
    samples = pq.read_table(root / SAMPLES)
    if samples.schema.remove_metadata() != SAMPLE_SCHEMA.remove_metadata():
        raise DatasetError(f"{root / SAMPLES}: columns differ from schema v{SCHEMA_VERSION}")
    if samples.num_rows != manifest["rows"]:
        raise DatasetError(f"{root}: manifest says {manifest['rows']} rows, file has "
                           f"{samples.num_rows}")
    keys = samples.column("sample_key").to_pylist()
    if len(set(keys)) != len(keys):
        raise DatasetError(f"{root}: duplicate sample_key values")
    hashes = set(pq.read_table(root / PROGRAMS, columns=["ir_hash"]).column(0).to_pylist())
    if not set(samples.column("ir_hash").to_pylist()) <= hashes:
        raise DatasetError(f"{root}: samples reference IR missing from {PROGRAMS}")
    return manifest


def load(root: str | Path) -> tuple[pa.Table, pa.Table, dict]:
    """(samples, programs, manifest) of a validated dataset."""
    manifest = validate(root)
    root = Path(root)
    return pq.read_table(root / SAMPLES), pq.read_table(root / PROGRAMS), manifest
