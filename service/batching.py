"""Micro-batching: concurrent Predict calls share one model evaluation.

Each XGBoost call has a fixed cost far above the per-row cost, so rows from calls that
arrive together are stacked and evaluated at once. A request waits at most ``max_wait_s``
for company; a lone request is evaluated as soon as the worker is free.
"""

from __future__ import annotations

import queue
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
    """One worker thread evaluating stacked feature rows for one model."""

    def __init__(self, model: CostModel, *, max_rows: int = 8192, max_wait_s: float = 0.0005
                 ) -> None:
        self.model = model
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[tuple[np.ndarray, Future]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="predict-batcher", daemon=True)
        self._thread.start()

    def predict(self, features: np.ndarray, timeout: float | None = None) -> Prediction:
        """Predictions for these raw feature rows (blocks until the batch is evaluated)."""
        fut: Future = Future()
        self._queue.put((features, fut))
        return fut.result(timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            rows = len(batch[0][0])
            while rows < self.max_rows:
                try:
                    item = self._queue.get(timeout=self.max_wait_s)
                except queue.Empty:
                    break
                batch.append(item)
                rows += len(item[0])
            try:
                pred = self.model.predict(features=np.concatenate([x for x, _ in batch]))
            except Exception as exc:  # noqa: BLE001 - delivered to every waiting caller
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            start = 0
            for x, fut in batch:
                fut.set_result(_slice(pred, start, start + len(x)))
                start += len(x)
