"""Learned cost model for MLIR programs: IR front end, features, measurement and models."""

__version__ = "0.1.0"


def load(path):
    """Load a trained cost model directory: ``costmodel.load("models/default").predict(...)``.

    A path that is not a str / os.PathLike, or is empty, is an ``InputError``; a directory
    that is not a usable model is an ``ArtifactError`` (both ``CostModelError``s)."""
    if isinstance(path, str) and not path.strip():
        from costmodel.errors import InputError
        raise InputError("load() takes a model directory path, got an empty string")
    from costmodel.model import load as _load
    return _load(path)
