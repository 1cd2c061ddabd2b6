"""Learned cost model for MLIR programs: IR front end, features, measurement and models."""

__version__ = "0.1.0"
