"""Kernel-schedule tuning of real dispatches for IREE's llvm-cpu backend.

* ``costmodel.programs.dispatch_target`` / ``dispatch_space`` (re-exported here): a
  dispatch's root op, loop nest and IREE's default schedule; valid candidates per dispatch;
* ``space``: the same candidates as a ``tuner.Space``;
* ``measure``: compile + time one schedule (infeasible compiles are trials too);
* ``search``: model-guided / evolutionary / random searchers, the AUC bandit, the guard;
* ``spec``: transform-dialect tuning spec and annotated executable sources;
* ``model_tune``: ``tuner tune-model``; ``pool`` / ``bench``: ``tuner bench schedules``;
* ``record``: studies in a tuner store.
"""

from costmodel.programs.dispatch_target import (DispatchError, DispatchTarget, analyze_dispatch,
                                                 schedule_sticks)
from tuner.schedules.search import AUCBandit, TuneResult, tune
from tuner.schedules.space import DispatchSpace, dispatch_space, params_of, schedule_from_params
from tuner.schedules.spec import annotate_executables, tuning_spec

__all__ = ["AUCBandit", "DispatchError", "DispatchSpace", "DispatchTarget", "TuneResult",
           "analyze_dispatch", "annotate_executables", "dispatch_space", "params_of",
           "schedule_from_params", "schedule_sticks", "tune", "tuning_spec"]
