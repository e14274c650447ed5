"""Collects field violations with their paths, then raises one InvalidRequest for all of them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from services.kit.errors import FieldViolation, InvalidRequest

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Violations:
    """Accumulates violations; ``at`` nests paths so helpers need not know where they are."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []
        self._prefix: list[str] = []

    def path(self, name: str) -> str:
        return ".".join([*self._prefix, name]) if name else ".".join(self._prefix)

    @contextmanager
    def at(self, name: str) -> Iterator[Violations]:
        self._prefix.append(name)
        try:
            yield self
        finally:
            self._prefix.pop()

    def add(self, name: str, description: str) -> None:
        self._items.append(FieldViolation(self.path(name), description))

    def check(self, ok: bool, name: str, description: str) -> bool:
        if not ok:
            self.add(name, description)
        return ok

    def require_text(self, value: str, name: str, max_len: int = 200) -> bool:
        if not value.strip():
            self.add(name, "es obligatorio")
            return False
        return self.check(len(value) <= max_len, name, f"admite como máximo {max_len} caracteres")

    def require_uuid(self, value: str, name: str) -> bool:
        if not value:
            self.add(name, "es obligatorio")
            return False
        return self.check(is_uuid(value), name, "debe ser un UUID")

    def require_idempotency_key(self, value: str, name: str = "idempotency_key") -> bool:
        return self.require_text(value, name, max_len=200)

    def require_currency(self, value: str, name: str) -> bool:
        return self.check(
            bool(_CURRENCY.match(value)), name, "debe ser un código ISO 4217 (3 mayúsculas)"
        )

    def require_page(self, page_size: int, name: str = "page_size") -> bool:
        return self.check(0 <= page_size <= 100, name, "debe estar entre 0 y 100")

    @property
    def items(self) -> tuple[FieldViolation, ...]:
        return tuple(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidRequest(self._items)


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
