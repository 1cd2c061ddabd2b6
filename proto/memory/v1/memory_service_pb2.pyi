from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Hardware(_message.Message):
    __slots__ = ("preset", "capacity_bytes", "fast_bandwidth", "slow_bandwidth", "peak_flops", "slots", "prefetch_window", "capacity_fraction")
    PRESET_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_BYTES_FIELD_NUMBER: _ClassVar[int]
    FAST_BANDWIDTH_FIELD_NUMBER: _ClassVar[int]
    SLOW_BANDWIDTH_FIELD_NUMBER: _ClassVar[int]
    PEAK_FLOPS_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    PREFETCH_WINDOW_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FRACTION_FIELD_NUMBER: _ClassVar[int]
    preset: str
    capacity_bytes: int
    fast_bandwidth: float
    slow_bandwidth: float
    peak_flops: float
    slots: int
    prefetch_window: int
    capacity_fraction: float
    def __init__(self, preset: _Optional[str] = ..., capacity_bytes: _Optional[int] = ..., fast_bandwidth: _Optional[float] = ..., slow_bandwidth: _Optional[float] = ..., peak_flops: _Optional[float] = ..., slots: _Optional[int] = ..., prefetch_window: _Optional[int] = ..., capacity_fraction: _Optional[float] = ...) -> None: ...

class Buffer(_message.Message):
    __slots__ = ("name", "size", "start", "end", "kind", "prefetch", "evict")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PREFETCH_FIELD_NUMBER: _ClassVar[int]
    EVICT_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    start: int
    end: int
    kind: str
    prefetch: bool
    evict: bool
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., kind: _Optional[str] = ..., prefetch: _Optional[bool] = ..., evict: _Optional[bool] = ...) -> None: ...

class Access(_message.Message):
    __slots__ = ("op", "buffer", "bytes")
    OP_FIELD_NUMBER: _ClassVar[int]
    BUFFER_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    op: int
    buffer: int
    bytes: int
    def __init__(self, op: _Optional[int] = ..., buffer: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class Problem(_message.Message):
    __slots__ = ("name", "op_names", "flops", "buffers", "reads", "writes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OP_NAMES_FIELD_NUMBER: _ClassVar[int]
    FLOPS_FIELD_NUMBER: _ClassVar[int]
    BUFFERS_FIELD_NUMBER: _ClassVar[int]
    READS_FIELD_NUMBER: _ClassVar[int]
    WRITES_FIELD_NUMBER: _ClassVar[int]
    name: str
    op_names: _containers.RepeatedScalarFieldContainer[str]
    flops: _containers.RepeatedScalarFieldContainer[int]
    buffers: _containers.RepeatedCompositeFieldContainer[Buffer]
    reads: _containers.RepeatedCompositeFieldContainer[Access]
    writes: _containers.RepeatedCompositeFieldContainer[Access]
    def __init__(self, name: _Optional[str] = ..., op_names: _Optional[_Iterable[str]] = ..., flops: _Optional[_Iterable[int]] = ..., buffers: _Optional[_Iterable[_Union[Buffer, _Mapping]]] = ..., reads: _Optional[_Iterable[_Union[Access, _Mapping]]] = ..., writes: _Optional[_Iterable[_Union[Access, _Mapping]]] = ...) -> None: ...

class MapMemoryRequest(_message.Message):
    __slots__ = ("mlir", "onnx", "problem", "hardware", "agent", "ilp_time_limit_s")
    MLIR_FIELD_NUMBER: _ClassVar[int]
    ONNX_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    ILP_TIME_LIMIT_S_FIELD_NUMBER: _ClassVar[int]
    mlir: str
    onnx: bytes
    problem: Problem
    hardware: Hardware
    agent: str
    ilp_time_limit_s: float
    def __init__(self, mlir: _Optional[str] = ..., onnx: _Optional[bytes] = ..., problem: _Optional[_Union[Problem, _Mapping]] = ..., hardware: _Optional[_Union[Hardware, _Mapping]] = ..., agent: _Optional[str] = ..., ilp_time_limit_s: _Optional[float] = ...) -> None: ...

class BufferPlacement(_message.Message):
    __slots__ = ("name", "size", "start", "end", "kind", "fast", "offset_slot", "offset_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FAST_FIELD_NUMBER: _ClassVar[int]
    OFFSET_SLOT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    start: int
    end: int
    kind: str
    fast: bool
    offset_slot: int
    offset_bytes: int
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., kind: _Optional[str] = ..., fast: _Optional[bool] = ..., offset_slot: _Optional[int] = ..., offset_bytes: _Optional[int] = ...) -> None: ...

class MapMemoryResponse(_message.Message):
    __slots__ = ("agent", "buffers", "predicted_runtime_us", "allslow_runtime_us", "predicted_speedup", "hardware", "n_ops", "cpu_seconds")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    BUFFERS_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_RUNTIME_US_FIELD_NUMBER: _ClassVar[int]
    ALLSLOW_RUNTIME_US_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_SPEEDUP_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    N_OPS_FIELD_NUMBER: _ClassVar[int]
    CPU_SECONDS_FIELD_NUMBER: _ClassVar[int]
    agent: str
    buffers: _containers.RepeatedCompositeFieldContainer[BufferPlacement]
    predicted_runtime_us: float
    allslow_runtime_us: float
    predicted_speedup: float
    hardware: Hardware
    n_ops: int
    cpu_seconds: float
    def __init__(self, agent: _Optional[str] = ..., buffers: _Optional[_Iterable[_Union[BufferPlacement, _Mapping]]] = ..., predicted_runtime_us: _Optional[float] = ..., allslow_runtime_us: _Optional[float] = ..., predicted_speedup: _Optional[float] = ..., hardware: _Optional[_Union[Hardware, _Mapping]] = ..., n_ops: _Optional[int] = ..., cpu_seconds: _Optional[float] = ...) -> None: ...

class Observation(_message.Message):
    __slots__ = ("n_ops", "slots", "occupancy", "feature_names", "buffer_features", "current_buffer", "legal_actions", "step", "episode_length")
    N_OPS_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    OCCUPANCY_FIELD_NUMBER: _ClassVar[int]
    FEATURE_NAMES_FIELD_NUMBER: _ClassVar[int]
    BUFFER_FEATURES_FIELD_NUMBER: _ClassVar[int]
    CURRENT_BUFFER_FIELD_NUMBER: _ClassVar[int]
    LEGAL_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPISODE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    n_ops: int
    slots: int
    occupancy: bytes
    feature_names: _containers.RepeatedScalarFieldContainer[str]
    buffer_features: _containers.RepeatedScalarFieldContainer[float]
    current_buffer: int
    legal_actions: _containers.RepeatedScalarFieldContainer[bool]
    step: int
    episode_length: int
    def __init__(self, n_ops: _Optional[int] = ..., slots: _Optional[int] = ..., occupancy: _Optional[bytes] = ..., feature_names: _Optional[_Iterable[str]] = ..., buffer_features: _Optional[_Iterable[float]] = ..., current_buffer: _Optional[int] = ..., legal_actions: _Optional[_Iterable[bool]] = ..., step: _Optional[int] = ..., episode_length: _Optional[int] = ...) -> None: ...

class StartSessionRequest(_message.Message):
    __slots__ = ("mlir", "onnx", "problem", "hardware")
    MLIR_FIELD_NUMBER: _ClassVar[int]
    ONNX_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    HARDWARE_FIELD_NUMBER: _ClassVar[int]
    mlir: str
    onnx: bytes
    problem: Problem
    hardware: Hardware
    def __init__(self, mlir: _Optional[str] = ..., onnx: _Optional[bytes] = ..., problem: _Optional[_Union[Problem, _Mapping]] = ..., hardware: _Optional[_Union[Hardware, _Mapping]] = ...) -> None: ...

class StartSessionResponse(_message.Message):
    __slots__ = ("session_id", "observation", "n_actions", "slow_action", "allslow_runtime_us", "n_buffers")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    N_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    SLOW_ACTION_FIELD_NUMBER: _ClassVar[int]
    ALLSLOW_RUNTIME_US_FIELD_NUMBER: _ClassVar[int]
    N_BUFFERS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    observation: Observation
    n_actions: int
    slow_action: int
    allslow_runtime_us: float
    n_buffers: int
    def __init__(self, session_id: _Optional[str] = ..., observation: _Optional[_Union[Observation, _Mapping]] = ..., n_actions: _Optional[int] = ..., slow_action: _Optional[int] = ..., allslow_runtime_us: _Optional[float] = ..., n_buffers: _Optional[int] = ...) -> None: ...

class StepRequest(_message.Message):
    __slots__ = ("session_id", "action")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    action: int
    def __init__(self, session_id: _Optional[str] = ..., action: _Optional[int] = ...) -> None: ...

class StepResponse(_message.Message):
    __slots__ = ("observation", "reward", "done", "runtime_us")
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_US_FIELD_NUMBER: _ClassVar[int]
    observation: Observation
    reward: float
    done: bool
    runtime_us: float
    def __init__(self, observation: _Optional[_Union[Observation, _Mapping]] = ..., reward: _Optional[float] = ..., done: _Optional[bool] = ..., runtime_us: _Optional[float] = ...) -> None: ...

class EndSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class EndSessionResponse(_message.Message):
    __slots__ = ("offsets", "runtime_us", "allslow_runtime_us", "speedup", "steps")
    OFFSETS_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_US_FIELD_NUMBER: _ClassVar[int]
    ALLSLOW_RUNTIME_US_FIELD_NUMBER: _ClassVar[int]
    SPEEDUP_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    offsets: _containers.RepeatedScalarFieldContainer[int]
    runtime_us: float
    allslow_runtime_us: float
    speedup: float
    steps: int
    def __init__(self, offsets: _Optional[_Iterable[int]] = ..., runtime_us: _Optional[float] = ..., allslow_runtime_us: _Optional[float] = ..., speedup: _Optional[float] = ..., steps: _Optional[int] = ...) -> None: ...
