import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SagaIniciada(_message.Message):
    __slots__ = ("id_saga", "id_cliente", "fecha_inicio")
    ID_SAGA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    FECHA_INICIO_FIELD_NUMBER: _ClassVar[int]
    id_saga: str
    id_cliente: str
    fecha_inicio: _timestamp_pb2.Timestamp
    def __init__(self, id_saga: _Optional[str] = ..., id_cliente: _Optional[str] = ..., fecha_inicio: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SagaCompletada(_message.Message):
    __slots__ = ("id_saga", "id_cliente", "id_reserva", "codigo_localizador", "fecha_fin")
    ID_SAGA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    CODIGO_LOCALIZADOR_FIELD_NUMBER: _ClassVar[int]
    FECHA_FIN_FIELD_NUMBER: _ClassVar[int]
    id_saga: str
    id_cliente: str
    id_reserva: str
    codigo_localizador: str
    fecha_fin: _timestamp_pb2.Timestamp
    def __init__(self, id_saga: _Optional[str] = ..., id_cliente: _Optional[str] = ..., id_reserva: _Optional[str] = ..., codigo_localizador: _Optional[str] = ..., fecha_fin: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SagaCompensada(_message.Message):
    __slots__ = ("id_saga", "id_cliente", "id_reserva", "motivo", "fecha_fin")
    ID_SAGA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    MOTIVO_FIELD_NUMBER: _ClassVar[int]
    FECHA_FIN_FIELD_NUMBER: _ClassVar[int]
    id_saga: str
    id_cliente: str
    id_reserva: str
    motivo: str
    fecha_fin: _timestamp_pb2.Timestamp
    def __init__(self, id_saga: _Optional[str] = ..., id_cliente: _Optional[str] = ..., id_reserva: _Optional[str] = ..., motivo: _Optional[str] = ..., fecha_fin: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SagaFallida(_message.Message):
    __slots__ = ("id_saga", "id_cliente", "id_reserva", "motivo", "fecha_fallo")
    ID_SAGA_FIELD_NUMBER: _ClassVar[int]
    ID_CLIENTE_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    MOTIVO_FIELD_NUMBER: _ClassVar[int]
    FECHA_FALLO_FIELD_NUMBER: _ClassVar[int]
    id_saga: str
    id_cliente: str
    id_reserva: str
    motivo: str
    fecha_fallo: _timestamp_pb2.Timestamp
    def __init__(self, id_saga: _Optional[str] = ..., id_cliente: _Optional[str] = ..., id_reserva: _Optional[str] = ..., motivo: _Optional[str] = ..., fecha_fallo: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
