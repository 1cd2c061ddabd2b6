"""costmodel.v1.CostModelService."""

from __future__ import annotations

import grpc

from costmodel.errors import InputError
from costmodel.ir import analyze_text, onnx_to_linalg, tokenize
from proto.costmodel.v1 import costmodel_service_pb2 as pb
from proto.costmodel.v1 import costmodel_service_pb2_grpc as pb_grpc
from service.convert import features_to_proto
from service.errors import handle_errors


class CostModelServicer(pb_grpc.CostModelServiceServicer):
    @handle_errors
    def Analyze(self, request: pb.AnalyzeRequest, context: grpc.ServicerContext
                ) -> pb.AnalyzeResponse:
        filename = request.filename or "<request>"
        source = request.WhichOneof("source")
        if source == "onnx":
            text = onnx_to_linalg(request.onnx, filename=filename)
        elif source == "mlir":
            text = request.mlir
        else:
            raise InputError("AnalyzeRequest needs `mlir` or `onnx`")
        feats = analyze_text(text, filename=filename).to_dict()
        tokens = tokenize(text) if request.include_tokens else None
        return features_to_proto(feats, include_ops=request.include_ops, tokens=tokens)
