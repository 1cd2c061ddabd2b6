"""Run collection, tuning benches and training on a Dask cluster (local when none is given).

``--scheduler tcp://HOST:8786`` or ``COSTMODEL_SCHEDULER`` selects a cluster; without one
every command runs locally exactly as before. Dask is imported only when a cluster is used.

* :func:`resolve_scheduler` / :func:`executor_for`: pick local or Dask from a flag or the env.
* :class:`Executor` (``LocalExecutor`` / ``DaskExecutor``): ``map_unordered(fn, items)``
  yields each result as it finishes, tagged with the worker and its hardware fingerprint;
  ``timing=True`` tasks take the worker's one ``timing_core`` resource, and
  ``hardware_id=`` keeps them on workers of one hardware fingerprint.
* :func:`measure_items`: compile and time WorkItems on an executor (collection, tune-model).
"""

from costmodel.distributed.executor import (DaskExecutor, Done, Executor, LocalExecutor,
                                            executor_for)
from costmodel.distributed.measure import MeasureResult, measure_items, measure_one
from costmodel.distributed.scheduler import (ENV_VAR, TIMING_RESOURCE, SchedulerError,
                                             resolve_scheduler)

__all__ = ["ENV_VAR", "TIMING_RESOURCE", "DaskExecutor", "Done", "Executor", "LocalExecutor",
           "MeasureResult", "SchedulerError", "executor_for", "measure_items", "measure_one",
           "resolve_scheduler"]
