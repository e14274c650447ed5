"""kit.prepared.Prepared writes what SQLAlchemy's own execute writes, on both backends: the same
rows, the same errors, the row count the fenced writes rely on."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.kit.db import UnitOfWork, UtcDateTime, big_id, db_now, session_factory
from services.kit.prepared import Prepared

metadata = sa.MetaData()
filas = sa.Table(
    "filas",
    metadata,
    sa.Column("seq", big_id(), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("grande", sa.BigInteger, nullable=True),
    sa.Column("texto", sa.Text, nullable=False),
    sa.Column("fecha", UtcDateTime, nullable=True),
    sa.Column("hasta", UtcDateTime, nullable=True),
    sa.Column("cuenta", sa.Integer, nullable=False, server_default="7"),
)
con_defecto = sa.Table(
    "con_defecto",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("v", sa.Integer, default=3),  # computed in Python by SQLAlchemy's execute only
)
COLUMNS = ("id", "n", "grande", "texto", "fecha", "cuenta")
INSERT = Prepared(filas.insert())
CHANGE = Prepared(
    filas.update()
    .where(filas.c.id == sa.bindparam("b_id"), filas.c.n == sa.bindparam("b_n"))
    .values(n=sa.bindparam("v_n"), texto=sa.bindparam("v_texto"), fecha=sa.bindparam("v_fecha"))
)


@pytest.fixture
def uow(engine: Engine):  # type: ignore[no-untyped-def]
    metadata.create_all(engine)
    sessions = session_factory(engine)
    return lambda: UnitOfWork(sessions)


def _row(rng: random.Random, n: int) -> dict[str, Any]:
    zone = timezone(timedelta(hours=rng.choice([-5, 0, 3])))
    return {
        "id": f"fila-{n}-{rng.random()}",
        "n": rng.randint(-(2**31), 2**31 - 1),
        "grande": rng.choice([None, 0, 2**62, -(2**62)]),
        "texto": "".join(
            rng.choice(string.printable + "ñáé€😀'\"%?\\") for _ in range(rng.randint(0, 300))
        ),
        "fecha": rng.choice(
            [None, datetime(2026, 1, 2, 3, 4, 5, rng.randint(0, 999_999), tzinfo=zone)]
        ),
    }


def _read(uow, ids: list[str]) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    with uow().read_only() as r:
        query = sa.select(*(filas.c[c] for c in COLUMNS)).where(filas.c.id.in_(ids))
        return sorted(tuple(row) for row in r.session.execute(query))


def test_rows_written_are_the_rows_sqlalchemy_writes(uow) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(15)
    ours = [_row(rng, n) for n in range(60)]
    theirs = [{**row, "id": row["id"] + "-sa"} for row in ours]
    with uow() as u:
        for row in ours:
            assert INSERT.run(u.session, row) == 1
        for row in theirs:
            u.session.execute(filas.insert(), row)
        u.commit()
    mine, reference = _read(uow, [r["id"] for r in ours]), _read(uow, [r["id"] for r in theirs])
    assert [r[1:] for r in mine] == [r[1:] for r in reference]
    assert all(r[-1] == 7 for r in mine)  # the server's default, as with SQLAlchemy's execute


def test_an_update_counts_the_rows_it_matched_even_unchanged(uow) -> None:  # type: ignore[no-untyped-def]
    row = _row(random.Random(1), 1)
    with uow() as u:
        INSERT.run(u.session, row)
        u.commit()
    same = {"b_id": row["id"], "b_n": row["n"], "v_n": row["n"], "v_texto": row["texto"]}
    with uow() as u:
        # The fenced writes read this count: MariaDB must count a matched row left unchanged.
        assert CHANGE.run(u.session, {**same, "v_fecha": row["fecha"]}) == 1
        assert CHANGE.run(u.session, {**same, "b_n": row["n"] + 1, "v_fecha": None}) == 0
        u.commit()


def test_sql_computed_values_and_errors_are_as_with_sqlalchemy(uow) -> None:  # type: ignore[no-untyped-def]
    row = _row(random.Random(2), 2)
    with uow() as u:
        lease = Prepared(
            filas.update()
            .where(filas.c.id == sa.bindparam("b_id"))
            .values(hasta=db_now(u.session, 60))
        )
        INSERT.run(u.session, row)
        assert lease.run(u.session, {"b_id": row["id"]}) == 1
        u.commit()
    with uow().read_only() as r:
        hasta = r.session.execute(sa.select(filas.c.hasta).where(filas.c.id == row["id"])).scalar()
    assert abs(hasta - (datetime.now(UTC) + timedelta(seconds=60))) < timedelta(seconds=30)
    with uow() as u, pytest.raises(sa.exc.IntegrityError):
        INSERT.run(u.session, row)  # the same unique id
    with uow() as u, pytest.raises(sa.exc.StatementError, match="aware"):
        INSERT.run(u.session, {**row, "id": "naive", "fecha": datetime(2026, 1, 1)})


def test_a_value_only_sqlalchemy_would_compute_is_refused(uow) -> None:  # type: ignore[no-untyped-def]
    with uow() as u, pytest.raises(ValueError, match="defaults"):
        Prepared(con_defecto.insert()).run(u.session, {"id": 1})


def test_a_select_of_plain_columns_reads_what_sqlalchemy_reads(uow) -> None:  # type: ignore[no-untyped-def]
    rows = [_row(random.Random(n), n) for n in (3, 4)]
    query = sa.select(filas.c.texto, filas.c.n, filas.c.grande).where(
        filas.c.id == sa.bindparam("b_id")
    )
    with uow() as u:
        for row in rows:
            INSERT.run(u.session, row)
        u.commit()
    with uow().read_only() as r:
        for row in rows:
            theirs = r.session.execute(query, {"b_id": row["id"]}).first()
            assert Prepared(query).first(r.session, {"b_id": row["id"]}) == tuple(theirs)
        assert Prepared(query).first(r.session, {"b_id": "ninguna"}) is None
        with pytest.raises(ValueError, match="converted"):  # a datetime comes back converted
            Prepared(sa.select(filas.c.fecha)).first(r.session, {})


@pytest.mark.parametrize("backend_url", ["mariadb"], indirect=True)
def test_a_lost_connection_is_reported_as_such_and_replaced(uow, mariadb) -> None:  # type: ignore[no-untyped-def]
    # SQLAlchemy's execute invalidates a connection the server dropped; Prepared must too, or
    # the unit of work's rollback on the dead socket replaces the error (INTERNAL for what is
    # UNAVAILABLE: the orchestrator would compensate instead of retrying).
    with pytest.raises(sa.exc.OperationalError) as lost, uow() as u:
        connection_id = u.session.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
        with mariadb.connect() as admin, admin.cursor() as cursor:
            cursor.execute(f"KILL {connection_id}")
        INSERT.run(u.session, _row(random.Random(5), 5))
    assert lost.value.connection_invalidated
    with uow() as u:  # the pool hands out a working connection
        assert INSERT.run(u.session, _row(random.Random(6), 6)) == 1
        u.commit()
