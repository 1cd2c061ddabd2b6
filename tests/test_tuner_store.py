"""Studies and the trial store: durability across kill -9, idempotent reports, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tuner.errors import InputError, StorageError, StudyNotFoundError, TrialNotFoundError, TrialStateError
from tuner.solver.tuner import SolverTuner
from tuner.space import Int, PowerOfTwo, Space
from tuner.store import MemoryStore, SQLiteStore, open_storage
from tuner.study import Study

ROOT = Path(__file__).resolve().parent.parent
SPACE = Space([PowerOfTwo("tile", 1, 64), Int("unroll", 1, 4)], ["tile * unroll <= 128"])


def _value(params) -> float:
    return abs(params["tile"] - 16) + 0.5 * params["unroll"]


@pytest.fixture(params=["memory", "sqlite"])
def storage(request, tmp_path):
    return "memory:" if request.param == "memory" else f"sqlite:///{tmp_path}/t.db"


def test_ask_tell_finds_the_optimum(storage):
    study = Study.create("s", SPACE, strategy="thompson", storage=storage)
    for i in range(150):
        t = study.ask()
        assert SPACE.validate(t.params) == t.params
        study.tell(t.id, _value(t.params))
    assert study.best().params == {"tile": 16, "unroll": 1}


def test_reports_are_idempotent(storage):
    study = Study.create("s", SPACE, strategy="tsallis_inf", storage=storage)
    t = study.ask(client_id="ask-1")
    assert study.ask(client_id="ask-1").id == t.id          # a retried ask: same trial
    r1 = study.tell(t.id, 3.0, client_id="rep-1")
    told = study.strategy.n_told
    r2 = study.tell(t.id, 3.0, client_id="rep-1")           # a retried report
    r3 = study.tell(t.id, 3.0)                              # same value, no client id
    assert r1.new and not r2.new and not r3.new
    assert study.strategy.n_told == told                    # learned once
    with pytest.raises(TrialStateError, match="already reported"):
        study.tell(t.id, 4.0)
    with pytest.raises(TrialStateError):
        study.tell(t.id, 4.0, client_id="rep-1")
    t2 = study.ask()
    with pytest.raises(TrialStateError, match="was used for trial"):
        study.tell(t2.id, 1.0, client_id="rep-1")
    with pytest.raises(TrialNotFoundError):
        study.tell(99999, 1.0)
    with pytest.raises(InputError, match="finite"):
        study.tell(t2.id, float("nan"))
    assert len([x for x in study.trials() if x.complete]) == 1


def test_resume_replays_to_the_same_state(tmp_path):
    url = f"sqlite:///{tmp_path}/t.db"
    for name in ("tsallis_inf", "successive_halving", "ac_band", "chebcb"):
        opts = {"context_range": [0, 1]} if name == "chebcb" else {}
        study = Study.create(name, SPACE, strategy=name, options=opts, storage=url, seed=7)
        pending = []
        for i in range(60):
            t = study.ask(context=(i % 10) / 10)
            if i % 7 == 3:
                pending.append(t)                           # left outstanding
            else:
                study.tell(t.id, _value(t.params) + 1)
        again = Study.load(name, url)
        assert [again.ask(context=0.5).arm for _ in range(20)] == \
               [study.ask(context=0.5).arm for _ in range(20)], name
        assert len(again.trials()) == len(study.trials())


def test_existing_study_with_other_config_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/t.db"
    Study.create("s", SPACE, strategy="ucb1", storage=url)
    Study.create("s", SPACE, strategy="ucb1", storage=url)        # same config: loads
    with pytest.raises(InputError, match="different configuration"):
        Study.create("s", SPACE, strategy="exp3", storage=url)
    with pytest.raises(StudyNotFoundError):
        Study.load("other", url)


def test_storage_urls(tmp_path):
    assert isinstance(open_storage("memory:"), MemoryStore)
    assert isinstance(open_storage(f"sqlite:///{tmp_path}/a/b.db"), SQLiteStore)
    assert isinstance(open_storage("sqlite:///:memory:"), SQLiteStore)
    for bad in ("postgres://x", "sqlite:///", "/tmp/x.db"):
        with pytest.raises(StorageError):
            open_storage(bad)
    db = SQLiteStore(tmp_path / "w.db")
    assert db._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db._db.execute("PRAGMA synchronous").fetchone()[0] == 2      # FULL


_CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from tuner.solver.tuner import SolverTuner
    tuner = SolverTuner({url!r}, strategy="chebcb", context_range=(0.0, 1.0))
    i = 0
    while True:
        c = (i * 37 % 100) / 100
        omega, token = tuner.suggest(c, client_id=f"ask-{{i}}")
        tuner.report(token, int(100 + 300 * abs(omega - 1.5 - 0.3 * c)), client_id=f"rep-{{i}}")
        print(f"ACK rep-{{i}}", flush=True)     # printed only after report() returned
        i += 1
""")


def test_acknowledged_reports_survive_kill_9(tmp_path):
    url = f"sqlite:///{tmp_path}/solver.db"
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(root=str(ROOT), url=url)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked = []
    try:
        for line in child.stdout:
            acked.append(line.split()[1])
            if len(acked) == 40:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)         # mid-loop: possibly inside a write
        child.wait(timeout=10)
    assert len(acked) == 40, child.stderr.read()
    tuner = SolverTuner(url, strategy="chebcb", context_range=(0.0, 1.0))
    stored = {m.client_id for m in tuner.study.store.measurements(tuner.study.record.id).values()}
    assert set(acked) <= stored
    # The study resumes: retried reports are recognised, new work continues.
    last = acked[-1]
    n = len(stored)
    omega, token = tuner.suggest(0.5)
    tuner.report(token, 150)
    assert len(tuner.study.store.measurements(tuner.study.record.id)) == n + 1
    assert last in stored


def test_solver_tuner_tokens(tmp_path):
    tuner = SolverTuner(f"sqlite:///{tmp_path}/s.db", strategy="tsallis_inf")
    omega, token = tuner.suggest()
    assert 1.0 <= omega <= 1.95
    assert tuner.report(token, 10_000).censored            # the cap counts as censored
    with pytest.raises(TrialNotFoundError, match="malformed"):
        tuner.report("not-a-token", 5)
