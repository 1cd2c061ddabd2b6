from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TuneDispatchRequest(_message.Message):
    __slots__ = ("mlir", "budget", "seed", "cost_model", "no_cost_model", "universe")
    MLIR_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    COST_MODEL_FIELD_NUMBER: _ClassVar[int]
    NO_COST_MODEL_FIELD_NUMBER: _ClassVar[int]
    UNIVERSE_FIELD_NUMBER: _ClassVar[int]
    mlir: str
    budget: int
    seed: int
    cost_model: str
    no_cost_model: bool
    universe: int
    def __init__(self, mlir: _Optional[str] = ..., budget: _Optional[int] = ..., seed: _Optional[int] = ..., cost_model: _Optional[str] = ..., no_cost_model: _Optional[bool] = ..., universe: _Optional[int] = ...) -> None: ...

class TrialUpdate(_message.Message):
    __slots__ = ("number", "budget", "technique", "feasible", "latency_s", "error", "best_latency_s", "schedule_json")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    TECHNIQUE_FIELD_NUMBER: _ClassVar[int]
    FEASIBLE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    BEST_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_JSON_FIELD_NUMBER: _ClassVar[int]
    number: int
    budget: int
    technique: str
    feasible: bool
    latency_s: float
    error: str
    best_latency_s: float
    schedule_json: str
    def __init__(self, number: _Optional[int] = ..., budget: _Optional[int] = ..., technique: _Optional[str] = ..., feasible: _Optional[bool] = ..., latency_s: _Optional[float] = ..., error: _Optional[str] = ..., best_latency_s: _Optional[float] = ..., schedule_json: _Optional[str] = ...) -> None: ...

class TuneDispatchResult(_message.Message):
    __slots__ = ("dispatch", "compilation_info", "schedule_json", "default_latency_s", "best_latency_s", "speedup", "trials", "infeasible_trials", "cost_model", "root_op", "root_index")
    DISPATCH_FIELD_NUMBER: _ClassVar[int]
    COMPILATION_INFO_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_JSON_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    BEST_LATENCY_S_FIELD_NUMBER: _ClassVar[int]
    SPEEDUP_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    INFEASIBLE_TRIALS_FIELD_NUMBER: _ClassVar[int]
    COST_MODEL_FIELD_NUMBER: _ClassVar[int]
    ROOT_OP_FIELD_NUMBER: _ClassVar[int]
    ROOT_INDEX_FIELD_NUMBER: _ClassVar[int]
    dispatch: str
    compilation_info: str
    schedule_json: str
    default_latency_s: float
    best_latency_s: float
    speedup: float
    trials: int
    infeasible_trials: int
    cost_model: str
    root_op: str
    root_index: int
    def __init__(self, dispatch: _Optional[str] = ..., compilation_info: _Optional[str] = ..., schedule_json: _Optional[str] = ..., default_latency_s: _Optional[float] = ..., best_latency_s: _Optional[float] = ..., speedup: _Optional[float] = ..., trials: _Optional[int] = ..., infeasible_trials: _Optional[int] = ..., cost_model: _Optional[str] = ..., root_op: _Optional[str] = ..., root_index: _Optional[int] = ...) -> None: ...

class TuneDispatchProgress(_message.Message):
    __slots__ = ("trial", "result")
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    trial: TrialUpdate
    result: TuneDispatchResult
    def __init__(self, trial: _Optional[_Union[TrialUpdate, _Mapping]] = ..., result: _Optional[_Union[TuneDispatchResult, _Mapping]] = ...) -> None: ...

class DispatchSpaceRequest(_message.Message):
    __slots__ = ("mlir",)
    MLIR_FIELD_NUMBER: _ClassVar[int]
    mlir: str
    def __init__(self, mlir: _Optional[str] = ...) -> None: ...

class DispatchSpaceResponse(_message.Message):
    __slots__ = ("dispatch", "space", "default_params", "root_op", "loop_ranges", "loop_iterators")
    DISPATCH_FIELD_NUMBER: _ClassVar[int]
    SPACE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_PARAMS_FIELD_NUMBER: _ClassVar[int]
    ROOT_OP_FIELD_NUMBER: _ClassVar[int]
    LOOP_RANGES_FIELD_NUMBER: _ClassVar[int]
    LOOP_ITERATORS_FIELD_NUMBER: _ClassVar[int]
    dispatch: str
    space: _struct_pb2.Struct
    default_params: _struct_pb2.Struct
    root_op: str
    loop_ranges: _containers.RepeatedScalarFieldContainer[int]
    loop_iterators: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, dispatch: _Optional[str] = ..., space: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., default_params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., root_op: _Optional[str] = ..., loop_ranges: _Optional[_Iterable[int]] = ..., loop_iterators: _Optional[_Iterable[str]] = ...) -> None: ...

class CompilationInfoRequest(_message.Message):
    __slots__ = ("mlir", "params")
    MLIR_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    mlir: str
    params: _struct_pb2.Struct
    def __init__(self, mlir: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CompilationInfoResponse(_message.Message):
    __slots__ = ("compilation_info", "annotated_mlir", "invalid_reason")
    COMPILATION_INFO_FIELD_NUMBER: _ClassVar[int]
    ANNOTATED_MLIR_FIELD_NUMBER: _ClassVar[int]
    INVALID_REASON_FIELD_NUMBER: _ClassVar[int]
    compilation_info: str
    annotated_mlir: str
    invalid_reason: str
    def __init__(self, compilation_info: _Optional[str] = ..., annotated_mlir: _Optional[str] = ..., invalid_reason: _Optional[str] = ...) -> None: ...
