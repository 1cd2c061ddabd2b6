"""tuner.v1.TunerService: thin glue over tuner.Study and tuner.solver.SolverTuner."""

from __future__ import annotations

import sqlite3
import threading

import grpc
from google.protobuf import json_format, struct_pb2

from proto.tuner.v1 import tuner_service_pb2 as pb
from proto.tuner.v1 import tuner_service_pb2_grpc as pb_grpc
from service.errors import StatusError, handle_errors
from tuner.solver.instances import OMEGAS
from tuner.solver.tuner import ORDERED_TSALLIS, SolverTuner, sor_tsallis
from tuner.store import SQLiteStore, Store, open_storage
from tuner.study import Study, Trial

#: Context range assumed for contextual solver tuners (e.g. a diffusion coefficient).
SOLVER_CONTEXT_RANGE = (0.0, 10.0)


class _Ended:
    """Which studies were ended; persisted beside the studies when the store is SQLite."""

    def __init__(self, store: Store) -> None:
        self._names: set[str] = set()
        self._db = None
        if isinstance(store, SQLiteStore):
            self._db = sqlite3.connect(store.path, check_same_thread=False, isolation_level=None)
            self._db.execute("CREATE TABLE IF NOT EXISTS ended_studies (name TEXT PRIMARY KEY)")
            self._names = {n for (n,) in self._db.execute("SELECT name FROM ended_studies")}

    def add(self, name: str) -> None:
        if self._db is not None:
            self._db.execute("INSERT OR IGNORE INTO ended_studies VALUES (?)", (name,))
        self._names.add(name)

    def __contains__(self, name: str) -> bool:
        return name in self._names


def _struct(d: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(d)
    return s


def _trial_msg(t: Trial) -> pb.Trial:
    msg = pb.Trial(id=t.id, number=t.number, params=_struct(t.params), censored=t.censored,
                   client_id=t.client_id or "")
    if t.value is not None:
        msg.value = t.value
    return msg


class TunerServicer(pb_grpc.TunerServiceServicer):
    def __init__(self, storage: str = "memory:") -> None:
        self.store = open_storage(storage)
        self.ended = _Ended(self.store)
        self._studies: dict[str, Study] = {}
        self._solvers: dict[str, SolverTuner] = {}
        self._lock = threading.Lock()

    def _study(self, name: str, context: grpc.ServicerContext, *, live: bool = False) -> Study:
        if not name:
            raise StatusError(grpc.StatusCode.INVALID_ARGUMENT, "study name is empty")
        with self._lock:
            study = self._studies.get(name)
            if study is None:
                study = self._studies[name] = Study.load(name, self.store)
        if live and name in self.ended:
            raise StatusError(grpc.StatusCode.FAILED_PRECONDITION, f"study {name!r} has ended")
        return study

    def _study_msg(self, study: Study) -> pb.Study:
        cfg = study.record.config
        return pb.Study(name=study.name, strategy=cfg["strategy"], direction=cfg["direction"],
                        space=_struct(cfg["space"]), ended=study.name in self.ended)

    @handle_errors
    def CreateStudy(self, request: pb.CreateStudyRequest, context) -> pb.Study:
        study = Study.create(
            request.name, json_format.MessageToDict(request.space),
            strategy=request.strategy or "thompson",
            options=json_format.MessageToDict(request.options), seed=request.seed,
            storage=self.store, direction=request.direction or "minimize")
        with self._lock:
            self._studies.setdefault(study.name, study)
        return self._study_msg(self._studies[study.name])

    @handle_errors
    def Suggest(self, request: pb.SuggestRequest, context) -> pb.Trial:
        study = self._study(request.study, context, live=True)
        ctx = json_format.MessageToDict(request.context) if request.HasField("context") else None
        return _trial_msg(study.ask(ctx, client_id=request.client_id or None))

    @handle_errors
    def Report(self, request: pb.ReportRequest, context) -> pb.ReportResponse:
        study = self._study(request.study, context)
        rep = study.tell(request.trial_id, request.value, censored=request.censored,
                         client_id=request.client_id or None)
        return pb.ReportResponse(trial_id=rep.trial_id, value=rep.value, censored=rep.censored,
                                 new=rep.new)

    @handle_errors
    def GetBest(self, request: pb.GetBestRequest, context) -> pb.Trial:
        best = self._study(request.study, context).best()
        if best is None:
            raise StatusError(grpc.StatusCode.NOT_FOUND, f"study {request.study!r} has no "
                              "completed uncensored trial yet")
        return _trial_msg(best)

    @handle_errors
    def ListTrials(self, request: pb.ListTrialsRequest, context) -> pb.ListTrialsResponse:
        trials = self._study(request.study, context).trials()
        return pb.ListTrialsResponse(trials=[_trial_msg(t) for t in trials])

    @handle_errors
    def EndStudy(self, request: pb.EndStudyRequest, context) -> pb.Study:
        study = self._study(request.study, context)
        self.ended.add(study.name)
        return self._study_msg(study)

    def _solver(self, name: str, contextual: bool, sor: tuple[float, int] | None = None
                ) -> SolverTuner:
        name = f"solver:{name or 'solver'}"
        with self._lock:
            tuner = self._solvers.get(name)
            if tuner is None:
                # Contextual loops get ChebCB; SOR loops that describe their solve Tsallis-INF
                # with Young side observations; the rest Tsallis-INF smoothed over the ordered
                # omegas: what the solver benchmark supports (tuner bench solver). A loop
                # already in the store resumes as it was created.
                options = None if contextual else (
                    sor_tsallis(OMEGAS, *sor) if sor else ORDERED_TSALLIS)
                tuner = self._solvers[name] = SolverTuner(
                    self.store, name=name, strategy="chebcb" if contextual else "tsallis_inf",
                    options=options,
                    context_range=SOLVER_CONTEXT_RANGE if contextual else None,
                    adopt_existing=True)
            return tuner

    @handle_errors
    def SuggestSolverParameters(self, request: pb.SuggestSolverParametersRequest, context
                                ) -> pb.SuggestSolverParametersResponse:
        has_ctx = request.HasField("context")
        tuner = self._solver(request.tuner, has_ctx, _sor_solve(request))
        omega, token = tuner.suggest(request.context if has_ctx else None,
                                     client_id=request.client_id or None)
        return pb.SuggestSolverParametersResponse(omega=omega, token=token)

    @handle_errors
    def ReportSolverOutcome(self, request: pb.ReportSolverOutcomeRequest, context
                            ) -> pb.ReportSolverOutcomeResponse:
        name = f"solver:{request.tuner or 'solver'}"
        with self._lock:
            tuner = self._solvers.get(name)
        if tuner is None:
            raise StatusError(grpc.StatusCode.NOT_FOUND, f"no solver tuner {request.tuner!r} "
                              "has suggested anything yet")
        rep = tuner.report(request.token, request.iterations,
                           censored=request.censored if request.HasField("censored") else None,
                           client_id=request.client_id or None)
        return pb.ReportSolverOutcomeResponse(new=rep.new, censored=rep.censored)


def _sor_solve(request: pb.SuggestSolverParametersRequest) -> tuple[float, int] | None:
    """(tolerance, unknowns) of an SOR loop that gives both, else None."""
    tol, n = request.HasField("sor_tolerance"), request.HasField("sor_unknowns")
    if not tol and not n:
        return None
    if not (tol and n):
        raise StatusError(grpc.StatusCode.INVALID_ARGUMENT,
                          "give both sor_tolerance and sor_unknowns, or neither")
    if not 0.0 < request.sor_tolerance < 1.0 or request.sor_unknowns < 1:
        raise StatusError(grpc.StatusCode.INVALID_ARGUMENT,
                          f"sor_tolerance must lie in (0, 1) and sor_unknowns be >= 1, got "
                          f"{request.sor_tolerance!r} and {request.sor_unknowns!r}")
    return float(request.sor_tolerance), int(request.sor_unknowns)
