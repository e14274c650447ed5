"""The Usuario aggregate and its registration rules (pure domain)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.kit.errors import BusinessRefusal
from services.kit.validation import Violations

EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
EMAIL_MAX = 254  # RFC 5321's path limit, and the column's width
CEDULA = re.compile(r"^[0-9]{5,12}$")
RUT = re.compile(r"^[0-9]{6,10}-[0-9Kk]$")
PASSWORD_MIN, PASSWORD_MAX = 10, 128


def email_valido(email: str) -> bool:
    return len(email) <= EMAIL_MAX and bool(EMAIL.match(email))


def normalizar_email(email: str) -> str:
    """One spelling per mailbox for uniqueness and login: no surrounding space, lower case."""
    return email.strip().lower()


class TipoUsuario(StrEnum):
    NATURAL = "NATURAL"
    EMPRESA = "EMPRESA"


class EstadoUsuario(StrEnum):
    ACTIVO = "ACTIVO"
    INACTIVO = "INACTIVO"


@dataclass(frozen=True)
class Registro:
    nombres: str
    apellidos: str
    email: str
    password: str
    tipo: TipoUsuario | None
    cedula: str
    rut: str

    def validar(self, v: Violations) -> None:
        v.require_text(self.nombres, "nombres", max_len=100)
        v.require_text(self.apellidos, "apellidos", max_len=100)
        v.check(
            email_valido(self.email),
            "email",
            "no es un e-mail válido",
        )
        v.check(
            PASSWORD_MIN <= len(self.password) <= PASSWORD_MAX,
            "password",
            f"debe tener entre {PASSWORD_MIN} y {PASSWORD_MAX} caracteres",
        )
        if self.tipo is None:
            v.add("tipo", "es obligatorio (NATURAL o EMPRESA)")
        elif self.tipo is TipoUsuario.NATURAL:
            v.check(bool(CEDULA.match(self.cedula)), "cedula", "debe tener de 5 a 12 dígitos")
            v.check(not self.rut, "rut", "solo aplica a EMPRESA")
        else:
            v.check(bool(RUT.match(self.rut)), "rut", "debe tener la forma 12345678-9")
            v.check(not self.cedula, "cedula", "solo aplica a NATURAL")


@dataclass(frozen=True)
class Usuario:
    id: str
    nombres: str
    apellidos: str
    email: str  # lower-case: unique case-insensitively
    tipo: TipoUsuario
    cedula: str
    rut: str
    estado: EstadoUsuario
    fecha_creacion: datetime

    def validar_activo(self) -> None:
        if self.estado is not EstadoUsuario.ACTIVO:
            raise BusinessRefusal("USUARIO_INACTIVO", f"el usuario {self.id} está inactivo")

    def desactivar(self) -> Usuario:
        return replace(self, estado=EstadoUsuario.INACTIVO)
