from aeroalpes.reservas.v1 import reserva_pb2 as _reserva_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CrearReservaRequest(_message.Message):
    __slots__ = ("id_reserva", "id_cliente", "itinerarios", "pasajeros", "idempotency_key")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ITINERARIOS_FIELD_NUMBER: _ClassVar[int]
    PASAJEROS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    id_cliente: str
    itinerarios: _containers.RepeatedCompositeFieldContainer[_reserva_pb2.Itinerario]
    pasajeros: _containers.RepeatedCompositeFieldContainer[_reserva_pb2.Pasajero]
    idempotency_key: str
    def __init__(self, id_reserva: _Optional[str] = ..., id_cliente: _Optional[str] = ..., itinerarios: _Optional[_Iterable[_Union[_reserva_pb2.Itinerario, _Mapping]]] = ..., pasajeros: _Optional[_Iterable[_Union[_reserva_pb2.Pasajero, _Mapping]]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CrearReservaResponse(_message.Message):
    __slots__ = ("reserva",)
    RESERVA_FIELD_NUMBER: _ClassVar[int]
    reserva: _reserva_pb2.Reserva
    def __init__(self, reserva: _Optional[_Union[_reserva_pb2.Reserva, _Mapping]] = ...) -> None: ...

class AprobarReservaRequest(_message.Message):
    __slots__ = ("id_reserva", "idempotency_key")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    idempotency_key: str
    def __init__(self, id_reserva: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class AprobarReservaResponse(_message.Message):
    __slots__ = ("reserva",)
    RESERVA_FIELD_NUMBER: _ClassVar[int]
    reserva: _reserva_pb2.Reserva
    def __init__(self, reserva: _Optional[_Union[_reserva_pb2.Reserva, _Mapping]] = ...) -> None: ...

class CancelarReservaRequest(_message.Message):
    __slots__ = ("id_reserva", "motivo", "idempotency_key")
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    MOTIVO_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    motivo: str
    idempotency_key: str
    def __init__(self, id_reserva: _Optional[str] = ..., motivo: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CancelarReservaResponse(_message.Message):
    __slots__ = ("reserva",)
    RESERVA_FIELD_NUMBER: _ClassVar[int]
    reserva: _reserva_pb2.Reserva
    def __init__(self, reserva: _Optional[_Union[_reserva_pb2.Reserva, _Mapping]] = ...) -> None: ...

class ObtenerReservaRequest(_message.Message):
    __slots__ = ("id_reserva",)
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    id_reserva: str
    def __init__(self, id_reserva: _Optional[str] = ...) -> None: ...

class ObtenerReservaResponse(_message.Message):
    __slots__ = ("reserva",)
    RESERVA_FIELD_NUMBER: _ClassVar[int]
    reserva: _reserva_pb2.Reserva
    def __init__(self, reserva: _Optional[_Union[_reserva_pb2.Reserva, _Mapping]] = ...) -> None: ...

class ListarReservasRequest(_message.Message):
    __slots__ = ("id_cliente", "estado", "page_size", "page_token")
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id_cliente: str
    estado: _reserva_pb2.EstadoReserva
    page_size: int
    page_token: str
    def __init__(self, id_cliente: _Optional[str] = ..., estado: _Optional[_Union[_reserva_pb2.EstadoReserva, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListarReservasResponse(_message.Message):
    __slots__ = ("reservas", "next_page_token")
    RESERVAS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    reservas: _containers.RepeatedCompositeFieldContainer[_reserva_pb2.Reserva]
    next_page_token: str
    def __init__(self, reservas: _Optional[_Iterable[_Union[_reserva_pb2.Reserva, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
