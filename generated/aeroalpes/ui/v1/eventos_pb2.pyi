import datetime

from aeroalpes.cdc.v1 import relay_pb2 as _relay_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TipoEvento(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIPO_EVENTO_UNSPECIFIED: _ClassVar[TipoEvento]
    TIPO_EVENTO_NOTIFICACION: _ClassVar[TipoEvento]
    TIPO_EVENTO_CDC: _ClassVar[TipoEvento]
TIPO_EVENTO_UNSPECIFIED: TipoEvento
TIPO_EVENTO_NOTIFICACION: TipoEvento
TIPO_EVENTO_CDC: TipoEvento

class Evento(_message.Message):
    __slots__ = ("id", "topico", "tipo", "tipo_evento", "fuente", "sujeto", "fecha", "datos_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    TOPICO_FIELD_NUMBER: _ClassVar[int]
    TIPO_FIELD_NUMBER: _ClassVar[int]
    TIPO_EVENTO_FIELD_NUMBER: _ClassVar[int]
    FUENTE_FIELD_NUMBER: _ClassVar[int]
    SUJETO_FIELD_NUMBER: _ClassVar[int]
    FECHA_FIELD_NUMBER: _ClassVar[int]
    DATOS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    topico: str
    tipo: TipoEvento
    tipo_evento: str
    fuente: str
    sujeto: str
    fecha: _timestamp_pb2.Timestamp
    datos_json: str
    def __init__(self, id: _Optional[str] = ..., topico: _Optional[str] = ..., tipo: _Optional[_Union[TipoEvento, str]] = ..., tipo_evento: _Optional[str] = ..., fuente: _Optional[str] = ..., sujeto: _Optional[str] = ..., fecha: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., datos_json: _Optional[str] = ...) -> None: ...

class SuscribirRequest(_message.Message):
    __slots__ = ("topicos",)
    TOPICOS_FIELD_NUMBER: _ClassVar[int]
    topicos: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, topicos: _Optional[_Iterable[str]] = ...) -> None: ...

class SuscribirResponse(_message.Message):
    __slots__ = ("evento", "latido", "relay")
    EVENTO_FIELD_NUMBER: _ClassVar[int]
    LATIDO_FIELD_NUMBER: _ClassVar[int]
    RELAY_FIELD_NUMBER: _ClassVar[int]
    evento: Evento
    latido: _timestamp_pb2.Timestamp
    relay: _relay_pb2.EstadoRelay
    def __init__(self, evento: _Optional[_Union[Evento, _Mapping]] = ..., latido: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., relay: _Optional[_Union[_relay_pb2.EstadoRelay, _Mapping]] = ...) -> None: ...
