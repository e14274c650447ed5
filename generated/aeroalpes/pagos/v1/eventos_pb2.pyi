import datetime

from aeroalpes.comun.v1 import dinero_pb2 as _dinero_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReservaPagada(_message.Message):
    __slots__ = ("id_pago", "id_reserva", "id_cliente", "monto", "fecha_pago")
    ID_PAGO_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    MONTO_FIELD_NUMBER: _ClassVar[int]
    FECHA_PAGO_FIELD_NUMBER: _ClassVar[int]
    id_pago: str
    id_reserva: str
    id_cliente: str
    monto: _dinero_pb2.Dinero
    fecha_pago: _timestamp_pb2.Timestamp
    def __init__(self, id_pago: _Optional[str] = ..., id_reserva: _Optional[str] = ..., id_cliente: _Optional[str] = ..., monto: _Optional[_Union[_dinero_pb2.Dinero, _Mapping]] = ..., fecha_pago: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PagoRevertido(_message.Message):
    __slots__ = ("id_pago", "id_reserva", "id_cliente", "fecha_reversion")
    ID_PAGO_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    FECHA_REVERSION_FIELD_NUMBER: _ClassVar[int]
    id_pago: str
    id_reserva: str
    id_cliente: str
    fecha_reversion: _timestamp_pb2.Timestamp
    def __init__(self, id_pago: _Optional[str] = ..., id_reserva: _Optional[str] = ..., id_cliente: _Optional[str] = ..., fecha_reversion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
