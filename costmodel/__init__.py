"""Learned cost model for MLIR programs: IR front end, features, measurement and models."""

__version__ = "0.1.0"


def load(path):
    """Load a trained cost model directory: ``costmodel.load("models/default").predict(...)``."""
    from costmodel.model import load as _load
    return _load(path)
