"""The learned cost model: features, training, evaluation, artifacts and the predictor.

>>> import costmodel
>>> model = costmodel.load("models/default")
>>> pred = model.predict(ir_text, schedules=[s.to_dict() for s in candidates])
>>> pred.best("latency")
"""

from costmodel.model.artifact import load, save, verify
from costmodel.model.errors import ArtifactError, ChecksumMismatchError, SchemaMismatchError
from costmodel.model.features import FEATURE_NAMES, FEATURE_SCHEMA, KernelFeatures
from costmodel.model.predictor import CostModel, Prediction

__all__ = ["FEATURE_NAMES", "FEATURE_SCHEMA", "ArtifactError", "ChecksumMismatchError",
           "CostModel", "KernelFeatures", "Prediction", "SchemaMismatchError", "load", "save",
           "verify"]
