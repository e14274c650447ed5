import datetime

from aeroalpes.reservas.v1 import reserva_pb2 as _reserva_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EstadoConfirmacion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTADO_CONFIRMACION_UNSPECIFIED: _ClassVar[EstadoConfirmacion]
    ESTADO_CONFIRMACION_CONFIRMADA: _ClassVar[EstadoConfirmacion]
    ESTADO_CONFIRMACION_ANULADA: _ClassVar[EstadoConfirmacion]
ESTADO_CONFIRMACION_UNSPECIFIED: EstadoConfirmacion
ESTADO_CONFIRMACION_CONFIRMADA: EstadoConfirmacion
ESTADO_CONFIRMACION_ANULADA: EstadoConfirmacion

class Confirmacion(_message.Message):
    __slots__ = ("id", "id_reserva", "codigo_localizador", "estado", "fecha_creacion", "fecha_actualizacion")
    ID_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    CODIGO_LOCALIZADOR_FIELD_NUMBER: _ClassVar[int]
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    FECHA_CREACION_FIELD_NUMBER: _ClassVar[int]
    FECHA_ACTUALIZACION_FIELD_NUMBER: _ClassVar[int]
    id: str
    id_reserva: str
    codigo_localizador: str
    estado: EstadoConfirmacion
    fecha_creacion: _timestamp_pb2.Timestamp
    fecha_actualizacion: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., id_reserva: _Optional[str] = ..., codigo_localizador: _Optional[str] = ..., estado: _Optional[_Union[EstadoConfirmacion, str]] = ..., fecha_creacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fecha_actualizacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConfirmarReservaRequest(_message.Message):
    __slots__ = ("id_reserva", "itinerarios", "idempotency_key")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ITINERARIOS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    itinerarios: _containers.RepeatedCompositeFieldContainer[_reserva_pb2.Itinerario]
    idempotency_key: str
    def __init__(self, id_reserva: _Optional[str] = ..., itinerarios: _Optional[_Iterable[_Union[_reserva_pb2.Itinerario, _Mapping]]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ConfirmarReservaResponse(_message.Message):
    __slots__ = ("confirmacion",)
    CONFIRMACION_FIELD_NUMBER: _ClassVar[int]
    confirmacion: Confirmacion
    def __init__(self, confirmacion: _Optional[_Union[Confirmacion, _Mapping]] = ...) -> None: ...

class RevertirConfirmacionRequest(_message.Message):
    __slots__ = ("id_reserva", "idempotency_key")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    idempotency_key: str
    def __init__(self, id_reserva: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RevertirConfirmacionResponse(_message.Message):
    __slots__ = ("confirmacion",)
    CONFIRMACION_FIELD_NUMBER: _ClassVar[int]
    confirmacion: Confirmacion
    def __init__(self, confirmacion: _Optional[_Union[Confirmacion, _Mapping]] = ...) -> None: ...

class ObtenerConfirmacionRequest(_message.Message):
    __slots__ = ("id_reserva",)
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    def __init__(self, id_reserva: _Optional[str] = ...) -> None: ...

class ObtenerConfirmacionResponse(_message.Message):
    __slots__ = ("confirmacion",)
    CONFIRMACION_FIELD_NUMBER: _ClassVar[int]
    confirmacion: Confirmacion
    def __init__(self, confirmacion: _Optional[_Union[Confirmacion, _Mapping]] = ...) -> None: ...
