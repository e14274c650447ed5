"""Opaque page tokens for keyset paging over a table's monotonically increasing ``seq``."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.kit.errors import FieldViolation, InvalidRequest

DEFAULT_PAGE_SIZE = 20


def page_size(requested: int) -> int:
    return requested or DEFAULT_PAGE_SIZE


def encode(last_seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{last_seq}".encode()).decode()


def decode(token: str) -> int | None:
    """The ``seq`` to continue below (newest first), None for the first page."""
    if not token:
        return None
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "seq" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise InvalidRequest([FieldViolation("page_token", "no es un token de página válido")])


def keyset_page(
    session: Session, query: sa.Select[Any], table: sa.Table, antes_de: int | None, limite: int
) -> tuple[list[sa.Row[Any]], int | None]:
    """One page of ``query`` over ``table``, newest ``seq`` first, and the ``seq`` to continue
    below when there is a next page (one extra row is read to know)."""
    if antes_de is not None:
        query = query.where(table.c.seq < antes_de)
    rows = session.execute(query.order_by(table.c.seq.desc()).limit(limite + 1)).all()
    return list(rows[:limite]), rows[limite - 1].seq if len(rows) > limite else None
