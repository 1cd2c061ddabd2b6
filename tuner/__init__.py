"""Tuning strategies and studies built on the cost model."""
