import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UsuarioRegistrado(_message.Message):
    __slots__ = ("id_usuario", "email", "fecha_registro")
    ID_USUARIO_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    FECHA_REGISTRO_FIELD_NUMBER: _ClassVar[int]
    id_usuario: str
    email: str
    fecha_registro: _timestamp_pb2.Timestamp
    def __init__(self, id_usuario: _Optional[str] = ..., email: _Optional[str] = ..., fecha_registro: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UsuarioDesactivado(_message.Message):
    __slots__ = ("id_usuario", "fecha_desactivacion")
    ID_USUARIO_FIELD_NUMBER: _ClassVar[int]
    FECHA_DESACTIVACION_FIELD_NUMBER: _ClassVar[int]
    id_usuario: str
    fecha_desactivacion: _timestamp_pb2.Timestamp
    def __init__(self, id_usuario: _Optional[str] = ..., fecha_desactivacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
