"""Opaque page tokens for keyset paging over a table's monotonically increasing ``seq``."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection

from services.kit.errors import FieldViolation, InvalidRequest

DEFAULT_PAGE_SIZE = 20


def page_size(requested: int) -> int:
    return requested or DEFAULT_PAGE_SIZE


MAX_SEQ = 2**63 - 1  # the largest BIGINT: anything larger never came from us
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{4,64}={0,2}$")


def encode(last_seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{last_seq}".encode()).decode()


def decode(token: str) -> int | None:
    """The ``seq`` to continue below (newest first), None for the first page.

    Only a token ``encode`` could have written is accepted (checked by writing it again), so
    huge, negative, padded, non-ASCII or otherwise forged values answer INVALID_ARGUMENT
    before they reach SQL, where they would overflow or read a meaningless page."""
    if not token:
        return None
    seq = _seq_of(token) if _TOKEN.fullmatch(token) else None
    if seq is None or encode(seq) != token:
        raise InvalidRequest([FieldViolation("page_token", "no es un token de página válido")])
    return seq


def _seq_of(token: str) -> int | None:
    try:
        kind, _, value = base64.urlsafe_b64decode(token).decode("ascii").partition(":")
    except (binascii.Error, ValueError):
        return None
    if kind == "seq" and value.isascii() and value.isdigit() and 0 < int(value) <= MAX_SEQ:
        return int(value)
    return None


def keyset_page(
    session: Connection, query: sa.Select[Any], table: sa.Table, antes_de: int | None, limite: int
) -> tuple[list[sa.Row[Any]], int | None]:
    """One page of ``query`` over ``table``, newest ``seq`` first, and the ``seq`` to continue
    below when there is a next page (one extra row is read to know)."""
    if antes_de is not None:
        query = query.where(table.c.seq < antes_de)
    rows = session.execute(query.order_by(table.c.seq.desc()).limit(limite + 1)).all()
    return list(rows[:limite]), rows[limite - 1].seq if len(rows) > limite else None


E = TypeVar("E")


@dataclass(frozen=True)
class ListQuery(Generic[E]):
    """A List request's common fields, checked: filter by state and customer, one page."""

    estado: E | None
    id_cliente: str  # as asked: the servicer scopes it to the caller
    antes_de: int | None
    limite: int


def list_query(request: Any, estados: Mapping[int, E]) -> ListQuery[E]:
    """The query, once the page token decodes (``id_cliente``, ``estado`` and ``page_size`` are
    rules of the contract, checked by the kit before the servicer)."""
    return ListQuery(
        estados.get(request.estado),
        request.id_cliente,
        decode(request.page_token),
        page_size(request.page_size),
    )


def next_token(siguiente: int | None) -> str:
    """The response's ``next_page_token``: empty on the last page."""
    return encode(siguiente) if siguiente is not None else ""
