"""A LocalCluster shaped like a real measurement cluster (tests, benchmarks, one-box use)."""

from __future__ import annotations

from costmodel.distributed.scheduler import TIMING_RESOURCE


def local_cluster(n_workers: int = 2, *, memory_limit: str = "2GiB", **kwargs):
    """Process workers with one thread and one ``timing_core`` each, no dashboard.

    Mirrors ``dask worker --nthreads 1 --resources timing_core=1`` on a real cluster.
    """
    from distributed import LocalCluster

    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                        memory_limit=memory_limit, resources={TIMING_RESOURCE: 1},
                        dashboard_address=None, scheduler_port=0, **kwargs)
