"""Trial stores: where studies, trials and measurements live, chosen by URL.

* ``memory:`` -- in-process dicts (tests, benchmarks, throwaway studies);
* ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` -- SQLite in WAL mode with
  ``synchronous=FULL``: every write is one committed transaction, so a report is on disk
  before ``add_measurement`` returns, and a kill -9 loses nothing acknowledged.

Each study has an event counter; trials and measurements carry the ``seq`` at which
they happened, so a study can replay its asks and tells in their original order. Client
ids are unique per study, which makes asks and reports idempotent.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tuner.errors import StorageError, StudyNotFoundError, TrialNotFoundError, TrialStateError


@dataclass(frozen=True)
class StudyRecord:
    id: int
    name: str
    config: dict[str, Any]


@dataclass(frozen=True)
class TrialRecord:
    id: int
    study_id: int
    number: int
    arm: int
    params: dict[str, Any]
    context: Any = None
    prob: float = 1.0
    budget: float | None = None
    group: int | None = None
    client_id: str | None = None
    seq: int = 0


@dataclass(frozen=True)
class MeasurementRecord:
    trial_id: int
    value: float
    censored: bool
    client_id: str | None = None
    seq: int = 0


class Store(ABC):
    url: str

    @abstractmethod
    def get_or_create_study(self, name: str, config: dict[str, Any]) -> tuple[StudyRecord, bool]: ...

    @abstractmethod
    def get_study(self, name: str) -> StudyRecord: ...

    @abstractmethod
    def list_studies(self) -> list[StudyRecord]: ...

    @abstractmethod
    def trial_by_client_id(self, study_id: int, client_id: str) -> TrialRecord | None: ...

    @abstractmethod
    def add_trial(self, study_id: int, trial: TrialRecord) -> TrialRecord:
        """Store a new trial (id, number and seq are assigned here)."""

    @abstractmethod
    def get_trial(self, study_id: int, trial_id: int) -> TrialRecord: ...

    @abstractmethod
    def add_measurement(self, study_id: int, m: MeasurementRecord) -> tuple[MeasurementRecord, bool]:
        """Store a report durably; returns (the stored record, whether it is new).

        A repeated client id, or the same trial reported again with the same value,
        returns the stored record unchanged; a conflicting report raises TrialStateError.
        """

    @abstractmethod
    def events(self, study_id: int) -> Iterator[tuple[TrialRecord, MeasurementRecord | None]]:
        """Asks and tells in order: (trial, None) for an ask, (trial, m) for a report."""

    @abstractmethod
    def measurements(self, study_id: int) -> dict[int, MeasurementRecord]: ...

    def close(self) -> None:
        pass


def _same(a: MeasurementRecord, value: float, censored: bool) -> bool:
    return a.value == value and a.censored == censored


def _conflict(trial_id: int, old: MeasurementRecord) -> TrialStateError:
    return TrialStateError(f"trial {trial_id} was already reported with value {old.value}"
                           f"{' (censored)' if old.censored else ''}; reports are final")


class MemoryStore(Store):
    def __init__(self) -> None:
        self.url = "memory:"
        self._lock = threading.Lock()
        self._studies: dict[str, StudyRecord] = {}
        self._seq: dict[int, int] = {}
        self._trials: dict[int, dict[int, TrialRecord]] = {}
        self._by_client: dict[int, dict[str, int]] = {}
        self._meas: dict[int, dict[int, MeasurementRecord]] = {}
        self._meas_client: dict[int, dict[str, int]] = {}
        self._next_trial = 1

    def get_or_create_study(self, name: str, config: dict[str, Any]) -> tuple[StudyRecord, bool]:
        with self._lock:
            if name in self._studies:
                return self._studies[name], False
            rec = StudyRecord(len(self._studies) + 1, name, json.loads(json.dumps(config)))
            self._studies[name] = rec
            for d in (self._seq,):
                d[rec.id] = 0
            self._trials[rec.id], self._by_client[rec.id] = {}, {}
            self._meas[rec.id], self._meas_client[rec.id] = {}, {}
            return rec, True

    def get_study(self, name: str) -> StudyRecord:
        try:
            return self._studies[name]
        except KeyError:
            raise StudyNotFoundError(f"no study named {name!r} in {self.url}") from None

    def list_studies(self) -> list[StudyRecord]:
        return list(self._studies.values())

    def trial_by_client_id(self, study_id: int, client_id: str) -> TrialRecord | None:
        tid = self._by_client[study_id].get(client_id)
        return None if tid is None else self._trials[study_id][tid]

    def add_trial(self, study_id: int, trial: TrialRecord) -> TrialRecord:
        with self._lock:
            if trial.client_id is not None and trial.client_id in self._by_client[study_id]:
                return self._trials[study_id][self._by_client[study_id][trial.client_id]]
            self._seq[study_id] += 1
            rec = replace(trial, id=self._next_trial, study_id=study_id,
                          number=len(self._trials[study_id]), seq=self._seq[study_id])
            self._next_trial += 1
            self._trials[study_id][rec.id] = rec
            if rec.client_id is not None:
                self._by_client[study_id][rec.client_id] = rec.id
            return rec

    def get_trial(self, study_id: int, trial_id: int) -> TrialRecord:
        try:
            return self._trials[study_id][trial_id]
        except KeyError:
            raise TrialNotFoundError(f"no trial {trial_id} in this study") from None

    def add_measurement(self, study_id: int, m: MeasurementRecord) -> tuple[MeasurementRecord, bool]:
        with self._lock:
            self.get_trial(study_id, m.trial_id)
            meas = self._meas[study_id]
            if m.client_id is not None and m.client_id in self._meas_client[study_id]:
                old = meas[self._meas_client[study_id][m.client_id]]
                if old.trial_id != m.trial_id:
                    raise TrialStateError(f"client id {m.client_id!r} was used for trial {old.trial_id}")
                return old, False
            old = meas.get(m.trial_id)
            if old is not None:
                if _same(old, m.value, m.censored):
                    return old, False
                raise _conflict(m.trial_id, old)
            self._seq[study_id] += 1
            rec = replace(m, seq=self._seq[study_id])
            meas[m.trial_id] = rec
            if m.client_id is not None:
                self._meas_client[study_id][m.client_id] = m.trial_id
            return rec, True

    def events(self, study_id: int) -> Iterator[tuple[TrialRecord, MeasurementRecord | None]]:
        ev: list[tuple[int, TrialRecord, MeasurementRecord | None]] = []
        trials = self._trials[study_id]
        ev += [(t.seq, t, None) for t in trials.values()]
        ev += [(m.seq, trials[m.trial_id], m) for m in self._meas[study_id].values()]
        for _, t, m in sorted(ev, key=lambda e: e[0]):
            yield t, m

    def measurements(self, study_id: int) -> dict[int, MeasurementRecord]:
        return dict(self._meas[study_id])


_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, config TEXT NOT NULL,
    events INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies(id),
    number INTEGER NOT NULL, client_id TEXT, arm INTEGER NOT NULL, params TEXT NOT NULL,
    context TEXT, prob REAL NOT NULL, budget REAL, grp INTEGER, seq INTEGER NOT NULL,
    created REAL NOT NULL,
    UNIQUE (study_id, number), UNIQUE (study_id, client_id));
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY, study_id INTEGER NOT NULL REFERENCES studies(id),
    trial_id INTEGER NOT NULL UNIQUE REFERENCES trials(id), client_id TEXT,
    value REAL NOT NULL, censored INTEGER NOT NULL, seq INTEGER NOT NULL, created REAL NOT NULL,
    UNIQUE (study_id, client_id));
CREATE INDEX IF NOT EXISTS trials_by_seq ON trials (study_id, seq);
CREATE INDEX IF NOT EXISTS measurements_by_seq ON measurements (study_id, seq);
"""


class SQLiteStore(Store):
    """SQLite, WAL mode, synchronous=FULL; one connection guarded by a lock, so a store
    object can be shared by a server's threads. Several processes may open the same
    file (SQLite's locking serialises writers), but each study should have one writer:
    the strategy state lives in that writer's memory."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._lock = threading.Lock()
        if readonly:
            self._open_readonly()
            return
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise StorageError(f"cannot open trial store {self.path}: {e}") from None

    def _open_readonly(self) -> None:
        """For commands that only read: a missing file is an error, not a new store, and
        the database is never created or written (SQLite's mode=ro; a live writer's WAL is
        still read)."""
        path = Path(self.path)
        if self.path == ":memory:" or not path.is_file():
            raise StorageError(f"no trial store at {self.path}")
        if path.stat().st_size == 0:
            raise StorageError(f"{self.path} is empty, not a trial store")
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                       isolation_level=None, check_same_thread=False,
                                       timeout=30.0)
            names = _tables(self._db)
        except sqlite3.Error as e:
            raise StorageError(f"cannot read trial store {self.path}: {e}") from None
        if not STORE_TABLES <= names:
            self._db.close()
            raise StorageError(f"{self.path} is an SQLite file but not a trial store")

    def _tx(self):
        return _Tx(self._db, self._lock)

    def _study(self, row) -> StudyRecord:
        config = _decode(row[2], self.path, f"study {row[1]!r}'s config")
        if not isinstance(config, dict):
            raise StorageError(f"trial store {self.path}: study {row[1]!r}'s config is not an "
                               "object")
        return StudyRecord(row[0], row[1], config)

    def get_or_create_study(self, name: str, config: dict[str, Any]) -> tuple[StudyRecord, bool]:
        with self._tx() as db:
            row = db.execute("SELECT id, name, config FROM studies WHERE name = ?", (name,)).fetchone()
            if row:
                return self._study(row), False
            cur = db.execute("INSERT INTO studies (name, config, created) VALUES (?, ?, ?)",
                             (name, json.dumps(config, sort_keys=True), time.time()))
            return StudyRecord(cur.lastrowid, name, json.loads(json.dumps(config))), True

    def get_study(self, name: str) -> StudyRecord:
        with self._lock:
            row = self._db.execute("SELECT id, name, config FROM studies WHERE name = ?", (name,)).fetchone()
        if not row:
            raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
        return self._study(row)

    def list_studies(self) -> list[StudyRecord]:
        with self._lock:
            rows = self._db.execute("SELECT id, name, config FROM studies ORDER BY id").fetchall()
        return [self._study(r) for r in rows]

    _TRIAL_COLS = "id, study_id, number, arm, params, context, prob, budget, grp, client_id, seq"

    def _trial(self, row) -> TrialRecord:
        where = f"trial {row[0]}"
        return TrialRecord(row[0], row[1], row[2], row[3], _decode(row[4], self.path, where),
                           None if row[5] is None else _decode(row[5], self.path, where),
                           row[6], row[7], row[8], row[9], row[10])

    def trial_by_client_id(self, study_id: int, client_id: str) -> TrialRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {self._TRIAL_COLS} FROM trials WHERE study_id = ? AND client_id = ?",
                                   (study_id, client_id)).fetchone()
        return None if row is None else self._trial(row)

    def _next_seq(self, db: sqlite3.Connection, study_id: int) -> int:
        db.execute("UPDATE studies SET events = events + 1 WHERE id = ?", (study_id,))
        return db.execute("SELECT events FROM studies WHERE id = ?", (study_id,)).fetchone()[0]

    def add_trial(self, study_id: int, trial: TrialRecord) -> TrialRecord:
        with self._tx() as db:
            if trial.client_id is not None:
                row = db.execute(f"SELECT {self._TRIAL_COLS} FROM trials WHERE study_id = ? AND client_id = ?",
                                 (study_id, trial.client_id)).fetchone()
                if row:
                    return self._trial(row)
            seq = self._next_seq(db, study_id)
            number = db.execute("SELECT COUNT(*) FROM trials WHERE study_id = ?", (study_id,)).fetchone()[0]
            cur = db.execute(
                "INSERT INTO trials (study_id, number, client_id, arm, params, context, prob, budget,"
                " grp, seq, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (study_id, number, trial.client_id, trial.arm, json.dumps(trial.params),
                 None if trial.context is None else json.dumps(trial.context), trial.prob,
                 trial.budget, trial.group, seq, time.time()))
            return replace(trial, id=cur.lastrowid, study_id=study_id, number=number, seq=seq)

    def get_trial(self, study_id: int, trial_id: int) -> TrialRecord:
        with self._lock:
            row = self._db.execute(f"SELECT {self._TRIAL_COLS} FROM trials WHERE study_id = ? AND id = ?",
                                   (study_id, trial_id)).fetchone()
        if row is None:
            raise TrialNotFoundError(f"no trial {trial_id} in this study")
        return self._trial(row)

    def add_measurement(self, study_id: int, m: MeasurementRecord) -> tuple[MeasurementRecord, bool]:
        with self._tx() as db:
            if db.execute("SELECT 1 FROM trials WHERE study_id = ? AND id = ?",
                          (study_id, m.trial_id)).fetchone() is None:
                raise TrialNotFoundError(f"no trial {m.trial_id} in this study")
            if m.client_id is not None:
                row = db.execute("SELECT trial_id, value, censored, client_id, seq FROM measurements"
                                 " WHERE study_id = ? AND client_id = ?", (study_id, m.client_id)).fetchone()
                if row:
                    if row[0] != m.trial_id:
                        raise TrialStateError(f"client id {m.client_id!r} was used for trial {row[0]}")
                    return MeasurementRecord(row[0], row[1], bool(row[2]), row[3], row[4]), False
            row = db.execute("SELECT trial_id, value, censored, client_id, seq FROM measurements"
                             " WHERE trial_id = ?", (m.trial_id,)).fetchone()
            if row:
                old = MeasurementRecord(row[0], row[1], bool(row[2]), row[3], row[4])
                if _same(old, m.value, m.censored):
                    return old, False
                raise _conflict(m.trial_id, old)
            seq = self._next_seq(db, study_id)
            db.execute("INSERT INTO measurements (study_id, trial_id, client_id, value, censored, seq,"
                       " created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (study_id, m.trial_id, m.client_id, m.value, int(m.censored), seq, time.time()))
            return replace(m, seq=seq), True
        # COMMIT (with synchronous=FULL: fsync of the WAL) happens on leaving the block.

    def events(self, study_id: int) -> Iterator[tuple[TrialRecord, MeasurementRecord | None]]:
        with self._lock:
            trials = {r[0]: self._trial(r) for r in self._db.execute(
                f"SELECT {self._TRIAL_COLS} FROM trials WHERE study_id = ?", (study_id,))}
            meas = [MeasurementRecord(r[0], r[1], bool(r[2]), r[3], r[4]) for r in self._db.execute(
                "SELECT trial_id, value, censored, client_id, seq FROM measurements WHERE study_id = ?",
                (study_id,))]
        ev = [(t.seq, t, None) for t in trials.values()] + [(m.seq, trials[m.trial_id], m) for m in meas]
        for _, t, m in sorted(ev, key=lambda e: e[0]):
            yield t, m

    def measurements(self, study_id: int) -> dict[int, MeasurementRecord]:
        with self._lock:
            rows = self._db.execute("SELECT trial_id, value, censored, client_id, seq FROM measurements"
                                    " WHERE study_id = ?", (study_id,)).fetchall()
        return {r[0]: MeasurementRecord(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _decode(text, path: str, where: str):
    """A stored JSON column; a store edited or damaged by hand is an error, not a crash."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as e:
        raise StorageError(f"trial store {path}: {where} is not valid JSON ({e})") from None


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT under the store lock; ROLLBACK on any error."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            self.lock.release()
            raise StorageError(f"trial store: {e}") from None
        return self.db

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                self.db.execute("COMMIT")
            else:
                self.db.execute("ROLLBACK")
        except sqlite3.Error as e:
            if exc_type is None:
                raise StorageError(f"trial store commit failed: {e}") from None
        finally:
            self.lock.release()
        if exc_type is not None and issubclass(exc_type, sqlite3.Error):
            raise StorageError(f"trial store: {exc}") from None
        return False


def check_storage_url(url: str) -> str | None:
    """Validate a storage URL without opening anything (so a typo fails before any work);
    returns the SQLite path, or None for an in-memory store."""
    if not isinstance(url, str):
        raise StorageError(f"storage must be a URL string, got {type(url).__name__}")
    if url in ("memory:", "memory://", "mem:"):
        return None
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if not path:
            raise StorageError(f"storage URL {url!r} has no database path")
        if path != ":memory:" and Path(path).is_dir():
            raise StorageError(f"storage URL {url!r} names a directory, not a database file")
        return path
    raise StorageError(f"unsupported storage URL {url!r}: use 'memory:' or 'sqlite:///path.db'")


_SQLITE_MAGIC = b"SQLite format 3\x00"


#: The tables that make an SQLite file a trial store.
STORE_TABLES = frozenset({"studies", "trials", "measurements"})


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def check_writable_storage(url: str, what: str = "--storage") -> str | None:
    """For commands that will write to ``url``: fail before any work if the store cannot be
    created or opened for writing, without creating or changing anything. An existing file
    must be a trial store, an empty SQLite database or an empty file (never another
    program's database, which opening would add tables to); a new one needs a writable
    directory. Returns the SQLite path, or None for an in-memory store."""
    from costmodel.cli_args import check_out_file
    path = check_storage_url(url)
    if path is None or path == ":memory:":
        return path
    p = Path(path)
    check_out_file(p, what)  # its directory takes new files (SQLite's -wal and -shm too)
    if not p.exists():
        return path
    if not p.is_file():
        raise StorageError(f"{what} {url!r}: {path} is not a regular file")
    try:
        with open(p, "r+b") as f:  # opened for writing, nothing written
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as e:
        raise StorageError(f"{what} {url!r}: cannot write {path} ({e.strerror or e})") from None
    if not head:
        return path
    if head != _SQLITE_MAGIC:
        raise StorageError(f"{what} {url!r}: {path} exists and is not an SQLite database; "
                           "give another path or move it away")
    try:
        db = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = _tables(db)
        finally:
            db.close()
    except sqlite3.Error as e:
        raise StorageError(f"{what} {url!r}: cannot read {path}: {e}") from None
    if names and not STORE_TABLES <= names:
        raise StorageError(f"{what} {url!r}: {path} is another SQLite database, not a trial "
                           "store; give another path")
    return path


def open_storage(url: str | Store, *, readonly: bool = False) -> Store:
    """A store from a URL: ``memory:``, ``sqlite:///rel/path.db``, ``sqlite:////abs/path.db``,
    ``sqlite:///:memory:``. A Store instance is passed through. ``readonly`` (SQLite only)
    never creates or changes a file: for commands that list and report."""
    if isinstance(url, Store):
        return url
    path = check_storage_url(url)
    if path is None:
        return MemoryStore()
    return SQLiteStore(path, readonly=readonly)
