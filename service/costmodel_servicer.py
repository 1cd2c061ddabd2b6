"""costmodel.v1.CostModelService."""

from __future__ import annotations

import grpc

from costmodel.errors import InputError
from costmodel.ir import analyze_text, onnx_to_linalg, tokenize
from costmodel.programs.schedule import FLAGS
from proto.costmodel.v1 import costmodel_service_pb2 as pb
from proto.costmodel.v1 import costmodel_service_pb2_grpc as pb_grpc
from service.convert import features_to_proto
from service.errors import StatusError, handle_errors
from service.models import ModelRegistry, ir_key


def schedule_from_proto(msg: pb.Schedule) -> dict:
    """costmodel.v1.Schedule -> the Schedule.to_dict() form the model reads. Flags it does
    not know are passed on as ``flags.NAME`` keys, which the model's schedule check
    rejects (INVALID_ARGUMENT) instead of ignoring a misspelled flag."""
    d = {"pipeline": msg.pipeline or None,
         "levels": {lv.name: list(lv.sizes) for lv in msg.levels},
         "peeling": msg.flags.get("peeling", False),
         "data_tiling": msg.flags.get("data_tiling", False),
         "ukernels": msg.flags.get("ukernels", False)}
    d.update((f"flags.{k}", v) for k, v in msg.flags.items() if k not in FLAGS)
    return d


def source_text(request: pb.AnalyzeRequest | pb.PredictRequest) -> tuple[str, str]:
    """(MLIR text, filename for messages) of a request carrying `mlir` or `onnx`."""
    filename = request.filename or "<request>"
    source = request.WhichOneof("source")
    if source == "onnx":
        return onnx_to_linalg(request.onnx, filename=filename), filename
    if source == "mlir":
        return request.mlir, filename
    raise InputError(f"{type(request).__name__} needs `mlir` or `onnx`")


def _check_deadline(context: grpc.ServicerContext | None) -> None:
    """Stop work the caller has given up on: past its deadline, or cancelled."""
    if context is None:
        return
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise StatusError(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
    if not context.is_active():
        raise StatusError(grpc.StatusCode.CANCELLED, "cancelled by the client")


class CostModelServicer(pb_grpc.CostModelServiceServicer):
    def __init__(self, registry: ModelRegistry | None = None) -> None:
        self.registry = registry or ModelRegistry()

    def _predict(self, request: pb.PredictRequest,
                 context: grpc.ServicerContext | None = None) -> pb.PredictResponse:
        text, _ = source_text(request)
        name, model = self.registry.get(request.model)
        unknown = [t for t in request.targets if t not in model.targets]
        if unknown:
            raise InputError(f"model {name} predicts {', '.join(model.targets)}; "
                             f"not {', '.join(unknown)}")
        ir_hash = ir_key(text)
        # A model object per load: a reload never serves a stale cached prediction.
        cache_key = (name, id(model), ir_hash, tuple(request.targets),
                     tuple(s.SerializeToString(deterministic=True) for s in request.schedules))
        cached = self.registry.cached_prediction(cache_key)
        if cached is not None:
            return cached
        _check_deadline(context)
        kernel = self.registry.kernel(model, text, ir_hash)
        _check_deadline(context)
        schedules = [schedule_from_proto(s) for s in request.schedules] or [{}]
        pred = self.registry.batcher(name, model).predict(model.features(kernel, schedules))
        resp = pb.PredictResponse(model=name, coverage=pred.coverage)
        targets = list(request.targets) or list(pred.values)
        for i in range(len(pred)):
            resp.candidates.add().targets.extend(
                pb.TargetPrediction(target=t, value=float(pred.values[t][i]),
                                    lower=float(pred.lower[t][i]), upper=float(pred.upper[t][i]),
                                    rank_cost=float(pred.rank_cost[t][i])) for t in targets)
        self.registry.store_prediction(cache_key, resp)
        return resp

    @handle_errors
    def Predict(self, request: pb.PredictRequest, context: grpc.ServicerContext
                ) -> pb.PredictResponse:
        return self._predict(request, context)

    def PredictStream(self, request_iterator, context: grpc.ServicerContext):
        for request in request_iterator:
            yield self._predict_one(request, context)

    @handle_errors
    def _predict_one(self, request: pb.PredictRequest, context: grpc.ServicerContext
                     ) -> pb.PredictResponse:
        return self._predict(request, context)

    @handle_errors
    def ListModels(self, request: pb.ListModelsRequest, context: grpc.ServicerContext
                   ) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=[pb.ModelInfo(**self.registry.info(n))
                                             for n in self.registry.names()])

    @handle_errors
    def GetModel(self, request: pb.GetModelRequest, context: grpc.ServicerContext
                 ) -> pb.ModelInfo:
        return pb.ModelInfo(**self.registry.info(self.registry.resolve(request.model)))

    @handle_errors
    def ReloadModel(self, request: pb.ReloadModelRequest, context: grpc.ServicerContext
                    ) -> pb.ModelInfo:
        return pb.ModelInfo(**self.registry.info(self.registry.reload(request.model)))

    @handle_errors
    def Analyze(self, request: pb.AnalyzeRequest, context: grpc.ServicerContext
                ) -> pb.AnalyzeResponse:
        text, filename = source_text(request)
        feats = analyze_text(text, filename=filename).to_dict()
        tokens = tokenize(text) if request.include_tokens else None
        return features_to_proto(feats, include_ops=request.include_ops, tokens=tokens)
