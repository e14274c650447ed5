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

class EstadoSaga(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTADO_SAGA_UNSPECIFIED: _ClassVar[EstadoSaga]
    ESTADO_SAGA_EN_CURSO: _ClassVar[EstadoSaga]
    ESTADO_SAGA_COMPENSANDO: _ClassVar[EstadoSaga]
    ESTADO_SAGA_COMPLETADA: _ClassVar[EstadoSaga]
    ESTADO_SAGA_COMPENSADA: _ClassVar[EstadoSaga]
    ESTADO_SAGA_FALLIDA: _ClassVar[EstadoSaga]

class EstadoPaso(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTADO_PASO_UNSPECIFIED: _ClassVar[EstadoPaso]
    ESTADO_PASO_PENDIENTE: _ClassVar[EstadoPaso]
    ESTADO_PASO_EN_CURSO: _ClassVar[EstadoPaso]
    ESTADO_PASO_EXITOSO: _ClassVar[EstadoPaso]
    ESTADO_PASO_FALLIDO: _ClassVar[EstadoPaso]
    ESTADO_PASO_COMPENSANDO: _ClassVar[EstadoPaso]
    ESTADO_PASO_COMPENSADO: _ClassVar[EstadoPaso]
ESTADO_SAGA_UNSPECIFIED: EstadoSaga
ESTADO_SAGA_EN_CURSO: EstadoSaga
ESTADO_SAGA_COMPENSANDO: EstadoSaga
ESTADO_SAGA_COMPLETADA: EstadoSaga
ESTADO_SAGA_COMPENSADA: EstadoSaga
ESTADO_SAGA_FALLIDA: EstadoSaga
ESTADO_PASO_UNSPECIFIED: EstadoPaso
ESTADO_PASO_PENDIENTE: EstadoPaso
ESTADO_PASO_EN_CURSO: EstadoPaso
ESTADO_PASO_EXITOSO: EstadoPaso
ESTADO_PASO_FALLIDO: EstadoPaso
ESTADO_PASO_COMPENSANDO: EstadoPaso
ESTADO_PASO_COMPENSADO: EstadoPaso

class Paso(_message.Message):
    __slots__ = ("indice", "nombre", "estado", "intentos", "error", "fecha_actualizacion")
    INDICE_FIELD_NUMBER: _ClassVar[int]
    NOMBRE_FIELD_NUMBER: _ClassVar[int]
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    INTENTOS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FECHA_ACTUALIZACION_FIELD_NUMBER: _ClassVar[int]
    indice: int
    nombre: str
    estado: EstadoPaso
    intentos: int
    error: str
    fecha_actualizacion: _timestamp_pb2.Timestamp
    def __init__(self, indice: _Optional[int] = ..., nombre: _Optional[str] = ..., estado: _Optional[_Union[EstadoPaso, str]] = ..., intentos: _Optional[int] = ..., error: _Optional[str] = ..., fecha_actualizacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Saga(_message.Message):
    __slots__ = ("id", "tipo", "estado", "pasos", "id_cliente", "id_reserva", "id_pago", "codigo_localizador", "motivo", "fecha_creacion", "fecha_actualizacion", "proximo_intento", "version_definicion", "id_traza", "tramos")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIPO_FIELD_NUMBER: _ClassVar[int]
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    PASOS_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    ID_PAGO_FIELD_NUMBER: _ClassVar[int]
    CODIGO_LOCALIZADOR_FIELD_NUMBER: _ClassVar[int]
    MOTIVO_FIELD_NUMBER: _ClassVar[int]
    FECHA_CREACION_FIELD_NUMBER: _ClassVar[int]
    FECHA_ACTUALIZACION_FIELD_NUMBER: _ClassVar[int]
    PROXIMO_INTENTO_FIELD_NUMBER: _ClassVar[int]
    VERSION_DEFINICION_FIELD_NUMBER: _ClassVar[int]
    ID_TRAZA_FIELD_NUMBER: _ClassVar[int]
    TRAMOS_FIELD_NUMBER: _ClassVar[int]
    id: str
    tipo: str
    estado: EstadoSaga
    pasos: _containers.RepeatedCompositeFieldContainer[Paso]
    id_cliente: str
    id_reserva: str
    id_pago: str
    codigo_localizador: str
    motivo: str
    fecha_creacion: _timestamp_pb2.Timestamp
    fecha_actualizacion: _timestamp_pb2.Timestamp
    proximo_intento: _timestamp_pb2.Timestamp
    version_definicion: int
    id_traza: str
    tramos: _containers.RepeatedCompositeFieldContainer[Tramo]
    def __init__(self, id: _Optional[str] = ..., tipo: _Optional[str] = ..., estado: _Optional[_Union[EstadoSaga, str]] = ..., pasos: _Optional[_Iterable[_Union[Paso, _Mapping]]] = ..., id_cliente: _Optional[str] = ..., id_reserva: _Optional[str] = ..., id_pago: _Optional[str] = ..., codigo_localizador: _Optional[str] = ..., motivo: _Optional[str] = ..., fecha_creacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fecha_actualizacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proximo_intento: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version_definicion: _Optional[int] = ..., id_traza: _Optional[str] = ..., tramos: _Optional[_Iterable[_Union[Tramo, _Mapping]]] = ...) -> None: ...

class Tramo(_message.Message):
    __slots__ = ("indice", "paso", "compensacion", "inicio", "fin", "resultado")
    INDICE_FIELD_NUMBER: _ClassVar[int]
    PASO_FIELD_NUMBER: _ClassVar[int]
    COMPENSACION_FIELD_NUMBER: _ClassVar[int]
    INICIO_FIELD_NUMBER: _ClassVar[int]
    FIN_FIELD_NUMBER: _ClassVar[int]
    RESULTADO_FIELD_NUMBER: _ClassVar[int]
    indice: int
    paso: str
    compensacion: bool
    inicio: _timestamp_pb2.Timestamp
    fin: _timestamp_pb2.Timestamp
    resultado: str
    def __init__(self, indice: _Optional[int] = ..., paso: _Optional[str] = ..., compensacion: _Optional[bool] = ..., inicio: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fin: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resultado: _Optional[str] = ...) -> None: ...

class ReservarVueloRequest(_message.Message):
    __slots__ = ("id_cliente", "itinerarios", "pasajeros", "medio_pago", "idempotency_key", "esperar")
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ITINERARIOS_FIELD_NUMBER: _ClassVar[int]
    PASAJEROS_FIELD_NUMBER: _ClassVar[int]
    MEDIO_PAGO_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ESPERAR_FIELD_NUMBER: _ClassVar[int]
    id_cliente: str
    itinerarios: _containers.RepeatedCompositeFieldContainer[_reserva_pb2.Itinerario]
    pasajeros: _containers.RepeatedCompositeFieldContainer[_reserva_pb2.Pasajero]
    medio_pago: str
    idempotency_key: str
    esperar: bool
    def __init__(self, id_cliente: _Optional[str] = ..., itinerarios: _Optional[_Iterable[_Union[_reserva_pb2.Itinerario, _Mapping]]] = ..., pasajeros: _Optional[_Iterable[_Union[_reserva_pb2.Pasajero, _Mapping]]] = ..., medio_pago: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., esperar: _Optional[bool] = ...) -> None: ...

class ReservarVueloResponse(_message.Message):
    __slots__ = ("saga",)
    SAGA_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ...) -> None: ...

class ObtenerSagaRequest(_message.Message):
    __slots__ = ("id_saga",)
    ID_SAGA_FIELD_NUMBER: _ClassVar[int]
    id_saga: str
    def __init__(self, id_saga: _Optional[str] = ...) -> None: ...

class ObtenerSagaResponse(_message.Message):
    __slots__ = ("saga",)
    SAGA_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ...) -> None: ...

class ListarSagasRequest(_message.Message):
    __slots__ = ("estado", "page_size", "page_token", "id_cliente")
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    estado: EstadoSaga
    page_size: int
    page_token: str
    id_cliente: str
    def __init__(self, estado: _Optional[_Union[EstadoSaga, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., id_cliente: _Optional[str] = ...) -> None: ...

class ListarSagasResponse(_message.Message):
    __slots__ = ("sagas", "next_page_token")
    SAGAS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sagas: _containers.RepeatedCompositeFieldContainer[Saga]
    next_page_token: str
    def __init__(self, sagas: _Optional[_Iterable[_Union[Saga, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ObservarSagaRequest(_message.Message):
    __slots__ = ("id_saga",)
    ID_SAGA_FIELD_NUMBER: _ClassVar[int]
    id_saga: str
    def __init__(self, id_saga: _Optional[str] = ...) -> None: ...

class ObservarSagaResponse(_message.Message):
    __slots__ = ("saga",)
    SAGA_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ...) -> None: ...

class ReanudarSagaRequest(_message.Message):
    __slots__ = ("id_saga", "idempotency_key")
    ID_SAGA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_saga: str
    idempotency_key: str
    def __init__(self, id_saga: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class ReanudarSagaResponse(_message.Message):
    __slots__ = ("saga",)
    SAGA_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ...) -> None: ...
