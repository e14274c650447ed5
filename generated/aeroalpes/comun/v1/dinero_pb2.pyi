from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Dinero(_message.Message):
    __slots__ = ("unidades_menores", "moneda")
    UNIDADES_MENORES_FIELD_NUMBER: _ClassVar[int]
    MONEDA_FIELD_NUMBER: _ClassVar[int]
    unidades_menores: int
    moneda: str
    def __init__(self, unidades_menores: _Optional[int] = ..., moneda: _Optional[str] = ...) -> None: ...
