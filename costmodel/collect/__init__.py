"""Dataset collection: plan work, compile in parallel, time serially, journal every sample."""

from costmodel.collect.noise import noise_items, noise_report
from costmodel.collect.plan import WorkItem, real_model_items, synthetic_items
from costmodel.collect.run import CollectStats, collect

__all__ = ["CollectStats", "WorkItem", "collect", "noise_items", "noise_report",
           "real_model_items", "synthetic_items"]
