"""Tuning strategies and studies built on the cost model.

In process:

    from tuner import Study, Space, Int, PowerOfTwo
    study = Study.create("tiles", Space([PowerOfTwo("tm", 8, 256), Int("unroll", 1, 8)]),
                         strategy="thompson", storage="sqlite:///tuning.db")
    trial = study.ask()
    study.tell(trial.id, seconds, client_id="run-1")
"""

from tuner.space import Categorical, Float, Int, LogInt, PowerOfTwo, Space
from tuner.strategies import STRATEGIES, Pull, Strategy, make_strategy
from tuner.study import Report, Study, Trial

__all__ = ["Categorical", "Float", "Int", "LogInt", "PowerOfTwo", "Space", "STRATEGIES", "Pull",
           "Strategy", "make_strategy", "Report", "Study", "Trial"]
