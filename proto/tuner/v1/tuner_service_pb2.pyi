from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateStudyRequest(_message.Message):
    __slots__ = ("name", "space", "strategy", "options", "seed", "direction")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPACE_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    space: _struct_pb2.Struct
    strategy: str
    options: _struct_pb2.Struct
    seed: int
    direction: str
    def __init__(self, name: _Optional[str] = ..., space: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., strategy: _Optional[str] = ..., options: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., seed: _Optional[int] = ..., direction: _Optional[str] = ...) -> None: ...

class Study(_message.Message):
    __slots__ = ("name", "strategy", "direction", "space", "ended")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    SPACE_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    name: str
    strategy: str
    direction: str
    space: _struct_pb2.Struct
    ended: bool
    def __init__(self, name: _Optional[str] = ..., strategy: _Optional[str] = ..., direction: _Optional[str] = ..., space: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., ended: _Optional[bool] = ...) -> None: ...

class SuggestRequest(_message.Message):
    __slots__ = ("study", "context", "client_id")
    STUDY_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    study: str
    context: _struct_pb2.Value
    client_id: str
    def __init__(self, study: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., client_id: _Optional[str] = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ("id", "number", "params", "value", "censored", "client_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CENSORED_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    number: int
    params: _struct_pb2.Struct
    value: float
    censored: bool
    client_id: str
    def __init__(self, id: _Optional[int] = ..., number: _Optional[int] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., value: _Optional[float] = ..., censored: _Optional[bool] = ..., client_id: _Optional[str] = ...) -> None: ...

class ReportRequest(_message.Message):
    __slots__ = ("study", "trial_id", "value", "censored", "client_id")
    STUDY_FIELD_NUMBER: _ClassVar[int]
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CENSORED_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    study: str
    trial_id: int
    value: float
    censored: bool
    client_id: str
    def __init__(self, study: _Optional[str] = ..., trial_id: _Optional[int] = ..., value: _Optional[float] = ..., censored: _Optional[bool] = ..., client_id: _Optional[str] = ...) -> None: ...

class ReportResponse(_message.Message):
    __slots__ = ("trial_id", "value", "censored", "new")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CENSORED_FIELD_NUMBER: _ClassVar[int]
    NEW_FIELD_NUMBER: _ClassVar[int]
    trial_id: int
    value: float
    censored: bool
    new: bool
    def __init__(self, trial_id: _Optional[int] = ..., value: _Optional[float] = ..., censored: _Optional[bool] = ..., new: _Optional[bool] = ...) -> None: ...

class GetBestRequest(_message.Message):
    __slots__ = ("study",)
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: str
    def __init__(self, study: _Optional[str] = ...) -> None: ...

class ListTrialsRequest(_message.Message):
    __slots__ = ("study",)
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: str
    def __init__(self, study: _Optional[str] = ...) -> None: ...

class ListTrialsResponse(_message.Message):
    __slots__ = ("trials",)
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    trials: _containers.RepeatedCompositeFieldContainer[Trial]
    def __init__(self, trials: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ...) -> None: ...

class EndStudyRequest(_message.Message):
    __slots__ = ("study",)
    STUDY_FIELD_NUMBER: _ClassVar[int]
    study: str
    def __init__(self, study: _Optional[str] = ...) -> None: ...

class SuggestSolverParametersRequest(_message.Message):
    __slots__ = ("tuner", "context", "client_id", "sor_tolerance", "sor_unknowns")
    TUNER_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOR_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    SOR_UNKNOWNS_FIELD_NUMBER: _ClassVar[int]
    tuner: str
    context: float
    client_id: str
    sor_tolerance: float
    sor_unknowns: int
    def __init__(self, tuner: _Optional[str] = ..., context: _Optional[float] = ..., client_id: _Optional[str] = ..., sor_tolerance: _Optional[float] = ..., sor_unknowns: _Optional[int] = ...) -> None: ...

class SuggestSolverParametersResponse(_message.Message):
    __slots__ = ("omega", "token")
    OMEGA_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    omega: float
    token: str
    def __init__(self, omega: _Optional[float] = ..., token: _Optional[str] = ...) -> None: ...

class ReportSolverOutcomeRequest(_message.Message):
    __slots__ = ("tuner", "token", "iterations", "censored", "client_id")
    TUNER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    CENSORED_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    tuner: str
    token: str
    iterations: int
    censored: bool
    client_id: str
    def __init__(self, tuner: _Optional[str] = ..., token: _Optional[str] = ..., iterations: _Optional[int] = ..., censored: _Optional[bool] = ..., client_id: _Optional[str] = ...) -> None: ...

class ReportSolverOutcomeResponse(_message.Message):
    __slots__ = ("new", "censored")
    NEW_FIELD_NUMBER: _ClassVar[int]
    CENSORED_FIELD_NUMBER: _ClassVar[int]
    new: bool
    censored: bool
    def __init__(self, new: _Optional[bool] = ..., censored: _Optional[bool] = ...) -> None: ...
