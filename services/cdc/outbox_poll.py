"""Fallback backend (AEROALPES_CDC_MODO=sondeo) for a server without a usable binlog: each
context's outbox read in ``seq`` order; the last relayed ``seq`` lives in its database's
``cdc_progreso``, which retention reads so that no unrelayed row is pruned."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.cdc.envelope import Change

log = logging.getLogger(__name__)
PROGRESS = "cdc_progreso"
COLUMNS = "seq, id, topico, tipo, fuente, sujeto, datos, fecha"
LOCKED = (1205, 3572)  # lock wait timeout (MariaDB's NOWAIT), ER_LOCK_NOWAIT (MySQL)


class OutboxPoller:
    """One database's outbox. ``seq`` values are handed out when rows are inserted, not when they
    commit: a missing one may still come. Rows past it wait until a locking read of it, one poll
    later at the earliest, neither waits on its writer nor finds it (its writer rolled back)."""

    def __init__(self, engine: Engine, db: str) -> None:
        self.engine, self.db = engine, db
        self.gap: int | None = None  # a missing seq seen in the previous poll
        with engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS `{db}`.{PROGRESS}"
                " (id INT PRIMARY KEY, seq BIGINT NOT NULL)"
            )
            conn.exec_driver_sql(f"INSERT IGNORE INTO `{db}`.{PROGRESS} (id, seq) VALUES (1, 0)")
            self.relayed = int(
                conn.exec_driver_sql(f"SELECT seq FROM `{db}`.{PROGRESS} WHERE id = 1").scalar_one()
            )

    @staticmethod
    def has_outbox(engine: Engine, db: str) -> bool:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT COUNT(*) FROM information_schema.tables"
                    " WHERE table_schema = :db AND table_name = 'outbox'"
                ),
                {"db": db},
            ).scalar_one()
        return bool(found)

    def read(self, limit: int) -> list[Change]:
        """The next committed rows with no possibly-pending row before them."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(f"SELECT {COLUMNS} FROM `{self.db}`.outbox WHERE seq > :after"
                        " ORDER BY seq LIMIT :limit"),
                {"after": self.relayed, "limit": limit},
            ).all()  # fmt: skip
        taken: list[Any] = []
        expected = self.relayed + 1
        for row in rows:
            while expected < row.seq:  # every missing seq before it, one by one
                if not self._gap_closed(expected):
                    return [self._change(r._mapping) for r in taken]
                expected += 1
            taken.append(row)
            expected = row.seq + 1
        return [self._change(row._mapping) for row in taken]

    def _gap_closed(self, missing: int) -> bool:
        if self.gap != missing:  # its writer may be between taking the seq and writing the row
            self.gap = missing
            return False
        options = {"isolation_level": "READ COMMITTED"}  # no gap locks: only its own row
        # The same locking read in each server's words (MySQL 8 has no LOCK IN SHARE MODE NOWAIT).
        nowait = "LOCK IN SHARE MODE NOWAIT" if self._mariadb() else "FOR SHARE NOWAIT"
        try:
            with self.engine.connect().execution_options(**options) as conn:
                found = conn.execute(
                    sa.text(f"SELECT seq FROM `{self.db}`.outbox WHERE seq = :seq {nowait}"),
                    {"seq": missing},
                ).first()
        except sa.exc.OperationalError as error:
            if error.orig is not None and error.orig.args[0] in LOCKED:
                return False  # its writer is still at work
            raise
        if found is not None:
            return False  # committed since our read: the next read takes it, in order
        self.gap = None
        return True

    def _mariadb(self) -> bool:
        if self.engine.dialect.server_version_info is None:
            with self.engine.connect():  # the dialect learns the server's version on connect
                pass
        return bool(getattr(self.engine.dialect, "is_mariadb", False))

    def _change(self, row: Any) -> Change:
        fecha = row["fecha"]
        ts_ms = int(fecha.replace(tzinfo=UTC).timestamp() * 1000) if fecha else 0
        key, at = str(row["id"]), f"{self.db}:outbox:{row['seq']}"
        return Change(self.db, "outbox", "c", None, dict(row), key, at, ts_ms)

    def save(self, changes: list[Change]) -> None:
        """After the broker acknowledged ``changes``: they are never read again."""
        if not changes:
            return
        seq = int(changes[-1].position.rsplit(":", 1)[1])
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE `{self.db}`.{PROGRESS} SET seq = %s WHERE id = 1", (seq,))
        self.relayed = seq
