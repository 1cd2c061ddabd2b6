"""Micro-batching: concurrent Predict calls share one model evaluation.

Each XGBoost call has a fixed cost far above the per-row cost, so rows from calls that
arrive together are stacked and evaluated at once. There is no batching thread and no
waiting window: the first caller to find the model idle becomes the leader and evaluates
everything queued, while callers arriving meanwhile queue up for the leader's next round.
A lone request is therefore evaluated on its own thread at once — a hand-off to another
thread costs up to a GIL switch interval (5 ms), far more than the evaluation.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

import numpy as np

from costmodel.model.predictor import CostModel, Prediction


def _slice(pred: Prediction, a: int, b: int) -> Prediction:
    return Prediction({t: v[a:b] for t, v in pred.values.items()},
                      {t: v[a:b] for t, v in pred.lower.items()},
                      {t: v[a:b] for t, v in pred.upper.items()},
                      {t: v[a:b] for t, v in pred.rank_cost.items()}, pred.coverage)


class Batcher:
    """Leader/follower batching of feature rows for one model."""

    def __init__(self, model: CostModel, *, max_rows: int = 8192) -> None:
        self.model = model
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._pending: list[tuple[np.ndarray, Future]] = []
        self._busy = False
        self.batches = 0  # evaluations run, for tests and stats
        self.rows = 0

    def predict(self, features: np.ndarray, timeout: float | None = None) -> Prediction:
        """Predictions for these raw feature rows (blocks until the batch is evaluated)."""
        fut: Future = Future()
        with self._lock:
            self._pending.append((features, fut))
            lead = not self._busy
            self._busy = True
        if lead:
            self._lead()
        return fut.result(timeout)

    def _take(self) -> list[tuple[np.ndarray, Future]]:
        with self._lock:
            if not self._pending:
                self._busy = False
                return []
            batch, rows = [], 0
            while self._pending and (not batch or rows + len(self._pending[0][0]) <= self.max_rows):
                item = self._pending.pop(0)
                batch.append(item)
                rows += len(item[0])
            return batch

    def _lead(self) -> None:
        # Keep evaluating until the queue is empty: followers are blocked on their futures.
        while batch := self._take():
            try:
                x = batch[0][0] if len(batch) == 1 else np.concatenate([f for f, _ in batch])
                pred = self.model.predict(features=x)
            except Exception as exc:  # noqa: BLE001 - delivered to every waiting caller
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            self.batches += 1
            self.rows += len(x)
            if len(batch) == 1:
                batch[0][1].set_result(pred)
                continue
            start = 0
            for f, fut in batch:
                fut.set_result(_slice(pred, start, start + len(f)))
                start += len(f)
