import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TipoUsuario(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIPO_USUARIO_UNSPECIFIED: _ClassVar[TipoUsuario]
    TIPO_USUARIO_NATURAL: _ClassVar[TipoUsuario]
    TIPO_USUARIO_EMPRESA: _ClassVar[TipoUsuario]

class EstadoUsuario(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTADO_USUARIO_UNSPECIFIED: _ClassVar[EstadoUsuario]
    ESTADO_USUARIO_ACTIVO: _ClassVar[EstadoUsuario]
    ESTADO_USUARIO_INACTIVO: _ClassVar[EstadoUsuario]
TIPO_USUARIO_UNSPECIFIED: TipoUsuario
TIPO_USUARIO_NATURAL: TipoUsuario
TIPO_USUARIO_EMPRESA: TipoUsuario
ESTADO_USUARIO_UNSPECIFIED: EstadoUsuario
ESTADO_USUARIO_ACTIVO: EstadoUsuario
ESTADO_USUARIO_INACTIVO: EstadoUsuario

class Usuario(_message.Message):
    __slots__ = ("id", "nombres", "apellidos", "email", "tipo", "cedula", "rut", "estado", "fecha_creacion")
    ID_FIELD_NUMBER: _ClassVar[int]
    NOMBRES_FIELD_NUMBER: _ClassVar[int]
    APELLIDOS_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    TIPO_FIELD_NUMBER: _ClassVar[int]
    CEDULA_FIELD_NUMBER: _ClassVar[int]
    RUT_FIELD_NUMBER: _ClassVar[int]
    ESTADO_FIELD_NUMBER: _ClassVar[int]
    FECHA_CREACION_FIELD_NUMBER: _ClassVar[int]
    id: str
    nombres: str
    apellidos: str
    email: str
    tipo: TipoUsuario
    cedula: str
    rut: str
    estado: EstadoUsuario
    fecha_creacion: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., nombres: _Optional[str] = ..., apellidos: _Optional[str] = ..., email: _Optional[str] = ..., tipo: _Optional[_Union[TipoUsuario, str]] = ..., cedula: _Optional[str] = ..., rut: _Optional[str] = ..., estado: _Optional[_Union[EstadoUsuario, str]] = ..., fecha_creacion: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegistrarUsuarioRequest(_message.Message):
    __slots__ = ("nombres", "apellidos", "email", "password", "tipo", "cedula", "rut", "idempotency_key")
    NOMBRES_FIELD_NUMBER: _ClassVar[int]
    APELLIDOS_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    TIPO_FIELD_NUMBER: _ClassVar[int]
    CEDULA_FIELD_NUMBER: _ClassVar[int]
    RUT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    nombres: str
    apellidos: str
    email: str
    password: str
    tipo: TipoUsuario
    cedula: str
    rut: str
    idempotency_key: str
    def __init__(self, nombres: _Optional[str] = ..., apellidos: _Optional[str] = ..., email: _Optional[str] = ..., password: _Optional[str] = ..., tipo: _Optional[_Union[TipoUsuario, str]] = ..., cedula: _Optional[str] = ..., rut: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RegistrarUsuarioResponse(_message.Message):
    __slots__ = ("usuario",)
    USUARIO_FIELD_NUMBER: _ClassVar[int]
    usuario: Usuario
    def __init__(self, usuario: _Optional[_Union[Usuario, _Mapping]] = ...) -> None: ...

class AutenticarUsuarioRequest(_message.Message):
    __slots__ = ("email", "password")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class AutenticarUsuarioResponse(_message.Message):
    __slots__ = ("token", "expira", "id_usuario")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRA_FIELD_NUMBER: _ClassVar[int]
    ID_USUARIO_FIELD_NUMBER: _ClassVar[int]
    token: str
    expira: _timestamp_pb2.Timestamp
    id_usuario: str
    def __init__(self, token: _Optional[str] = ..., expira: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., id_usuario: _Optional[str] = ...) -> None: ...

class ObtenerUsuarioRequest(_message.Message):
    __slots__ = ("id_usuario",)
    ID_USUARIO_FIELD_NUMBER: _ClassVar[int]
    id_usuario: str
    def __init__(self, id_usuario: _Optional[str] = ...) -> None: ...

class ObtenerUsuarioResponse(_message.Message):
    __slots__ = ("usuario",)
    USUARIO_FIELD_NUMBER: _ClassVar[int]
    usuario: Usuario
    def __init__(self, usuario: _Optional[_Union[Usuario, _Mapping]] = ...) -> None: ...

class ValidarUsuarioRequest(_message.Message):
    __slots__ = ("id_usuario",)
    ID_USUARIO_FIELD_NUMBER: _ClassVar[int]
    id_usuario: str
    def __init__(self, id_usuario: _Optional[str] = ...) -> None: ...

class ValidarUsuarioResponse(_message.Message):
    __slots__ = ("usuario",)
    USUARIO_FIELD_NUMBER: _ClassVar[int]
    usuario: Usuario
    def __init__(self, usuario: _Optional[_Union[Usuario, _Mapping]] = ...) -> None: ...

class DesactivarUsuarioRequest(_message.Message):
    __slots__ = ("id_usuario", "idempotency_key")
    ID_USUARIO_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    id_usuario: str
    idempotency_key: str
    def __init__(self, id_usuario: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class DesactivarUsuarioResponse(_message.Message):
    __slots__ = ("usuario",)
    USUARIO_FIELD_NUMBER: _ClassVar[int]
    usuario: Usuario
    def __init__(self, usuario: _Optional[_Union[Usuario, _Mapping]] = ...) -> None: ...
