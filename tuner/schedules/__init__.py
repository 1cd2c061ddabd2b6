"""Kernel-schedule tuning of real dispatches for IREE's llvm-cpu backend.

* ``dispatch``: a dispatch's root op, loop nest and IREE's default schedule;
* ``space``: valid candidates per dispatch and the equivalent ``tuner.Space``;
* ``measure``: compile + time one schedule (infeasible compiles are trials too);
* ``search``: model-guided / evolutionary / random searchers, the AUC bandit, the guard;
* ``spec``: transform-dialect tuning spec and annotated executable sources;
* ``model_tune``: ``tuner tune-model``; ``pool`` / ``bench``: ``tuner bench schedules``;
* ``record``: studies in a tuner store.
"""

from tuner.schedules.dispatch import DispatchError, DispatchTarget, analyze_dispatch, schedule_sticks
from tuner.schedules.search import AUCBandit, TuneResult, tune
from tuner.schedules.space import DispatchSpace, dispatch_space, params_of, schedule_from_params
from tuner.schedules.spec import annotate_executables, tuning_spec

__all__ = ["AUCBandit", "DispatchError", "DispatchSpace", "DispatchTarget", "TuneResult",
           "analyze_dispatch", "annotate_executables", "dispatch_space", "params_of",
           "schedule_from_params", "schedule_sticks", "tune", "tuning_spec"]
