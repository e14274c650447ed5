import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Notificacion(_message.Message):
    __slots__ = ("id", "id_evento", "tipo_evento", "id_cliente", "id_reserva", "email", "asunto", "cuerpo", "fecha_creacion")
    ID_FIELD_NUMBER: _ClassVar[int]
    ID_EVENTO_FIELD_NUMBER: _ClassVar[int]
    TIPO_EVENTO_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ASUNTO_FIELD_NUMBER: _ClassVar[int]
    CUERPO_FIELD_NUMBER: _ClassVar[int]
    FECHA_CREACION_FIELD_NUMBER: _ClassVar[int]
    id: str
    id_evento: str
    tipo_evento: str
    id_cliente: str
    id_reserva: str
    email: str
    asunto: str
    cuerpo: str
    fecha_creacion: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., id_evento: _Optional[str] = ..., tipo_evento: _Optional[str] = ..., id_cliente: _Optional[str] = ..., id_reserva: _Optional[str] = ..., email: _Optional[str] = ..., asunto: _Optional[str] = ..., cuerpo: _Optional[str] = ..., fecha_creacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListarNotificacionesRequest(_message.Message):
    __slots__ = ("id_cliente", "id_reserva", "page_size", "page_token")
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id_cliente: str
    id_reserva: str
    page_size: int
    page_token: str
    def __init__(self, id_cliente: _Optional[str] = ..., id_reserva: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListarNotificacionesResponse(_message.Message):
    __slots__ = ("notificaciones", "next_page_token")
    NOTIFICACIONES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    notificaciones: _containers.RepeatedCompositeFieldContainer[Notificacion]
    next_page_token: str
    def __init__(self, notificaciones: _Optional[_Iterable[_Union[Notificacion, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
