"""SolverTuner: the solver-loop facade over a Study (the gRPC pair is thin glue on it).

    tuner = SolverTuner(strategy="chebcb", context_range=(-0.15, 0.45))
    omega, token = tuner.suggest(context=c_t)
    tuner.report(token, iterations=k, censored=k >= cap)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tuner.errors import StudyNotFoundError, TrialNotFoundError
from tuner.space import Categorical, Space
from tuner.solver.instances import OMEGAS
from tuner.store import Store, open_storage
from tuner.strategies import STRATEGIES, Context
from tuner.study import Report, Study


#: Tsallis-INF for an ordered grid of omegas: neighbouring omegas share plays (see
#: TsallisINF's ``smoothing``; `tuner bench solver` runs it as ``tsallis_inf_smooth``).
ORDERED_TSALLIS: dict[str, float] = {"smoothing": 3.0, "lr": 1.5}


def sor_tsallis(omegas: Sequence[float], tol: float, unknowns: int) -> dict[str, Any]:
    """Tsallis-INF options for SOR loops: every report also estimates what the other omegas
    would have cost on the same system (Young's theory, tuner.solver.young), so the rate can
    be that of full information (lr 2; `tuner bench solver` runs it as ``tsallis_inf_sor``).
    Valid for SOR on consistently ordered matrices (5-point/7-point stencils in natural or
    red-black order, tridiagonal systems, with any diagonal shift); ``tol`` is the solve's
    relative-residual tolerance and ``unknowns`` the system's size."""
    return {"lr": 2.0, "side_model": {"kind": "sor", "omegas": [float(w) for w in omegas],
                                      "tol": float(tol), "unknowns": int(unknowns)}}


def tidy(omega: float) -> float:
    """The shortest decimal within a few ulps of ``omega``: the default grid is a linspace, so
    a solver would otherwise be handed 1.7999999999999998 for 1.8. Any other value is kept."""
    short = float(f"{omega:.12g}")
    return short if abs(short - omega) <= 4 * math.ulp(omega) else omega


class SolverTuner:
    def __init__(self, storage: str | Store = "memory:", *, name: str = "solver",
                 strategy: str = "tsallis_inf", options: Mapping[str, Any] | None = None,
                 omegas: Sequence[float] = OMEGAS, context_range: Sequence[float] | None = None,
                 seed: int = 0, max_iterations: int = 10_000, adopt_existing: bool = False) -> None:
        """``adopt_existing``: a study already stored under ``name`` resumes with the
        configuration it was created with, whatever this call asks for (the service: a loop
        started before a default changed keeps its strategy)."""
        self.max_iterations = int(max_iterations)
        if adopt_existing:
            storage = open_storage(storage)   # one store for the lookup and the create
            try:
                self.study = Study.load(name, storage)
                return
            except StudyNotFoundError:
                pass
        opts = dict(options or {})
        if context_range is not None and STRATEGIES.get(strategy) is not None \
                and STRATEGIES[strategy].contextual:
            opts.setdefault("context_range", [float(v) for v in context_range])
        space = Space([Categorical("omega", tuple(float(w) for w in omegas))])
        self.study = Study.create(name, space, strategy=strategy, options=opts, seed=seed,
                                  storage=storage)

    def suggest(self, context: Context = None, *, client_id: str | None = None) -> tuple[float, str]:
        """The relaxation parameter for the next solve, and the token to report it with."""
        t = self.study.ask(context, client_id=client_id)
        return tidy(float(t.params["omega"])), str(t.id)

    def report(self, token: str, iterations: int, *, censored: bool | None = None,
               client_id: str | None = None) -> Report:
        """Report the iteration count; hitting ``max_iterations`` counts as censored."""
        try:
            trial_id = int(token)
        except (TypeError, ValueError):
            raise TrialNotFoundError(f"malformed solver token {token!r}") from None
        if censored is None:
            censored = iterations >= self.max_iterations
        return self.study.tell(trial_id, iterations, censored=censored, client_id=client_id)
