"""Structured (JSON) logging that carries the current request id on every line.

No personal data by default, at any level: code logs ids, never e-mails or cédulas; as a safety
net for what slips through (an exception's text, a library's message) every line is redacted:
e-mail addresses are masked (``a***@example.com``) and extras named like personal or secret
fields are replaced whole."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

from opentelemetry import trace

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# An address's local part is whatever clientes accepts (domain.email_valido: up to 64
# characters, neither '@' nor a space; accents and apostrophes too), masked whole but for its
# first character. That one is no bracket, quote or separator (``'juana@…'`` and ``<juana@…>``
# keep what wraps the address); after it anything goes, so no local part is masked only from its
# last punctuation on (``email=juana@…`` reads ``e***@…``).
# Found from each '@' with a domain, looking back at most 64 characters: one regex for the
# whole address tried a local part at every character, ~100 µs for 2.6 kB (1 ms without spaces).
_AT_DOMAIN = re.compile(r"@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
_LOCAL = re.compile(r"[^\s@<>()\[\]{}\"',;:=`][^\s@]*\Z")
_SPACE = re.compile(r"\s")
# Extras whose value is personal or secret by name: never written, not even masked.
PERSONAL_FIELDS = frozenset(
    {"email", "cedula", "rut", "nombres", "apellidos", "password", "token", "password_hash"}
)


def mask_email(text: str) -> str:
    """``juana.perez@example.com`` -> ``j***@example.com``: the domain still helps debugging."""
    if "@" not in text:
        return text
    parts: list[str] = []
    done = 0  # text before it is written (an address's local part starts after it)
    for at in _AT_DOMAIN.finditer(text):
        local = _LOCAL.search(text, max(done, at.start() - 64), at.start())
        if local is not None:
            parts += (text[done : local.start() + 1], "***", at.group())
            done = at.end()
    return "".join((*parts, text[done:])) if parts else text


RECORTADO = " […recortado]"  # ends a text cut short
ADDRESS_MAX = 64 + 1 + 255  # characters of an address: local part, '@', domain


def masked_cut(text: str, limit: int, cut: bool = False) -> str:
    """``text`` with its e-mail addresses masked, at most ``limit`` characters: when longer, its
    head and ``RECORTADO``. ``cut``: ``text`` is itself the head of a longer one (a span
    attribute the SDK cut), so it is marked cut too.

    No address is left partly unmasked at the cut. Masking only shortens a text, so the head
    masked is longer than the limit, and ends between two words when one ends within an
    address's length; else its last word, which may be the start of an address the head cut
    before its domain was whole (``juana.perez@corr``), goes before the text is cut. Cutting
    masked text anywhere is safe: every whole address in it reads ``j***@…``."""
    if not cut and len(text) <= limit:
        return mask_email(text)
    end = limit + 256  # a little over the limit: the masked head still fills it
    partial = cut
    if len(text) > end:
        space = _SPACE.search(text, end, end + ADDRESS_MAX)
        end, partial = (space.start(), False) if space else (end, True)
        text = text[:end]
    masked = mask_email(text)
    if partial:  # drop its last word, up to an address's length if it has no space there
        tail = masked[-ADDRESS_MAX:]
        word = max(tail.rfind(" "), tail.rfind("\n"), tail.rfind("\t"), tail.rfind("\r"))
        masked = masked[: len(masked) - len(tail) + word + 1]
    return masked[: limit - len(RECORTADO)] + RECORTADO


def _redacted(key: str, value: object) -> object:
    if key.lower() in PERSONAL_FIELDS:
        return "***"
    return mask_email(value) if isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, request id, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": mask_email(record.getMessage()),
        }
        if rid := request_id.get():
            line["request_id"] = rid
        span = trace.get_current_span().get_span_context()
        if span.is_valid:  # written inside a traced request: find its trace from the log
            line["trace_id"], line["span_id"] = f"{span.trace_id:032x}", f"{span.span_id:016x}"
        line.update(
            {k: _redacted(k, v) for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
        )
        if record.exc_info:
            line["exc"] = mask_email(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
