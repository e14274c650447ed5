import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ObtenerEstadoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ObtenerEstadoResponse(_message.Message):
    __slots__ = ("estado",)
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    estado: EstadoRelay
    def __init__(self, estado: _Optional[_Union[EstadoRelay, _Mapping]] = ...) -> None: ...

class EstadoRelay(_message.Message):
    __slots__ = ("sirviendo", "modo", "retraso", "motivo", "publicados", "fecha")
    SIRVIENDO_FIELD_NUMBER: _ClassVar[int]
    MODO_FIELD_NUMBER: _ClassVar[int]
    RETRASO_FIELD_NUMBER: _ClassVar[int]
    MOTIVO_FIELD_NUMBER: _ClassVar[int]
    PUBLICADOS_FIELD_NUMBER: _ClassVar[int]
    FECHA_FIELD_NUMBER: _ClassVar[int]
    sirviendo: bool
    modo: str
    retraso: _duration_pb2.Duration
    motivo: str
    publicados: int
    fecha: _timestamp_pb2.Timestamp
    def __init__(self, sirviendo: _Optional[bool] = ..., modo: _Optional[str] = ..., retraso: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., motivo: _Optional[str] = ..., publicados: _Optional[int] = ..., fecha: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
