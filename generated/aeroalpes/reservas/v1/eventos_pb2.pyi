import datetime

from aeroalpes.comun.v1 import dinero_pb2 as _dinero_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReservaCreada(_message.Message):
    __slots__ = ("id_reserva", "id_cliente", "monto", "monto_vat", "fecha_creacion")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    MONTO_FIELD_NUMBER: _ClassVar[int]
    MONTO_VAT_FIELD_NUMBER: _ClassVar[int]
    FECHA_CREACION_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    id_cliente: str
    monto: _dinero_pb2.Dinero
    monto_vat: _dinero_pb2.Dinero
    fecha_creacion: _timestamp_pb2.Timestamp
    def __init__(self, id_reserva: _Optional[str] = ..., id_cliente: _Optional[str] = ..., monto: _Optional[_Union[_dinero_pb2.Dinero, _Mapping]] = ..., monto_vat: _Optional[_Union[_dinero_pb2.Dinero, _Mapping]] = ..., fecha_creacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReservaAprobada(_message.Message):
    __slots__ = ("id_reserva", "id_cliente", "fecha_aprobacion")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    FECHA_APROBACION_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    id_cliente: str
    fecha_aprobacion: _timestamp_pb2.Timestamp
    def __init__(self, id_reserva: _Optional[str] = ..., id_cliente: _Optional[str] = ..., fecha_aprobacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReservaCancelada(_message.Message):
    __slots__ = ("id_reserva", "id_cliente", "motivo", "fecha_cancelacion")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    MOTIVO_FIELD_NUMBER: _ClassVar[int]
    FECHA_CANCELACION_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    id_cliente: str
    motivo: str
    fecha_cancelacion: _timestamp_pb2.Timestamp
    def __init__(self, id_reserva: _Optional[str] = ..., id_cliente: _Optional[str] = ..., motivo: _Optional[str] = ..., fecha_cancelacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
