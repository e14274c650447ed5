"""Collects field violations with their paths, then raises one InvalidRequest for all of them;
and what every request gets before the contract's rules (services/kit/contract_rules.py): one
spelling per UUID, no control or bidi characters in any string."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.kit.errors import FieldViolation, InvalidRequest
from services.kit.type_plans import Holds, TypePlans

# Characters that make one string look like another or hide text in a log or a screen: bidi
# overrides and isolates (Trojan Source, CVE-2021-42574), marks, line/paragraph separators and
# the byte-order mark. Control characters (Cc: NUL, ESC, newlines...) are refused by category.
_DECEPTIVE = frozenset(
    "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
# Control characters (General_Category Cc) are U+0000-U+001F and U+007F-U+009F (Unicode adds
# none; tests/unit/test_validation.py checks every code point): with the deceptive ones, one
# character class, so a string costs one search rather than a lookup per character.
_CONTROL = frozenset(chr(c) for c in range(0x100) if unicodedata.category(chr(c)) == "Cc")
_UNSAFE = re.compile(f"[{re.escape(''.join(sorted(_CONTROL | _DECEPTIVE)))}]")
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
    return _UNSAFE.search(value) is None


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
    found: list[FieldViolation] = []
    _walk(request, "", found)
    if found:
        raise InvalidRequest(found)


def _walk(message: Any, prefix: str, found: list[FieldViolation]) -> None:
    plan = _plan(message.DESCRIPTOR)
    for field, value in message.ListFields():
        spec = plan.get(field.number)
        if spec is None:
            continue  # holds no text
        here = f"{prefix}.{spec.name}" if prefix else spec.name
        if spec.kind is _MAP:
            _walk_map(here, value, spec.value_kind, found)
        elif spec.kind is _MESSAGE and spec.repeated:
            for n, item in enumerate(value):
                _walk(item, f"{here}[{n}]", found)
        elif spec.kind is _MESSAGE:
            _walk(value, here, found)
        elif spec.repeated:
            for n, text in enumerate(value):
                if _safe(text, f"{here}[{n}]", found) and spec.is_id and _upper_uuid(text):
                    getattr(message, spec.name)[n] = text.lower()
        elif _safe(value, here, found) and spec.is_id and _upper_uuid(value):
            setattr(message, spec.name, value.lower())


def _walk_map(name: str, entries: Any, value_kind: str | None, found: list[FieldViolation]) -> None:
    for key, value in entries.items():
        path = f"{name}[{key!r}]"
        if isinstance(key, str) and not _safe(key, path, found):
            continue
        if value_kind is _MESSAGE:
            _walk(value, path, found)
        elif value_kind is _TEXT:
            _safe(value, path, found)


def _safe(text: str, path: str, found: list[FieldViolation]) -> bool:
    if is_safe_text(text):
        return True
    found.append(FieldViolation(path, UNSAFE_TEXT))
    return False


def _upper_uuid(text: str) -> bool:
    return text != text.lower() and is_uuid(text)


# A walk's plan of a message type: by field number, the fields that can hold text (strings, and
# messages, lists and maps that hold some), worked out once per type from its descriptor; a
# request's walk skips the rest (numbers, timestamps...) without asking the descriptor again.
_TEXT, _MESSAGE, _MAP = "text", "message", "map"


class _Field(NamedTuple):
    name: str
    kind: str
    repeated: bool = False
    is_id: bool = False  # text: an identifier, made canonical
    value_kind: str | None = None  # map: its values' kind, when they can hold text


def _fields(descriptor: Descriptor, holds: Holds) -> dict[int, _Field]:
    fields = {}
    for field in descriptor.fields:
        spec = _field_plan(field, holds)
        if spec is not None:
            fields[field.number] = spec
    return fields


def _field_plan(field: FieldDescriptor, holds: Holds) -> _Field | None:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        value_kind = _kind(entry.fields_by_name["value"], holds)
        if entry.fields_by_name["key"].type != FieldDescriptor.TYPE_STRING and value_kind is None:
            return None
        return _Field(field.name, _MAP, value_kind=value_kind)
    kind = _kind(field, holds)
    if kind is None:
        return None
    return _Field(field.name, kind, bool(field.is_repeated), is_id_field(field.name))


def _kind(field: FieldDescriptor, holds: Holds) -> str | None:
    if field.type == FieldDescriptor.TYPE_STRING:
        return _TEXT
    message = field.message_type
    if field.type == FieldDescriptor.TYPE_MESSAGE and message is not None and holds(message):
        return _MESSAGE
    return None


_plan = TypePlans(_fields)


def is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and bool(field.message_type.GetOptions().map_entry)
