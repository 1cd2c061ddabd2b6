"""tuner.v1.ScheduleService: gRPC glue over tuner.schedules (tuning runs on the server)."""

from __future__ import annotations

import json
import logging
import queue
import threading
from pathlib import Path

import grpc
from google.protobuf import json_format, struct_pb2

from costmodel.errors import CostModelError, InputError
from proto.tuner.v1 import schedule_service_pb2 as pb
from proto.tuner.v1 import schedule_service_pb2_grpc as pb_grpc
from service.errors import handle_errors, request_id

log = logging.getLogger("service")
_MAX_BUDGET = 512


def _struct(d: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(d)
    return s


class ScheduleServicer(pb_grpc.ScheduleServiceServicer):
    def __init__(self, models_dir: str = "models", stable_model: str | None = None) -> None:
        self.default_model = stable_model or str(Path(models_dir) / "default")
        self.prior_dir = Path(models_dir) / "schedule-prior"
        self._models: dict[str, object] = {}
        self._priors: dict[str, object] = {}
        self._lock = threading.Lock()

    def _prior(self, model, path: str):
        """The shipped schedule prior when it was built with this cost model, else None."""
        from tuner.schedules.prior import PriorError, SchedulePrior
        if model is None or not (self.prior_dir / "manifest.json").exists():
            return None
        with self._lock:
            if path not in self._priors:
                try:
                    prior = SchedulePrior.load(self.prior_dir)
                    prior.check(model)
                except PriorError:
                    prior = None  # built for another cost model: rank with the model alone
                self._priors[path] = prior
            return self._priors[path]

    def _model(self, request: pb.TuneDispatchRequest):
        if request.no_cost_model:
            return None, ""
        path = request.cost_model or self.default_model
        with self._lock:
            if path not in self._models:
                import costmodel
                if not Path(path).exists():
                    raise InputError(f"cost model {path!r} not found (or set no_cost_model)")
                self._models[path] = costmodel.load(path)
            return self._models[path], path

    def TuneDispatch(self, request, context):
        rid = request_id(context)
        context.set_trailing_metadata((("x-request-id", rid),))
        from tuner.schedules.model_tune import tune_ir
        try:
            if not request.mlir.strip():
                raise InputError("mlir is empty")
            budget = request.budget or 16
            if not 1 <= budget <= _MAX_BUDGET:
                raise InputError(f"budget must be in [1, {_MAX_BUDGET}], got {budget}")
            model, model_path = self._model(request)
        except CostModelError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{exc} [request {rid}]")
        updates: queue.Queue = queue.Queue()
        done = object()
        box: dict = {}

        def on_trial(t, best) -> None:
            r = t.result
            updates.put(pb.TuneDispatchProgress(trial=pb.TrialUpdate(
                number=t.number, budget=budget, technique=t.technique, feasible=r.feasible,
                latency_s=r.latency_s or 0.0, error=r.error or "", best_latency_s=best,
                schedule_json=json.dumps(r.schedule))))

        def work() -> None:
            try:
                box["out"] = tune_ir(request.mlir, budget, cost_model=model,
                                     seed=request.seed, universe=request.universe or 1000,
                                     on_trial=on_trial, prior=self._prior(model, model_path))
            except BaseException as exc:  # noqa: BLE001 - reported to the caller below
                box["error"] = exc
            finally:
                updates.put(done)

        threading.Thread(target=work, daemon=True, name=f"tune-{rid}").start()
        while True:
            item = updates.get()
            if item is done:
                break
            if not context.is_active():
                log.info("request %s TuneDispatch: client went away", rid)
            yield item
        exc = box.get("error")
        if isinstance(exc, InputError):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{exc} [request {rid}]")
        if exc is not None:
            log.error("request %s TuneDispatch failed: %r", rid, exc)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error [request {rid}]")
        target, res = box["out"]
        yield pb.TuneDispatchProgress(result=pb.TuneDispatchResult(
            dispatch=target.name, compilation_info=res.best.to_attr(),
            schedule_json=json.dumps(res.best.to_dict()),
            default_latency_s=res.default_latency_s, best_latency_s=res.best_latency_s,
            speedup=res.speedup, trials=len(res.trials),
            infeasible_trials=sum(not t.result.feasible for t in res.trials),
            cost_model=model_path, root_op=target.root_op, root_index=target.root_index))

    @handle_errors
    def DispatchSpace(self, request, context):
        from tuner.schedules import analyze_dispatch, dispatch_space, params_of
        target = analyze_dispatch(request.mlir)
        return pb.DispatchSpaceResponse(
            dispatch=target.name, space=_struct(dispatch_space(target).to_dict()),
            default_params=_struct(params_of(target, target.default)), root_op=target.root_op,
            loop_ranges=list(target.loops.ranges), loop_iterators=list(target.loops.iterators))

    @handle_errors
    def CompilationInfo(self, request, context):
        from tuner.schedules import analyze_dispatch, dispatch_space, schedule_from_params
        target = analyze_dispatch(request.mlir)
        # Struct numbers are doubles: give integral ones back as ints (tile sizes).
        params = {k: int(v) if isinstance(v, float) and v.is_integer() else v
                  for k, v in json_format.MessageToDict(request.params).items()}
        params = dispatch_space(target).validate(params)  # SearchSpaceError -> INVALID_ARGUMENT
        sched = schedule_from_params(target, params)
        why = target.check(sched)
        return pb.CompilationInfoResponse(
            compilation_info=sched.to_attr(), invalid_reason=why or "",
            annotated_mlir="" if why else target.render(sched))


def register(server: grpc.Server, config) -> str:
    """Add ScheduleService; returns its full name (for reflection)."""
    pb_grpc.add_ScheduleServiceServicer_to_server(
        ScheduleServicer(getattr(config, "models", "models"), getattr(config, "stable_model", None)),
        server)
    return pb.DESCRIPTOR.services_by_name["ScheduleService"].full_name
