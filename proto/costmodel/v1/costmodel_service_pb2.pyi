from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PredictRequest(_message.Message):
    __slots__ = ("mlir", "onnx", "filename", "schedules", "targets", "model")
    MLIR_FIELD_NUMBER: _ClassVar[int]
    ONNX_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    mlir: str
    onnx: bytes
    filename: str
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    targets: _containers.RepeatedScalarFieldContainer[str]
    model: str
    def __init__(self, mlir: _Optional[str] = ..., onnx: _Optional[bytes] = ..., filename: _Optional[str] = ..., schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ..., targets: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ...) -> None: ...

class TargetPrediction(_message.Message):
    __slots__ = ("target", "value", "lower", "upper", "rank_cost")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    RANK_COST_FIELD_NUMBER: _ClassVar[int]
    target: str
    value: float
    lower: float
    upper: float
    rank_cost: float
    def __init__(self, target: _Optional[str] = ..., value: _Optional[float] = ..., lower: _Optional[float] = ..., upper: _Optional[float] = ..., rank_cost: _Optional[float] = ...) -> None: ...

class CandidatePrediction(_message.Message):
    __slots__ = ("targets",)
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[TargetPrediction]
    def __init__(self, targets: _Optional[_Iterable[_Union[TargetPrediction, _Mapping]]] = ...) -> None: ...

class PredictResponse(_message.Message):
    __slots__ = ("candidates", "model", "coverage")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[CandidatePrediction]
    model: str
    coverage: float
    def __init__(self, candidates: _Optional[_Iterable[_Union[CandidatePrediction, _Mapping]]] = ..., model: _Optional[str] = ..., coverage: _Optional[float] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class ReloadModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "labels", "feature_schema", "targets", "training_data_hash")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    TRAINING_DATA_HASH_FIELD_NUMBER: _ClassVar[int]
    name: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    feature_schema: str
    targets: _containers.RepeatedScalarFieldContainer[str]
    training_data_hash: str
    def __init__(self, name: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., feature_schema: _Optional[str] = ..., targets: _Optional[_Iterable[str]] = ..., training_data_hash: _Optional[str] = ...) -> None: ...

class AnalyzeRequest(_message.Message):
    __slots__ = ("mlir", "onnx", "filename", "include_ops", "include_tokens")
    MLIR_FIELD_NUMBER: _ClassVar[int]
    ONNX_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OPS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    mlir: str
    onnx: bytes
    filename: str
    include_ops: bool
    include_tokens: bool
    def __init__(self, mlir: _Optional[str] = ..., onnx: _Optional[bytes] = ..., filename: _Optional[str] = ..., include_ops: _Optional[bool] = ..., include_tokens: _Optional[bool] = ...) -> None: ...

class AnalyzeResponse(_message.Message):
    __slots__ = ("schema_version", "total", "ops", "edges", "tokens")
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    OPS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    total: ProgramTotals
    ops: _containers.RepeatedCompositeFieldContainer[OpFeatures]
    edges: _containers.RepeatedCompositeFieldContainer[Edge]
    tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, schema_version: _Optional[int] = ..., total: _Optional[_Union[ProgramTotals, _Mapping]] = ..., ops: _Optional[_Iterable[_Union[OpFeatures, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ..., tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class ProgramTotals(_message.Message):
    __slots__ = ("flops", "bytes", "bytes_read", "bytes_written", "intensity", "weighted_intensity", "n_ops", "n_structured_ops", "n_edges", "max_region_depth", "max_loop_depth", "n_parallel_loops", "n_reduction_loops", "n_transcendental", "n_scheduled_ops", "fully_static", "families", "dialects")
    class FamiliesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class DialectsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    FLOPS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_INTENSITY_FIELD_NUMBER: _ClassVar[int]
    N_OPS_FIELD_NUMBER: _ClassVar[int]
    N_STRUCTURED_OPS_FIELD_NUMBER: _ClassVar[int]
    N_EDGES_FIELD_NUMBER: _ClassVar[int]
    MAX_REGION_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_LOOP_DEPTH_FIELD_NUMBER: _ClassVar[int]
    N_PARALLEL_LOOPS_FIELD_NUMBER: _ClassVar[int]
    N_REDUCTION_LOOPS_FIELD_NUMBER: _ClassVar[int]
    N_TRANSCENDENTAL_FIELD_NUMBER: _ClassVar[int]
    N_SCHEDULED_OPS_FIELD_NUMBER: _ClassVar[int]
    FULLY_STATIC_FIELD_NUMBER: _ClassVar[int]
    FAMILIES_FIELD_NUMBER: _ClassVar[int]
    DIALECTS_FIELD_NUMBER: _ClassVar[int]
    flops: int
    bytes: int
    bytes_read: int
    bytes_written: int
    intensity: float
    weighted_intensity: float
    n_ops: int
    n_structured_ops: int
    n_edges: int
    max_region_depth: int
    max_loop_depth: int
    n_parallel_loops: int
    n_reduction_loops: int
    n_transcendental: int
    n_scheduled_ops: int
    fully_static: bool
    families: _containers.ScalarMap[str, int]
    dialects: _containers.ScalarMap[str, int]
    def __init__(self, flops: _Optional[int] = ..., bytes: _Optional[int] = ..., bytes_read: _Optional[int] = ..., bytes_written: _Optional[int] = ..., intensity: _Optional[float] = ..., weighted_intensity: _Optional[float] = ..., n_ops: _Optional[int] = ..., n_structured_ops: _Optional[int] = ..., n_edges: _Optional[int] = ..., max_region_depth: _Optional[int] = ..., max_loop_depth: _Optional[int] = ..., n_parallel_loops: _Optional[int] = ..., n_reduction_loops: _Optional[int] = ..., n_transcendental: _Optional[int] = ..., n_scheduled_ops: _Optional[int] = ..., fully_static: _Optional[bool] = ..., families: _Optional[_Mapping[str, int]] = ..., dialects: _Optional[_Mapping[str, int]] = ...) -> None: ...

class LoopNest(_message.Message):
    __slots__ = ("ranges", "iterator_types", "indexing_maps", "n_parallel", "n_reduction", "innermost_extent")
    RANGES_FIELD_NUMBER: _ClassVar[int]
    ITERATOR_TYPES_FIELD_NUMBER: _ClassVar[int]
    INDEXING_MAPS_FIELD_NUMBER: _ClassVar[int]
    N_PARALLEL_FIELD_NUMBER: _ClassVar[int]
    N_REDUCTION_FIELD_NUMBER: _ClassVar[int]
    INNERMOST_EXTENT_FIELD_NUMBER: _ClassVar[int]
    ranges: _containers.RepeatedScalarFieldContainer[int]
    iterator_types: _containers.RepeatedScalarFieldContainer[str]
    indexing_maps: _containers.RepeatedScalarFieldContainer[str]
    n_parallel: int
    n_reduction: int
    innermost_extent: int
    def __init__(self, ranges: _Optional[_Iterable[int]] = ..., iterator_types: _Optional[_Iterable[str]] = ..., indexing_maps: _Optional[_Iterable[str]] = ..., n_parallel: _Optional[int] = ..., n_reduction: _Optional[int] = ..., innermost_extent: _Optional[int] = ...) -> None: ...

class TileLevel(_message.Message):
    __slots__ = ("name", "sizes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZES_FIELD_NUMBER: _ClassVar[int]
    name: str
    sizes: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., sizes: _Optional[_Iterable[int]] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("levels", "pipeline", "flags")
    class FlagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    levels: _containers.RepeatedCompositeFieldContainer[TileLevel]
    pipeline: str
    flags: _containers.ScalarMap[str, bool]
    def __init__(self, levels: _Optional[_Iterable[_Union[TileLevel, _Mapping]]] = ..., pipeline: _Optional[str] = ..., flags: _Optional[_Mapping[str, bool]] = ...) -> None: ...

class OpFeatures(_message.Message):
    __slots__ = ("index", "name", "dialect", "family", "parent", "depth", "multiplier", "operand_types", "result_types", "element_type", "flops", "bytes_read", "bytes_written", "intensity", "weighted_intensity", "fully_static", "loops", "payload", "trip_count", "schedule")
    class PayloadEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    OPERAND_TYPES_FIELD_NUMBER: _ClassVar[int]
    RESULT_TYPES_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FLOPS_FIELD_NUMBER: _ClassVar[int]
    BYTES_READ_FIELD_NUMBER: _ClassVar[int]
    BYTES_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_INTENSITY_FIELD_NUMBER: _ClassVar[int]
    FULLY_STATIC_FIELD_NUMBER: _ClassVar[int]
    LOOPS_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TRIP_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    index: int
    name: str
    dialect: str
    family: str
    parent: int
    depth: int
    multiplier: int
    operand_types: _containers.RepeatedScalarFieldContainer[str]
    result_types: _containers.RepeatedScalarFieldContainer[str]
    element_type: str
    flops: int
    bytes_read: int
    bytes_written: int
    intensity: float
    weighted_intensity: float
    fully_static: bool
    loops: LoopNest
    payload: _containers.ScalarMap[str, int]
    trip_count: int
    schedule: Schedule
    def __init__(self, index: _Optional[int] = ..., name: _Optional[str] = ..., dialect: _Optional[str] = ..., family: _Optional[str] = ..., parent: _Optional[int] = ..., depth: _Optional[int] = ..., multiplier: _Optional[int] = ..., operand_types: _Optional[_Iterable[str]] = ..., result_types: _Optional[_Iterable[str]] = ..., element_type: _Optional[str] = ..., flops: _Optional[int] = ..., bytes_read: _Optional[int] = ..., bytes_written: _Optional[int] = ..., intensity: _Optional[float] = ..., weighted_intensity: _Optional[float] = ..., fully_static: _Optional[bool] = ..., loops: _Optional[_Union[LoopNest, _Mapping]] = ..., payload: _Optional[_Mapping[str, int]] = ..., trip_count: _Optional[int] = ..., schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class Edge(_message.Message):
    __slots__ = ("producer", "consumer")
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    producer: int
    consumer: int
    def __init__(self, producer: _Optional[int] = ..., consumer: _Optional[int] = ...) -> None: ...
