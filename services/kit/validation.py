"""Collects field violations with their paths, then raises one InvalidRequest for all of them;
and what every request gets before the contract's rules (services/kit/contract_rules.py): one
spelling per UUID, no control or bidi characters in any string."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from services.kit.errors import FieldViolation, InvalidRequest

# Characters that make one string look like another or hide text in a log or a screen: bidi
# overrides and isolates (Trojan Source, CVE-2021-42574), marks, line/paragraph separators and
# the byte-order mark. Control characters (Cc: NUL, ESC, newlines...) are refused by category.
_DECEPTIVE = frozenset(
    "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
UNSAFE_TEXT = "no admite caracteres de control ni de dirección de texto (bidi)"


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
        """Required text (the operator CLI's registration; requests have the contract's rule)."""
        if not value.strip():
            self.add(name, "es obligatorio")
            return False
        return self.check(is_safe_text(value), name, UNSAFE_TEXT) and self.check(
            len(value) <= max_len, name, f"admite como máximo {max_len} caracteres"
        )

    @property
    def items(self) -> tuple[FieldViolation, ...]:
        return tuple(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise InvalidRequest(self._items)


def is_uuid(value: str) -> bool:
    """A UUID in its 8-4-4-4-12 form, in either case (``canonical`` lower-cases it)."""
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def is_safe_text(value: str) -> bool:
    return not any(c in _DECEPTIVE or unicodedata.category(c) == "Cc" for c in value)


def is_id_field(name: str) -> bool:
    """Identifier fields by the contract's naming: ``id`` and ``id_<thing>``."""
    return name == "id" or name.startswith("id_")


def canonicalize(request: object) -> None:
    """Makes every identifier canonical and refuses unsafe text, in ``request`` and its nested
    messages: UUIDs compare as strings everywhere (SQL, owner checks, keys), so an upper-case
    spelling must become the one lower-case spelling before anything reads it; and no string
    field a client sends may carry control or bidi characters. INVALID_ARGUMENT names each
    offending field by its path (e.g. ``itinerarios[0].odos[0]...origen.nombre``)."""
    if not isinstance(request, Message):
        return  # a raw-bytes handler: nothing typed to walk
    v = Violations()
    _walk(request, v)
    v.raise_if_any()


def _walk(message: Message, v: Violations) -> None:
    for field, value in message.ListFields():
        if is_map(field):
            _walk_map(field.name, value, v)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if _repeated(field) else [value]
            for n, item in enumerate(items):
                with v.at(f"{field.name}[{n}]" if _repeated(field) else field.name):
                    _walk(item, v)
        elif field.type == FieldDescriptor.TYPE_STRING:
            texts = list(value) if _repeated(field) else [value]
            for n, text in enumerate(texts):
                name = f"{field.name}[{n}]" if _repeated(field) else field.name
                if not v.check(is_safe_text(text), name, UNSAFE_TEXT):
                    continue
                if is_id_field(field.name) and text != text.lower() and is_uuid(text):
                    _set(message, field, n, text.lower())


def _walk_map(name: str, entries: Any, v: Violations) -> None:
    for key, value in entries.items():
        path = f"{name}[{key!r}]"
        if isinstance(key, str) and not v.check(is_safe_text(key), path, UNSAFE_TEXT):
            continue
        if isinstance(value, Message):
            with v.at(path):
                _walk(value, v)
        elif isinstance(value, str):
            v.check(is_safe_text(value), path, UNSAFE_TEXT)


def is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and bool(field.message_type.GetOptions().map_entry)


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def _set(message: Message, field: FieldDescriptor, index: int, value: str) -> None:
    if _repeated(field):
        getattr(message, field.name)[index] = value
    else:
        setattr(message, field.name, value)
