"""Programs for the cost model: kernel-family generators, the schedule space, real models.

>>> import numpy as np
>>> from costmodel.programs import FAMILIES, sample_schedules, check_schedule, quick_compile
>>> fam = FAMILIES["matmul"]
>>> shape = fam.sample_shape(np.random.default_rng(0))        # {"M": .., "N": .., "K": ..}
>>> for s in sample_schedules(fam, shape, np.random.default_rng(1), 8):  # defaults first
...     text = fam.render(shape, s)                          # compilation_info on the root
...     res = quick_compile(text, fam.compile_flags(s))     # res.ok / res.error

Real models: ``REAL_MODELS[name]()`` gives ONNX bytes; ``real_model_dispatches(name)``
gives one standalone benchmark module per dispatch (see ``dispatches.py``).
"""

from __future__ import annotations

from costmodel.programs.compile import (
    CompileCheck, TargetInfo, quick_compile, configured_root, executable_configurations,
    schedule_applied, target_info,
)
from costmodel.programs.constraints import check_schedule, check_tiles, vector_shape
from costmodel.programs.dispatches import Dispatch, dump_dispatches, real_model_dispatches
from costmodel.programs.families import FAMILIES, Family, LoopInfo, group_id
from costmodel.programs.onnx_models import REAL_MODELS
from costmodel.programs.schedule import LEVELS, PIPELINES, Schedule
from costmodel.programs.space import default_schedules, sample_schedule, sample_schedules

__all__ = [
    "FAMILIES", "LEVELS", "PIPELINES", "REAL_MODELS", "CompileCheck", "Dispatch", "Family",
    "LoopInfo", "Schedule", "TargetInfo", "check_schedule", "check_tiles", "quick_compile",
    "configured_root", "default_schedules", "dump_dispatches", "executable_configurations",
    "group_id", "real_model_dispatches", "sample_schedule", "sample_schedules",
    "schedule_applied", "target_info", "vector_shape",
]
