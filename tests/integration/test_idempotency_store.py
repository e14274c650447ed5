"""The idempotency store in-process on SQLite (services/kit/idempotency.py): keys are kept apart
by key, caller and method; a reused key answers CLAVE_REUTILIZADA; a unique-row race is retried
three times, then ABORTED; stored keys keep their exact form across releases."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from aeroalpes.pagos.v1 import pagos_pb2
from sqlalchemy.orm import Session

from services.kit.db import UnitOfWork, create_engine, session_factory
from services.kit.errors import Conflict, Contention
from services.kit.idempotency import (
    IdempotencyStore,
    Idempotent,
    idempotency_table,
    is_secret,
    scoped_key,
)
from services.kit.identity import SUBJECT_HEADER

Response = pagos_pb2.PagarReservaResponse


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[IdempotencyStore, Any]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'claves.db'}")
    table = idempotency_table(sa.MetaData())
    table.create(engine)
    sessions = session_factory(engine)
    yield IdempotencyStore(table), lambda: UnitOfWork(sessions)
    engine.dispose()


def request(key: str, id_reserva: str = "r1") -> pagos_pb2.PagarReservaRequest:
    return pagos_pb2.PagarReservaRequest(id_reserva=id_reserva, idempotency_key=key)


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, session: Session) -> Any:
        self.runs += 1
        return Response(pago=pagos_pb2.Pago(id=f"p{self.runs}"))


def test_different_keys_are_different_operations(store: tuple[IdempotencyStore, Any]) -> None:
    idempotency, uow = store
    work = Counter()
    first = idempotency.run(uow, "k1", request("k1"), Response, work)
    other = idempotency.run(uow, "k2", request("k2"), Response, work)  # same body, another key
    assert (first.pago.id, other.pago.id, work.runs) == ("p1", "p2", 2)
    assert idempotency.run(uow, "k1", request("k1"), Response, work).pago.id == "p1"
    assert work.runs == 2


def test_a_reused_key_is_refused_with_its_reason(store: tuple[IdempotencyStore, Any]) -> None:
    idempotency, uow = store
    idempotency.run(uow, "k", request("k"), Response, Counter())
    with pytest.raises(Conflict) as refused:
        idempotency.run(uow, "k", request("k", id_reserva="r2"), Response, Counter())
    assert refused.value.reason == "CLAVE_REUTILIZADA"
    assert refused.value.message == "idempotency_key ya se usó con otra solicitud"


def test_a_race_that_never_settles_gives_up_after_three_tries_as_contention(
    store: tuple[IdempotencyStore, Any],
) -> None:
    idempotency, uow = store
    tries = []

    def always_racing(session: Session) -> Any:
        tries.append(1)
        raise sa.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    with pytest.raises(Contention) as gave_up:
        idempotency.run(uow, "k", request("k"), Response, always_racing)
    assert len(tries) == 3
    assert gave_up.value.message == "solicitud concurrente en conflicto; reintente"
    assert gave_up.value.__cause__ is None  # the driver's text stays out of the answer


class Context:
    def __init__(self, subject: str | None) -> None:
        self.subject = subject

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ((SUBJECT_HEADER, self.subject),) if self.subject else ()


def test_once_scopes_keys_by_the_caller(store: tuple[IdempotencyStore, Any]) -> None:
    from services.kit import activity

    activity.configure(None)  # no revocation lookup in this test
    idempotency, uow = store
    once, work = Idempotent(idempotency, uow), Counter()
    ana = once.once(request("k"), Response, work, Context("ana"))
    beto = once.once(request("k"), Response, work, Context("beto"))  # the same key, his own
    internal = once.once(request("k"), Response, work)  # no edge subject: the internal scope
    assert [ana.pago.id, beto.pago.id, internal.pago.id] == ["p1", "p2", "p3"]
    assert once.once(request("k"), Response, work, Context("ana")).pago.id == "p1"
    assert once.once(request("k2"), Response, work, Context("ana")).pago.id == "p4"  # her 2nd key
    assert work.runs == 4


def test_stored_keys_keep_their_form() -> None:
    # Stored keys outlive a release: a new hashing would make a retried request run twice.
    assert scoped_key(None, "k") == hashlib.sha256(b"\nk").hexdigest()
    assert scoped_key("ana", "k") == hashlib.sha256(b"ana\nk").hexdigest()


@pytest.mark.parametrize(
    ("name", "secret"),
    [("password", True), ("nueva_clave", True), ("PIN", True), ("page_token", False),
     ("pinta", False), ("id_cliente", False)],
)  # fmt: skip
def test_a_secret_is_a_field_named_with_a_secret_word(name: str, secret: bool) -> None:
    assert is_secret(SimpleNamespace(name=name)) is secret  # type: ignore[arg-type]


def test_the_table_is_the_one_the_migrations_create() -> None:
    # The migrations create it from idempotency_columns(), and the kit's migration names its
    # index: the primary key is what settles a race between two calls with one key.
    table = idempotency_table(sa.MetaData())
    assert table.name == "idempotency_keys"
    assert [c.name for c in table.primary_key.columns] == ["clave"]
    shape = {
        c.name: (type(c.type).__name__, getattr(c.type, "length", None), c.nullable)
        for c in table.columns
    }
    assert shape == {
        "clave": ("String", 200, False),
        "huella": ("String", 64, False),
        "respuesta": ("LargeBinary", None, False),
        "fecha": ("UtcDateTime", None, False),
    }
    assert [(i.name, [c.name for c in i.columns]) for i in table.indexes] == [
        ("ix_idempotency_keys_fecha", ["fecha"])
    ]
