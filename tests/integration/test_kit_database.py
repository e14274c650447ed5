"""The kit's database pieces on both backends: UTC times, unit of work, outbox, idempotency."""

import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from aeroalpes.pagos.v1 import pagos_pb2
from aeroalpes.reservas.v1 import eventos_pb2
from sqlalchemy.engine import Engine

from services.kit import deadline
from services.kit.db import UnitOfWork, UtcDateTime, session_factory
from services.kit.errors import Conflict
from services.kit.idempotency import IdempotencyStore, fingerprint, idempotency_table
from services.kit.outbox import Outbox, outbox_table

metadata = sa.MetaData()
momentos = sa.Table(
    "momentos", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("t", UtcDateTime)
)
contador = sa.Table(
    "contador", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer)
)
outbox = outbox_table(metadata)
claves = idempotency_table(metadata)


@pytest.fixture
def uow(engine: Engine):  # type: ignore[no-untyped-def]
    metadata.create_all(engine)
    sessions = session_factory(engine)
    return lambda: UnitOfWork(sessions)


def test_datetimes_come_back_aware_utc_with_microseconds(engine: Engine, uow) -> None:  # type: ignore[no-untyped-def]
    bogota = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    with uow() as u:
        u.session.execute(momentos.insert().values(id=1, t=bogota))
        u.commit()
    with uow() as u:
        stored = u.session.execute(sa.select(momentos.c.t)).scalar_one()
    assert stored == bogota and stored.tzinfo == UTC and stored.microsecond == 123456


def test_naive_datetimes_are_refused(engine: Engine, uow) -> None:  # type: ignore[no-untyped-def]
    with uow() as u, pytest.raises(sa.exc.StatementError, match="aware"):
        u.session.execute(momentos.insert().values(id=2, t=datetime(2026, 1, 1)))


def test_unit_of_work_rolls_back_unless_committed(engine: Engine, uow) -> None:  # type: ignore[no-untyped-def]
    with uow() as u:
        u.session.execute(contador.insert().values(id=1, n=1))
    with uow() as u:
        assert u.session.execute(sa.select(sa.func.count()).select_from(contador)).scalar() == 0


def test_outbox_event_is_written_only_with_its_transaction(engine: Engine, uow) -> None:  # type: ignore[no-untyped-def]
    writer = Outbox(outbox, source="aeroalpes/reservas")
    event = eventos_pb2.ReservaCancelada(id_reserva="r1", id_cliente="c1", motivo="x")
    with uow() as u:
        writer.add(u.session, "eventos-reserva", event, subject="r1")  # rolled back
    with uow() as u:
        event_id = writer.add(u.session, "eventos-reserva", event, subject="r1")
        u.commit()
    with uow() as u:
        rows = u.session.execute(sa.select(outbox)).all()
    assert [(r.id, r.topico, r.tipo, r.sujeto) for r in rows] == [
        (event_id, "eventos-reserva", "ReservaCancelada", "r1")
    ]
    assert json.loads(rows[0].datos) == {"idReserva": "r1", "idCliente": "c1", "motivo": "x"}


def test_outbox_refuses_unknown_topics(engine: Engine, uow) -> None:  # type: ignore[no-untyped-def]
    with uow() as u, pytest.raises(ValueError, match="unknown notification topic"):
        Outbox(outbox, "x").add(u.session, "eventos-nada", eventos_pb2.ReservaCreada(), "s")


def pay_request(amount: int) -> pagos_pb2.PagarReservaRequest:
    monto = pagos_pb2.aeroalpes_dot_comun_dot_v1_dot_dinero__pb2.Dinero(  # type: ignore[attr-defined]
        unidades_menores=amount, moneda="COP"
    )
    return pagos_pb2.PagarReservaRequest(id_reserva="r1", monto=monto, idempotency_key="k1")


def test_same_key_replays_the_first_answer_and_runs_once(engine: Engine, uow) -> None:  # type: ignore[no-untyped-def]
    store, runs = IdempotencyStore(claves), []

    def work(session):  # type: ignore[no-untyped-def]
        runs.append(1)
        session.execute(contador.insert().values(id=len(runs), n=len(runs)))
        return pagos_pb2.PagarReservaResponse(pago=pagos_pb2.Pago(id=f"p{len(runs)}"))

    first = store.run(uow, "k1", pay_request(100), pagos_pb2.PagarReservaResponse, work)
    again = store.run(uow, "k1", pay_request(100), pagos_pb2.PagarReservaResponse, work)
    assert first == again and first.pago.id == "p1" and len(runs) == 1
    with pytest.raises(Conflict, match="ya se usó"):
        store.run(uow, "k1", pay_request(999), pagos_pb2.PagarReservaResponse, work)


def test_racing_calls_with_one_key_run_the_work_once(engine: Engine, uow) -> None:  # type: ignore[no-untyped-def]
    store, answers, barrier = IdempotencyStore(claves), [], threading.Barrier(8)

    def work(session):  # type: ignore[no-untyped-def]
        n = session.execute(sa.select(sa.func.count()).select_from(contador)).scalar()
        session.execute(contador.insert().values(id=n + 1, n=n + 1))
        return pagos_pb2.PagarReservaResponse(pago=pagos_pb2.Pago(id=f"p{n + 1}"))

    def client() -> None:
        barrier.wait()
        answers.append(
            store.run(uow, "k-race", pay_request(5), pagos_pb2.PagarReservaResponse, work)
        )

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 8 and len({a.pago.id for a in answers}) == 1
    with uow() as u:
        assert u.session.execute(sa.select(sa.func.count()).select_from(contador)).scalar() == 1


def test_fingerprint_ignores_the_key_only() -> None:
    a, b = pay_request(100), pay_request(100)
    b.idempotency_key = "other"
    assert fingerprint(a) == fingerprint(b) != fingerprint(pay_request(101))


def test_a_read_only_unit_of_work_reads_beside_a_writer_and_cannot_commit(  # type: ignore[no-untyped-def]
    engine: Engine, uow
) -> None:
    with uow() as u:
        u.session.execute(contador.insert().values(id=10, n=1))
        u.commit()
    writer = uow().__enter__()
    try:
        # The writer holds its lock (SQLite's write lock, InnoDB's row lock) with a change
        # not yet committed; a read-only unit of work neither waits for it nor sees it.
        writer.session.execute(contador.update().where(contador.c.id == 10).values(n=2))
        done = threading.Event()
        seen: list[int] = []

        def read() -> None:
            with uow().read_only() as r:
                seen.append(
                    r.session.execute(
                        sa.select(contador.c.n).where(contador.c.id == 10)
                    ).scalar_one()
                )
            done.set()

        threading.Thread(target=read, daemon=True).start()
        # Without read_only the read would wait for the lock (busy_timeout 30 s) and miss this.
        assert done.wait(10), "a read-only unit of work waited for the writer's lock"
        assert seen == [1]
        writer.commit()
    finally:
        writer.__exit__(None, None, None)
    with uow().read_only() as r:
        assert (
            r.session.execute(sa.select(contador.c.n).where(contador.c.id == 10)).scalar_one() == 2
        )
        with pytest.raises(RuntimeError, match="read-only"):
            r.commit()


def test_a_writer_waits_for_a_lock_no_longer_than_its_caller_and_gets_a_database_error(  # type: ignore[no-untyped-def]
    engine: Engine, uow
) -> None:
    with uow() as u:
        u.session.execute(contador.insert().values(id=11, n=1))
        u.commit()
    holder = uow().__enter__()
    try:
        holder.session.execute(contador.update().where(contador.c.id == 11).values(n=2))
        token = deadline.set_remaining(0.3)  # InnoDB waits 1 s at least
        try:
            # SQLite refuses at BEGIN (the write lock), InnoDB at the row: the same kind of
            # error either way, never the driver's own exception.
            with pytest.raises(sa.exc.OperationalError), uow() as waiter:
                waiter.session.execute(contador.update().where(contador.c.id == 11).values(n=3))
        finally:
            deadline.reset(token)
        holder.commit()
    finally:
        holder.__exit__(None, None, None)
    with uow() as u:  # the lock's wait is back to the default: the connection works as before
        u.session.execute(contador.update().where(contador.c.id == 11).values(n=4))
        u.commit()
    with uow().read_only() as r:
        assert (
            r.session.execute(sa.select(contador.c.n).where(contador.c.id == 11)).scalar_one() == 4
        )
