"""gds' and pagos' hot path on kit.prepared writes and reads what their SQLAlchemy statements did,
on both backends: the same stored rows, the same answers, the row lock, the unique-index errors
the retries rely on (issue #15)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.gds import handlers as gds_handlers
from services.gds import tables as gds
from services.gds.domain import Confirmacion, EstadoConfirmacion
from services.gds.handlers import Handlers
from services.gds.servicer import GdsServicer
from services.kit.db import UnitOfWork, session_factory
from services.pagos import tables as pagos
from services.pagos.domain import EstadoPago, Pago
from tests.support import builders as b

BOGOTA = timezone(timedelta(hours=-5))
CREADA = datetime(2026, 3, 4, 5, 6, 7, 123_456, tzinfo=BOGOTA)  # stored as UTC
CAMBIADA = datetime(2026, 3, 4, 23, 59, 59, 999_999, tzinfo=UTC)


@pytest.fixture
def uow(engine: Engine) -> Callable[[], UnitOfWork]:
    gds.metadata.create_all(engine)
    pagos.metadata.create_all(engine)
    sessions = session_factory(engine)
    return lambda: UnitOfWork(sessions)


def _stored(u: UnitOfWork, table: sa.Table, ids: list[str]) -> list[tuple[Any, ...]]:
    """The rows as the driver reads them back (SQLite's text, MariaDB's DATETIME), without
    their own keys."""
    names = [c.name for c in table.c if c.name not in ("seq", "id", "id_reserva")]
    sql = f"SELECT {', '.join(names)} FROM {table.name} WHERE id IN ({', '.join('?' * len(ids))})"
    if u.session.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    return [tuple(row) for row in u.session.exec_driver_sql(sql + " ORDER BY seq", tuple(ids))]


def _confirmacion(id_reserva: str, localizador: str) -> Confirmacion:
    return Confirmacion(
        f"c-{id_reserva}", id_reserva, localizador, EstadoConfirmacion.CONFIRMADA, CREADA, CAMBIADA
    )


def _pago(id_reserva: str) -> Pago:
    return Pago(
        f"p-{id_reserva}", id_reserva, "cliente-ñ", 2**40 + 7, "COP", "tarjeta-visa",
        EstadoPago.APROBADO, CREADA, CAMBIADA,
    )  # fmt: skip


def _as_sqlalchemy_writes(table: sa.Table, row: Any) -> dict[str, Any]:
    values = {c.name: getattr(row, c.name) for c in table.c if c.name != "seq"}
    return {**values, "estado": row.estado.value}


def test_a_confirmation_is_stored_as_sqlalchemy_stored_it(uow) -> None:  # type: ignore[no-untyped-def]
    with uow() as u:
        ours, theirs = _confirmacion("r-1", "ABC234"), _confirmacion("r-2", "ABC235")
        gds.ConfirmacionRepository(u.session).add(ours)
        u.session.execute(
            gds.confirmaciones.insert(), _as_sqlalchemy_writes(gds.confirmaciones, theirs)
        )
        u.commit()
    with uow().read_only() as r:
        mine, reference = _stored(r, gds.confirmaciones, [ours.id, theirs.id])
    assert mine[1:] == reference[1:] and mine[0] == "ABC234"  # state and both dates, as UTC


def test_a_payment_is_stored_as_sqlalchemy_stored_it(uow) -> None:  # type: ignore[no-untyped-def]
    with uow() as u:
        ours, theirs = _pago("r-1"), _pago("r-2")
        pagos.PagoRepository(u.session).add(ours)
        u.session.execute(pagos.pagos.insert(), _as_sqlalchemy_writes(pagos.pagos, theirs))
        u.commit()
    with uow().read_only() as r:
        mine, reference = _stored(r, pagos.pagos, [ours.id, theirs.id])
    assert mine == reference


def test_reads_answer_as_before_none_tombstone_or_the_whole_row(uow) -> None:  # type: ignore[no-untyped-def]
    with uow() as u:
        confirmaciones = gds.ConfirmacionRepository(u.session)
        confirmaciones.add(_confirmacion("viva", "ABC234"))
        confirmaciones.add_tombstone("lapida-c", "anulada", CREADA)
        pagos_ = pagos.PagoRepository(u.session)
        pagos_.add(_pago("viva"))
        pagos_.add_tombstone("lapida-p", "anulada", CREADA)
        u.commit()
    with uow() as u:
        confirmaciones, pagos_ = (
            gds.ConfirmacionRepository(u.session),
            pagos.PagoRepository(u.session),
        )
        for lock in (False, True):
            assert confirmaciones.for_reserva("ninguna", lock) is None
            assert confirmaciones.for_reserva("anulada", lock) == gds.LAPIDA
            found = confirmaciones.for_reserva("viva", lock)
            assert found == _confirmacion("viva", "ABC234")
            assert isinstance(found, Confirmacion) and found.fecha_creacion.tzinfo == UTC
        assert pagos_.for_reserva("ninguna") is None
        assert pagos_.for_reserva("anulada") == pagos.LAPIDA
        assert pagos_.for_reserva("viva") == _pago("viva")


def test_a_second_row_for_a_booking_or_locator_is_an_integrity_error(uow) -> None:  # type: ignore[no-untyped-def]
    # The idempotency runner retries on IntegrityError (a racing call or a locator collision).
    with uow() as u:
        gds.ConfirmacionRepository(u.session).add(_confirmacion("r-1", "ABC234"))
        pagos.PagoRepository(u.session).add(_pago("r-1"))
        u.commit()
    for write in (
        lambda s: gds.ConfirmacionRepository(s).add(_confirmacion("r-2", "ABC234")),
        lambda s: gds.ConfirmacionRepository(s).add(_confirmacion("r-1", "ABC999")),
        lambda s: pagos.PagoRepository(s).add(_pago("r-1")),
    ):
        with uow() as u, pytest.raises(sa.exc.IntegrityError):
            write(u.session)


def test_a_locator_collision_is_retried_with_a_new_locator(uow, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    servicer = GdsServicer(uow, Handlers(sin_cupo=()), owner_of=lambda _: "")
    monkeypatch.setattr(gds_handlers, "nuevo_localizador", lambda: "ABC234")
    first = servicer.ConfirmarReserva(b.confirmar_reserva("BOG", "MIA"), None).confirmacion
    locators = iter(["ABC234", "XYZ789"])  # the first one is taken
    monkeypatch.setattr(gds_handlers, "nuevo_localizador", lambda: next(locators))
    request = b.confirmar_reserva("BOG", "MIA")
    second = servicer.ConfirmarReserva(request, None).confirmacion
    assert (first.codigo_localizador, second.codigo_localizador) == ("ABC234", "XYZ789")
    with uow() as u:
        assert gds.ConfirmacionRepository(u.session).for_reserva(request.id_reserva) is not None


@pytest.mark.parametrize("backend_url", ["mariadb"], indirect=True)
def test_the_reads_lock_the_booking_against_a_racing_insert(uow) -> None:  # type: ignore[no-untyped-def]
    # The hot path reads a booking with no row yet: FOR UPDATE locks that gap, so a racing
    # call's insert waits for this transaction instead of both going on.
    pairs: list[tuple[Callable[[sa.Connection], object], Callable[[sa.Connection], None]]] = [
        (
            lambda s: gds.ConfirmacionRepository(s).for_reserva("r-gap", lock=True),
            lambda s: gds.ConfirmacionRepository(s).add(_confirmacion("r-gap", "ABC234")),
        ),
        (
            lambda s: pagos.PagoRepository(s).for_reserva("r-gap"),
            lambda s: pagos.PagoRepository(s).add(_pago("r-gap")),
        ),
    ]
    for read, insert in pairs:
        with uow() as holder, uow() as racer:
            assert read(holder.session) is None
            racer.session.exec_driver_sql("SET SESSION innodb_lock_wait_timeout=1")
            with pytest.raises(sa.exc.OperationalError, match="1205"):  # lock wait timeout
                insert(racer.session)
