import datetime

from aeroalpes.comun.v1 import dinero_pb2 as _dinero_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EstadoPago(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTADO_PAGO_UNSPECIFIED: _ClassVar[EstadoPago]
    ESTADO_PAGO_APROBADO: _ClassVar[EstadoPago]
    ESTADO_PAGO_REVERTIDO: _ClassVar[EstadoPago]
ESTADO_PAGO_UNSPECIFIED: EstadoPago
ESTADO_PAGO_APROBADO: EstadoPago
ESTADO_PAGO_REVERTIDO: EstadoPago

class Pago(_message.Message):
    __slots__ = ("id", "id_reserva", "id_cliente", "monto", "medio_pago", "estado", "fecha_creacion", "fecha_actualizacion")
    ID_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    MONTO_FIELD_NUMBER: _ClassVar[int]
    MEDIO_PAGO_FIELD_NUMBER: _ClassVar[int]
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    FECHA_CREACION_FIELD_NUMBER: _ClassVar[int]
    FECHA_ACTUALIZACION_FIELD_NUMBER: _ClassVar[int]
    id: str
    id_reserva: str
    id_cliente: str
    monto: _dinero_pb2.Dinero
    medio_pago: str
    estado: EstadoPago
    fecha_creacion: _timestamp_pb2.Timestamp
    fecha_actualizacion: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., id_reserva: _Optional[str] = ..., id_cliente: _Optional[str] = ..., monto: _Optional[_Union[_dinero_pb2.Dinero, _Mapping]] = ..., medio_pago: _Optional[str] = ..., estado: _Optional[_Union[EstadoPago, str]] = ..., fecha_creacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fecha_actualizacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PagarReservaRequest(_message.Message):
    __slots__ = ("id_reserva", "id_cliente", "monto", "medio_pago", "idempotency_key")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    MONTO_FIELD_NUMBER: _ClassVar[int]
    MEDIO_PAGO_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    id_cliente: str
    monto: _dinero_pb2.Dinero
    medio_pago: str
    idempotency_key: str
    def __init__(self, id_reserva: _Optional[str] = ..., id_cliente: _Optional[str] = ..., monto: _Optional[_Union[_dinero_pb2.Dinero, _Mapping]] = ..., medio_pago: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class PagarReservaResponse(_message.Message):
    __slots__ = ("pago",)
    PAGO_FIELD_NUMBER: _ClassVar[int]
    pago: Pago
    def __init__(self, pago: _Optional[_Union[Pago, _Mapping]] = ...) -> None: ...

class RevertirPagoRequest(_message.Message):
    __slots__ = ("id_reserva", "idempotency_key")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    idempotency_key: str
    def __init__(self, id_reserva: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RevertirPagoResponse(_message.Message):
    __slots__ = ("pago",)
    PAGO_FIELD_NUMBER: _ClassVar[int]
    pago: Pago
    def __init__(self, pago: _Optional[_Union[Pago, _Mapping]] = ...) -> None: ...

class ObtenerPagoRequest(_message.Message):
    __slots__ = ("id_pago",)
    ID_PAGO_FIELD_NUMBER: _ClassVar[int]
    id_pago: str
    def __init__(self, id_pago: _Optional[str] = ...) -> None: ...

class ObtenerPagoResponse(_message.Message):
    __slots__ = ("pago",)
    PAGO_FIELD_NUMBER: _ClassVar[int]
    pago: Pago
    def __init__(self, pago: _Optional[_Union[Pago, _Mapping]] = ...) -> None: ...
