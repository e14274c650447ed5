import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReservaGDSConfirmada(_message.Message):
    __slots__ = ("id_confirmacion", "id_reserva", "codigo_localizador", "fecha_confirmacion")
    ID_CONFIRMACION_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    CODIGO_LOCALIZADOR_FIELD_NUMBER: _ClassVar[int]
    FECHA_CONFIRMACION_FIELD_NUMBER: _ClassVar[int]
    id_confirmacion: str
    id_reserva: str
    codigo_localizador: str
    fecha_confirmacion: _timestamp_pb2.Timestamp
    def __init__(self, id_confirmacion: _Optional[str] = ..., id_reserva: _Optional[str] = ..., codigo_localizador: _Optional[str] = ..., fecha_confirmacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConfirmacionGDSRevertida(_message.Message):
    __slots__ = ("id_confirmacion", "id_reserva", "codigo_localizador", "fecha_reversion")
    ID_CONFIRMACION_FIELD_NUMBER: _ClassVar[int]
    ID_RESERVA_FIELD_NUMBER: _ClassVar[int]
    CODIGO_LOCALIZADOR_FIELD_NUMBER: _ClassVar[int]
    FECHA_REVERSION_FIELD_NUMBER: _ClassVar[int]
    id_confirmacion: str
    id_reserva: str
    codigo_localizador: str
    fecha_reversion: _timestamp_pb2.Timestamp
    def __init__(self, id_confirmacion: _Optional[str] = ..., id_reserva: _Optional[str] = ..., codigo_localizador: _Optional[str] = ..., fecha_reversion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
