"""The saga log in its tables, in-process on SQLite: a saga reads back exactly as written, its
row columns, its log lines, the events it announces on eventos-saga, fenced writes and keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.kit import deadline
from services.kit.db import UnitOfWork, create_engine, session_factory
from services.kit.errors import BusinessRefusal, Conflict, DeadlineTooShort, NotFound
from services.sagas import tables
from services.sagas.domain import Saga
from services.sagas.leases import LeaseLost
from services.sagas.store import SagaStore
from tests.support.builders import new_id

T0 = datetime(2027, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'sagas.db'}")
    tables.metadata.create_all(engine)
    yield engine
    engine.dispose()


def store(db: Engine, owner: str = "yo") -> SagaStore:
    sessions = session_factory(db)
    return SagaStore(lambda: UnitOfWork(sessions), owner, timedelta(seconds=30), clock=lambda: T0)


def nueva() -> Saga:
    datos: dict[str, Any] = {"id_reserva": new_id(), "monto_total": 1000, "nested": {"b": [1, 2]}}
    return Saga.nueva(
        new_id(), "reserva", ["crear_reserva", "pagar_reserva", "confirmar_gds"], datos,
        new_id(), T0, T0 + timedelta(minutes=1), version_definicion=2,
    )  # fmt: skip


def rows(db: Engine, query: str, **params: Any) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(sa.text(query), params))


def outbox(db: Engine, id_saga: str) -> list[tuple[str, str, dict[str, Any]]]:
    found = rows(
        db, "SELECT topico, tipo, datos FROM outbox WHERE sujeto = :s ORDER BY seq", s=id_saga
    )
    return [(topico, tipo, json.loads(datos)) for topico, tipo, datos in found]


def test_a_saga_reads_back_exactly_as_written(db: Engine) -> None:
    s = store(db)
    created, new = s.create(nueva(), "clave", "huella")
    assert new and created.version == 1 and created.eventos == ()
    t = [T0 + timedelta(seconds=n) for n in range(1, 6)]
    saga = created.intento_accion(0, t[0]).paso_exitoso(0, {"id_pago": "p-1"}, t[1])
    saga = saga.intento_accion(1, t[2]).paso_fallido(1, "x" * 600, True, t[3])
    saved = s.save(saga)
    assert saved.version == 2 and saved.eventos == ()
    loaded = s.load(created.id)
    # Steps, times, data: nothing lost or changed on the way; the reason is kept to 500
    # characters, and what save returns is the saga as stored (waiters answer clients with it).
    assert loaded == saved and loaded.motivo == "x" * 500
    assert loaded is not None and loaded.pasos[1].incierto and loaded.version_definicion == 2
    [row] = rows(
        db,
        "SELECT estado, paso_actual, id_reserva, id_pago, codigo_localizador, motivo, propietario,"
        " version, aparcamientos FROM sagas WHERE id = :id",
        id=created.id,
    )
    assert tuple(row) == (
        "COMPENSANDO",
        1,
        saga.datos["id_reserva"],
        "p-1",
        "",
        "x" * 500,
        "yo",
        2,
        0,
    )
    log = rows(
        db, "SELECT version, paso, tipo, detalle, propietario FROM saga_eventos"
        " WHERE id_saga = :id ORDER BY seq", id=created.id,
    )  # fmt: skip
    assert [tuple(r) for r in log] == [
        (1, -1, "SAGA_INICIADA", "", "yo"),
        (2, 0, "PASO_INICIADO", "intento 1", "yo"),
        (2, 0, "PASO_EXITOSO", "", "yo"),
        (2, 1, "PASO_INICIADO", "intento 1", "yo"),
        (2, 1, "PASO_FALLIDO", "x" * 500, "yo"),
    ]
    assert s.load(new_id()) is None


def test_each_ending_is_announced_with_its_fields(db: Engine) -> None:
    s = store(db)
    done, _ = s.create(nueva(), "k1", "h")
    done = s.save(done.intento_accion(0, T0).paso_exitoso(0, {"codigo_localizador": "ABC123"}, T0))
    done = s.save(done.completar(T0))
    parked, _ = s.create(nueva(), "k2", "h")
    parked = s.save(parked.intento_accion(0, T0).paso_fallido(0, "no", False, T0))
    parked = s.save(parked.fallida(0, "caído", T0, T0 + timedelta(minutes=5)))
    parked = s.save(parked.reanudar(T0, "operador").fallida(0, "sigue", T0, T0))  # not news
    parked = s.save(parked.reanudar(T0, "operador").compensada(T0))
    c, p = done.datos, parked.datos
    assert outbox(db, done.id) == [
        ("eventos-saga", "SagaIniciada", {"idSaga": done.id, "idCliente": done.id_cliente,
                                          "fechaInicio": "2027-03-01T12:00:00.123456Z"}),
        ("eventos-saga", "SagaCompletada", {
            "idSaga": done.id, "idCliente": done.id_cliente, "idReserva": c["id_reserva"],
            "codigoLocalizador": "ABC123", "fechaFin": "2027-03-01T12:00:00.123456Z"}),
    ]  # fmt: skip
    announced = outbox(db, parked.id)
    assert [tipo for _, tipo, _ in announced] == ["SagaIniciada", "SagaFallida", "SagaCompensada"]
    at = "2027-03-01T12:00:00.123456Z"
    assert announced[1][2] == {
        "idSaga": parked.id, "idCliente": parked.id_cliente, "idReserva": p["id_reserva"],
        "motivo": "compensación de crear_reserva agotó sus reintentos: caído", "fechaFallo": at,
    }  # fmt: skip
    assert announced[2][2] == {
        "idSaga": parked.id, "idCliente": parked.id_cliente, "idReserva": p["id_reserva"],
        "motivo": parked.motivo, "fechaFin": at,
    }  # fmt: skip
    sources = rows(db, "SELECT DISTINCT fuente FROM outbox")
    assert [tuple(r) for r in sources] == [("aeroalpes/sagas",)]
    [(codigo,)] = rows(db, "SELECT codigo_localizador FROM sagas WHERE id = :id", id=done.id)
    assert codigo == "ABC123"


def test_writes_are_fenced_on_owner_and_version(db: Engine) -> None:
    mine = store(db, "yo")
    saga, _ = mine.create(nueva(), "k", "h")
    with pytest.raises(LeaseLost) as lost:
        store(db, "otro").save(saga.intento_accion(0, T0))  # not its saga
    assert lost.value.args == (saga.id,)
    mine.save(saga.intento_accion(0, T0))
    [(lease,)] = rows(db, "SELECT lease_hasta FROM sagas WHERE id = :id", id=saga.id)
    assert lease is not None  # each write renews the lease, or nobody could ever take it over
    assert not store(db, "otro").leases.claim(saga.id)  # and it is live
    with pytest.raises(LeaseLost):
        mine.save(saga.intento_accion(0, T0))  # a stale version: someone wrote since
    assert mine.load(saga.id).version == 2  # type: ignore[union-attr]


def test_a_key_names_one_saga_and_one_request(db: Engine) -> None:
    s = store(db)
    first, created = s.create(nueva(), "k", "h1")
    again, created_again = s.create(nueva(), "k", "h1")
    assert created and not created_again and again.id == first.id
    assert s.existing("k", "h1") == again and s.existing("otra", "h1") is None
    with pytest.raises(Conflict) as reused:
        s.existing("k", "h2")
    assert reused.value.reason == "CLAVE_REUTILIZADA"


def parked(s: SagaStore, key: str, proximo: datetime) -> Saga:
    saga, _ = s.create(nueva(), key, "h")
    saga = s.save(saga.intento_accion(0, T0).paso_exitoso(0, {}, T0))
    saga = s.save(saga.intento_accion(1, T0).paso_fallido(1, "no", False, T0))
    saga = s.save(saga.intento_compensacion(0, T0))
    return s.save(saga.fallida(0, "caído", T0, proximo))


def test_an_operator_resumes_only_a_parked_saga_taking_it_over(db: Engine) -> None:
    s, operator_side = store(db, "yo"), store(db, "operador")
    saga = parked(s, "k", T0 + timedelta(hours=1))
    seen: list[str] = []
    with UnitOfWork(session_factory(db)) as uow:
        resumed = operator_side.resume(uow.session, saga.id, lambda x: seen.append(x.id))
        uow.commit()
    assert seen == [saga.id]  # the caller's check saw it before anything changed
    assert (resumed.estado.value, resumed.version, resumed.proximo_intento) == (
        "COMPENSANDO", saga.version + 1, None,
    )  # fmt: skip
    assert [p.intentos_compensacion for p in resumed.pasos] == [0, 0, 0]
    assert operator_side.load(saga.id) == resumed
    [(owner,)] = rows(db, "SELECT propietario FROM sagas WHERE id = :id", id=saga.id)
    assert owner == "operador"
    assert s.log(saga.id)[-1][:2] == ("SAGA_REANUDADA", -1)
    with UnitOfWork(session_factory(db)) as uow, pytest.raises(BusinessRefusal) as refused:
        operator_side.resume(uow.session, saga.id)  # no longer parked
    assert refused.value.reason == "SAGA_NO_FALLIDA"
    with UnitOfWork(session_factory(db)) as uow, pytest.raises(NotFound):
        operator_side.resume(uow.session, new_id())


def test_a_parked_saga_is_work_only_once_its_next_attempt_is_due(db: Engine) -> None:
    s = store(db, "yo")
    later = parked(s, "k1", T0 + timedelta(hours=1))  # due in an hour (on the db clock)
    now = parked(s, "k2", T0)  # due at once
    other = store(db, "otro")
    assert other.leases.claimable() == [now.id]
    assert not other.leases.claim(now.id)  # due, but the parking orchestrator's lease is live
    assert s.leases.claim(now.id) and not s.leases.claim(later.id)


def test_pages_filter_by_state_and_customer_newest_first(db: Engine) -> None:
    s = store(db)
    first, _ = s.create(nueva(), "k1", "h")
    second, _ = s.create(nueva(), "k2", "h")
    done = s.save(second.completar(T0))
    assert [x.id for x in s.page(None, "", None, 10)[0]] == [second.id, first.id]
    assert [x.id for x in s.page(done.estado, "", None, 10)[0]] == [second.id]
    assert [x.id for x in s.page(None, first.id_cliente, None, 10)[0]] == [first.id]
    page, following = s.page(None, "", None, 1)
    assert [x.id for x in page] == [second.id] and following is not None
    assert [x.id for x in s.page(None, "", following, 1)[0]] == [first.id]
    assert [t for t, _, _ in s.log(second.id, limit=1)] == ["SAGA_COMPLETADA"]


def test_a_parked_traced_saga_reads_back_whole(db: Engine) -> None:
    s = store(db)
    traza = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    base = nueva()
    saga = Saga.nueva(
        base.id, base.tipo, [p.nombre for p in base.pasos], base.datos, base.id_cliente, T0,
        base.fecha_limite, traza=traza,
    )  # fmt: skip
    created, _ = s.create(saga, "k", "h")
    saved = s.save(created.intento_accion(0, T0).paso_fallido(0, "no", True, T0))
    saved = s.save(saved.intento_compensacion(0, T0).fallida(0, "caído", T0, T0))
    loaded = s.load(saga.id)
    assert loaded is not None and loaded.proximo_intento is not None  # on the database's clock
    assert loaded == replace(saved, proximo_intento=loaded.proximo_intento)
    assert (loaded.traza, loaded.aparcamientos, loaded.proximo_intento is not None) == (
        traza, 1, True,
    )  # fmt: skip


def test_resuming_touches_only_that_saga_and_logs_who(db: Engine) -> None:
    s = store(db, "yo")
    one, two = parked(s, "k1", T0), parked(s, "k2", T0)  # the same version, both parked
    before = s.load(two.id)
    with UnitOfWork(session_factory(db)) as uow:
        resumed = s.resume(uow.session, one.id)
        uow.commit()
    assert s.load(two.id) == before  # untouched
    [(version, detalle)] = rows(
        db, "SELECT version, detalle FROM saga_eventos WHERE id_saga = :id AND tipo = :t",
        id=one.id, t="SAGA_REANUDADA",
    )  # fmt: skip
    assert (version, detalle) == (resumed.version, "operador") == (one.version + 1, "operador")
    [(lease,)] = rows(db, "SELECT lease_hasta FROM sagas WHERE id = :id", id=one.id)
    assert lease is not None
    missing = new_id()
    with UnitOfWork(session_factory(db)) as uow, pytest.raises(NotFound) as absent:
        s.resume(uow.session, missing)
    assert (absent.value.resource_type, absent.value.resource_name) == ("saga", missing)
    with UnitOfWork(session_factory(db)) as uow, pytest.raises(BusinessRefusal) as refused:
        s.resume(uow.session, one.id)
    assert refused.value.message == "solo se reanuda una saga FALLIDA; esta está COMPENSANDO"


def test_leases_are_renewed_taken_and_given_back_only_for_ours(db: Engine) -> None:
    short = SagaStore(
        lambda: UnitOfWork(session_factory(db)), "yo", timedelta(seconds=0), clock=lambda: T0
    )
    saga, _ = short.create(nueva(), "k", "h")  # its lease is over at once
    [(id_pago,)] = rows(db, "SELECT id_pago FROM sagas WHERE id = :id", id=saga.id)
    assert id_pago == ""  # nothing paid yet
    store(db, "yo").save(saga.intento_accion(0, T0))  # a write renews it for 30 s
    assert not store(db, "otro").leases.claim(saga.id)
    lapsed, _ = short.create(nueva(), "k2", "h")
    taker = store(db, "otro")
    assert taker.leases.claim(lapsed.id)
    [(lease,)] = rows(db, "SELECT lease_hasta FROM sagas WHERE id = :id", id=lapsed.id)
    assert lease is not None and not store(db, "yo").leases.claim(lapsed.id)
    assert store(db, "yo").leases.release() == 1  # only its own active saga, not the taker's
    assert not store(db, "tercero").leases.claim(lapsed.id)


def test_a_new_saga_whose_caller_stopped_waiting_is_not_written(db: Engine) -> None:
    # On SQLite a new saga goes through the group-commit writer, outside its caller's thread:
    # the writer still refuses to commit it once the caller's deadline has passed, as a unit of
    # work of its own would, and the saga written beside it is unaffected.
    s = store(db)
    token = deadline.set_remaining(-1)
    try:
        with pytest.raises(DeadlineTooShort):
            s.create(nueva(), "tarde", "huella")
    finally:
        deadline.reset(token)
    on_time, created = s.create(nueva(), "a-tiempo", "huella")
    assert created
    assert [r[0] for r in rows(db, "SELECT idempotency_key FROM sagas")] == ["a-tiempo"]
    assert (
        rows(db, "SELECT COUNT(*) FROM saga_eventos WHERE id_saga <> :i", i=on_time.id)[0][0] == 0
    )
