import datetime

from aeroalpes.comun.v1 import dinero_pb2 as _dinero_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TipoPasajero(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIPO_PASAJERO_UNSPECIFIED: _ClassVar[TipoPasajero]
    TIPO_PASAJERO_ADULTO: _ClassVar[TipoPasajero]
    TIPO_PASAJERO_MENOR: _ClassVar[TipoPasajero]
    TIPO_PASAJERO_INFANTE: _ClassVar[TipoPasajero]

class ClaseCabina(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLASE_CABINA_UNSPECIFIED: _ClassVar[ClaseCabina]
    CLASE_CABINA_ECONOMICA: _ClassVar[ClaseCabina]
    CLASE_CABINA_PREMIUM: _ClassVar[ClaseCabina]
    CLASE_CABINA_EJECUTIVA: _ClassVar[ClaseCabina]
    CLASE_CABINA_PRIMERA: _ClassVar[ClaseCabina]

class EstadoReserva(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTADO_RESERVA_UNSPECIFIED: _ClassVar[EstadoReserva]
    ESTADO_RESERVA_PENDIENTE: _ClassVar[EstadoReserva]
    ESTADO_RESERVA_APROBADA: _ClassVar[EstadoReserva]
    ESTADO_RESERVA_CANCELADA: _ClassVar[EstadoReserva]
TIPO_PASAJERO_UNSPECIFIED: TipoPasajero
TIPO_PASAJERO_ADULTO: TipoPasajero
TIPO_PASAJERO_MENOR: TipoPasajero
TIPO_PASAJERO_INFANTE: TipoPasajero
CLASE_CABINA_UNSPECIFIED: ClaseCabina
CLASE_CABINA_ECONOMICA: ClaseCabina
CLASE_CABINA_PREMIUM: ClaseCabina
CLASE_CABINA_EJECUTIVA: ClaseCabina
CLASE_CABINA_PRIMERA: ClaseCabina
ESTADO_RESERVA_UNSPECIFIED: EstadoReserva
ESTADO_RESERVA_PENDIENTE: EstadoReserva
ESTADO_RESERVA_APROBADA: EstadoReserva
ESTADO_RESERVA_CANCELADA: EstadoReserva

class Locacion(_message.Message):
    __slots__ = ("codigo", "nombre")
    CODIGO_FIELD_NUMBER: _ClassVar[int]
    NOMBRE_FIELD_NUMBER: _ClassVar[int]
    codigo: str
    nombre: str
    def __init__(self, codigo: _Optional[str] = ..., nombre: _Optional[str] = ...) -> None: ...

class Leg(_message.Message):
    __slots__ = ("fecha_salida", "fecha_llegada", "origen", "destino")
    FECHA_SALIDA_FIELD_NUMBER: _ClassVar[int]
    FECHA_LLEGADA_FIELD_NUMBER: _ClassVar[int]
    ORIGEN_FIELD_NUMBER: _ClassVar[int]
    DESTINO_FIELD_NUMBER: _ClassVar[int]
    fecha_salida: _timestamp_pb2.Timestamp
    fecha_llegada: _timestamp_pb2.Timestamp
    origen: Locacion
    destino: Locacion
    def __init__(self, fecha_salida: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fecha_llegada: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., origen: _Optional[_Union[Locacion, _Mapping]] = ..., destino: _Optional[_Union[Locacion, _Mapping]] = ...) -> None: ...

class Segmento(_message.Message):
    __slots__ = ("legs",)
    LEGS_FIELD_NUMBER: _ClassVar[int]
    legs: _containers.RepeatedCompositeFieldContainer[Leg]
    def __init__(self, legs: _Optional[_Iterable[_Union[Leg, _Mapping]]] = ...) -> None: ...

class Odo(_message.Message):
    __slots__ = ("segmentos",)
    SEGMENTOS_FIELD_NUMBER: _ClassVar[int]
    segmentos: _containers.RepeatedCompositeFieldContainer[Segmento]
    def __init__(self, segmentos: _Optional[_Iterable[_Union[Segmento, _Mapping]]] = ...) -> None: ...

class Itinerario(_message.Message):
    __slots__ = ("odos",)
    ODOS_FIELD_NUMBER: _ClassVar[int]
    odos: _containers.RepeatedCompositeFieldContainer[Odo]
    def __init__(self, odos: _Optional[_Iterable[_Union[Odo, _Mapping]]] = ...) -> None: ...

class Pasajero(_message.Message):
    __slots__ = ("tipo", "clase")
    TIPO_FIELD_NUMBER: _ClassVar[int]
    CLASE_FIELD_NUMBER: _ClassVar[int]
    tipo: TipoPasajero
    clase: ClaseCabina
    def __init__(self, tipo: _Optional[_Union[TipoPasajero, str]] = ..., clase: _Optional[_Union[ClaseCabina, str]] = ...) -> None: ...

class Reserva(_message.Message):
    __slots__ = ("id", "id_cliente", "estado", "itinerarios", "pasajeros", "monto", "monto_vat", "fecha_creacion", "fecha_actualizacion")
    ID_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    ITINERARIOS_FIELD_NUMBER: _ClassVar[int]
    PASAJEROS_FIELD_NUMBER: _ClassVar[int]
    MONTO_FIELD_NUMBER: _ClassVar[int]
    MONTO_VAT_FIELD_NUMBER: _ClassVar[int]
    FECHA_CREACION_FIELD_NUMBER: _ClassVar[int]
    FECHA_ACTUALIZACION_FIELD_NUMBER: _ClassVar[int]
    id: str
    id_cliente: str
    estado: EstadoReserva
    itinerarios: _containers.RepeatedCompositeFieldContainer[Itinerario]
    pasajeros: _containers.RepeatedCompositeFieldContainer[Pasajero]
    monto: _dinero_pb2.Dinero
    monto_vat: _dinero_pb2.Dinero
    fecha_creacion: _timestamp_pb2.Timestamp
    fecha_actualizacion: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., id_cliente: _Optional[str] = ..., estado: _Optional[_Union[EstadoReserva, str]] = ..., itinerarios: _Optional[_Iterable[_Union[Itinerario, _Mapping]]] = ..., pasajeros: _Optional[_Iterable[_Union[Pasajero, _Mapping]]] = ..., monto: _Optional[_Union[_dinero_pb2.Dinero, _Mapping]] = ..., monto_vat: _Optional[_Union[_dinero_pb2.Dinero, _Mapping]] = ..., fecha_creacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fecha_actualizacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
