"""Ask/tell studies over a search space, backed by a trial store.

    study = Study.create("mm-tiles", space, strategy="thompson", storage="sqlite:///t.db")
    trial = study.ask()                      # Trial(id, params, ...), stored before returned
    study.tell(trial.id, 1.7e-3, client_id="run-42")   # durable before it returns

A study's strategy chooses among arms: the grid of the space, or ``candidates`` random
configurations when the grid is too large (both derived from the stored config, so they
are the same after a restart). Loading a study replays its stored asks and tells, in
order, through a fresh strategy with the stored seed: the state after a restart or a
kill -9 is the state after the last acknowledged report.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuner.errors import InputError, StorageError, StrategyError, TrialStateError
from tuner.space import Space, Value, arms_of
from tuner.store import MeasurementRecord, Store, StudyRecord, TrialRecord, open_storage
from tuner.strategies import STRATEGIES, Context, Pull, Strategy, make_strategy

CONFIG_VERSION = 1
_CONFIG_KEYS = ("version", "space", "strategy", "options", "seed", "direction", "candidates")


@dataclass(frozen=True)
class Trial:
    id: int
    number: int
    params: dict[str, Value]
    arm: int
    context: Any = None
    budget: float | None = None
    group: int | None = None
    prob: float = 1.0
    value: float | None = None
    censored: bool = False
    client_id: str | None = None

    @property
    def complete(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Report:
    trial_id: int
    value: float
    censored: bool
    new: bool          # False when this was a repeat of a stored report (idempotent retry)


def _trial(rec: TrialRecord, m: MeasurementRecord | None = None) -> Trial:
    return Trial(rec.id, rec.number, rec.params, rec.arm, rec.context, rec.budget, rec.group,
                 rec.prob, None if m is None else m.value, False if m is None else m.censored,
                 rec.client_id)


def _json_context(context: Context) -> Any:
    if context is None:
        return None
    if isinstance(context, (int, float)) and not isinstance(context, bool):
        return float(context)
    try:
        return [float(c) for c in context]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(f"context must be a number or a list of numbers, got {context!r}") from None


class Study:
    def __init__(self, store: Store, record: StudyRecord) -> None:
        cfg = record.config if isinstance(record.config, dict) else {}
        if "version" in cfg and cfg["version"] != CONFIG_VERSION:
            raise InputError(f"study {record.name!r} has config version {cfg.get('version')}, "
                             f"this tuner reads version {CONFIG_VERSION}")
        missing = [k for k in _CONFIG_KEYS if k not in cfg]
        if missing:  # a store edited by hand, or written by another program
            raise StorageError(f"study {record.name!r}: its stored config lacks "
                               f"{', '.join(missing)}; it is not a study this tuner wrote")
        self.store, self.record, self.name = store, record, record.name
        self.space = Space.from_dict(cfg["space"])
        self.arms = arms_of(self.space, candidates=cfg["candidates"], seed=cfg["seed"])
        self.direction = cfg["direction"]
        self._lock = threading.RLock()
        self._replay()

    # --- construction -----------------------------------------------------------------

    @classmethod
    def create(cls, name: str, space: Space | Mapping[str, Any], *, strategy: str = "thompson",
               options: Mapping[str, Any] | None = None, seed: int = 0,
               storage: str | Store = "memory:", direction: str = "minimize",
               candidates: int = 64, load_if_exists: bool = True) -> Study:
        if not isinstance(name, str) or not name:
            raise InputError("a study needs a non-empty name")
        if direction not in ("minimize", "maximize"):
            raise InputError(f"direction is 'minimize' or 'maximize', got {direction!r}")
        if strategy not in STRATEGIES:
            raise StrategyError(f"unknown strategy {strategy!r}; one of {', '.join(sorted(STRATEGIES))}")
        space = space if isinstance(space, Space) else Space.from_dict(space)
        config = {"version": CONFIG_VERSION, "space": space.to_dict(), "strategy": strategy,
                  "options": dict(options or {}), "seed": int(seed), "direction": direction,
                  "candidates": int(candidates)}
        # Fail on bad options now, not at the first ask.
        make_strategy(strategy, len(arms_of(space, candidates=candidates, seed=seed)), seed=seed,
                      **config["options"])
        store = open_storage(storage)
        record, created = store.get_or_create_study(name, config)
        if not created:
            if not load_if_exists:
                raise InputError(f"study {name!r} already exists in {store.url}")
            if record.config != _roundtrip(config):
                raise InputError(f"study {name!r} exists in {store.url} with a different configuration")
        return cls(store, record)

    @classmethod
    def load(cls, name: str, storage: str | Store) -> Study:
        store = open_storage(storage)
        return cls(store, store.get_study(name))

    def _replay(self) -> None:
        cfg = self.record.config
        self.strategy: Strategy = make_strategy(cfg["strategy"], len(self.arms), seed=cfg["seed"],
                                                **cfg["options"])
        self._pulls: dict[int, Pull] = {}
        diverged = 0
        # A tune-model dispatch study records a search run elsewhere (its trials are not
        # the strategy's asks), so there is nothing to compare the replay with.
        record_only = cfg.get("kind") == "dispatch"
        for t, m in self.store.events(self.record.id):
            if m is None:
                pull = self.strategy.ask(t.context)
                stored = Pull(t.arm, t.prob, t.budget, t.group)
                diverged += pull != stored and not record_only
                self._pulls[t.id] = stored
            else:
                self.strategy.tell(self._pulls[t.id], self._loss(m.value), censored=m.censored,
                                   context=t.context)
        if diverged:
            warnings.warn(f"study {self.name!r}: {diverged} replayed asks differ from the stored "
                          "trials (strategy code changed?); using the stored trials", stacklevel=3)

    # --- ask / tell ---------------------------------------------------------------------

    def _loss(self, value: float) -> float:
        return value if self.direction == "minimize" else -value

    def ask(self, context: Context = None, *, client_id: str | None = None) -> Trial:
        """Suggest the next trial. With ``client_id``, a retried ask returns the same trial."""
        context = _json_context(context)
        with self._lock:
            if client_id is not None:
                old = self.store.trial_by_client_id(self.record.id, client_id)
                if old is not None:
                    return _trial(old, self.store.measurements(self.record.id).get(old.id))
            pull = self.strategy.ask(context)
            # Plain Python scalars only reach the store (numpy ints would become blobs).
            pull = Pull(int(pull.arm), float(pull.prob),
                        None if pull.budget is None else float(pull.budget),
                        None if pull.group is None else int(pull.group))
            try:
                rec = self.store.add_trial(self.record.id, TrialRecord(
                    0, self.record.id, 0, pull.arm, self.arms[pull.arm], context, pull.prob,
                    pull.budget, pull.group, client_id))
            except BaseException:
                self._replay()   # the strategy advanced but nothing was stored: roll back
                raise
            self._pulls[rec.id] = pull
            return _trial(rec)

    def tell(self, trial_id: int, value: float, *, censored: bool = False,
             client_id: str | None = None) -> Report:
        """Report a trial's value. Stored durably before the strategy learns it and before
        this returns; repeating a report (same client id, or same trial and value) is a
        no-op that returns the stored report; a different value for a reported trial
        raises TrialStateError."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"value must be a number, got {value!r}") from None
        if not math.isfinite(value):
            raise InputError(f"value must be finite, got {value}")
        with self._lock:
            trial = self.store.get_trial(self.record.id, int(trial_id))
            self.strategy.check_loss(self._loss(value))
            m, new = self.store.add_measurement(self.record.id, MeasurementRecord(
                trial.id, value, bool(censored), client_id))
            if new:
                self.strategy.tell(self._pulls[trial.id], self._loss(value), censored=m.censored,
                                   context=trial.context)
            elif (m.value, m.censored) != (value, bool(censored)):
                raise TrialStateError(f"client id {client_id!r} already reported {m.value} for trial {m.trial_id}")
            return Report(m.trial_id, m.value, m.censored, new)

    # --- inspection ---------------------------------------------------------------------

    def trials(self) -> list[Trial]:
        meas = self.store.measurements(self.record.id)
        return [_trial(t, meas.get(t.id)) for t, m in self.store.events(self.record.id) if m is None]

    def best(self) -> Trial | None:
        """The best uncensored completed trial."""
        done = [t for t in self.trials() if t.complete and not t.censored]
        if not done:
            return None
        return min(done, key=lambda t: self._loss(t.value))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"Study({self.name!r}, strategy={self.record.config['strategy']!r}, store={self.store.url!r})"


def _roundtrip(config: dict[str, Any]) -> dict[str, Any]:
    import json
    return json.loads(json.dumps(config, sort_keys=True))
