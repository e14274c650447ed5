"""The relay loop: read committed changes, publish them, wait for acks, then checkpoint.

A crash anywhere re-reads from the last checkpoint, so nothing is lost; what may repeat is only
the batch in flight, with the same positions, so consumers can drop it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from services.cdc import sqlite_changes
from services.cdc.checkpoint import Checkpoint, SqlitePositions
from services.cdc.config import CdcConfig
from services.cdc.envelope import Change, cdc_message, outbox_message
from services.cdc.estado import Tracker
from services.cdc.outbox_poll import OutboxPoller
from services.kit import faults
from services.kit.db import create_engine
from services.kit.pulsar import OutMessage, Publisher, client, publish_spans

log = logging.getLogger(__name__)
BATCH = 500
# SQLite: relayed changes are deleted from a database's change table at most this often, not on
# every poll (a DELETE takes the write lock its service's transactions wait for).
PRUNE_EVERY_S = 5.0


class Relay:
    def __init__(
        self, config: CdcConfig, clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)
    ) -> None:
        self.config = config
        self.clock_ms = clock_ms
        self.stopping = threading.Event()
        self.published = 0  # messages acknowledged since start, for logs and benchmarks
        # False from start and after any failure, True after a cycle that read and published:
        # what the health endpoint reports (with the broker's reachability); ``error`` says why.
        self.ok = False
        self.error = "starting"
        self.tracker = Tracker(config.backend, clock_ms)
        self._schema: dict[str, int] = {}  # SQLite: the schema version each db's triggers match
        self.fault_before_ack = faults.before_ack()  # test-only; a no-op unless set

    def route(self, change: Change) -> OutMessage | None:
        if change.table == "outbox" and change.db in self.config.outbox_dbs:
            return outbox_message(change) if change.op == "c" else None
        if (change.db, change.table) in self.config.watched:
            return cdc_message(change, self.config.excluded, self.clock_ms())
        return None

    def messages(self, changes: list[Change]) -> list[OutMessage]:
        return [m for m in (self.route(c) for c in changes) if m is not None]

    def alive(self) -> None:
        """The source answered: healthy (while the broker answers too)."""
        self.ok = True
        self.tracker.read()

    def publish(self, publisher: Publisher, changes: list[Change]) -> int:
        """Publishes what ``changes`` route to; returns, with how many, once all are acked."""
        messages = self.messages(changes)
        if messages:
            self.tracker.sending(changes)
            with publish_spans(messages) as traced:
                self.fault_before_ack()
                publisher.send_all(traced)
            self.published += len(messages)
            self.tracker.acknowledged(len(messages))
        return len(messages)

    def run_forever(self) -> None:
        """Runs the backend, and after any failure (database or broker gone) starts it again from
        the checkpoint with capped backoff."""
        delay = 0.5
        while not self.stopping.is_set():
            started = time.monotonic()
            publisher = None
            try:
                publisher = Publisher(client(self.config.pulsar_url))
                if self.config.db_url and self.config.mode == "sondeo":
                    self._run_sondeo(publisher)
                elif self.config.db_url:
                    self._run_binlog(publisher)
                else:
                    self._run_sqlite(publisher)
            except Exception as error:
                self.ok, self.error = False, f"relay interrupted ({error})"
                self.tracker.health(False, self.error)  # now, not at the next health check
                if time.monotonic() - started > 30:
                    delay = 0.5
                log.warning(
                    "relay interrupted (%s); resuming from the checkpoint in %.1fs", error, delay
                )
                self.stopping.wait(delay)
                delay = min(10.0, delay * 2)
            finally:
                if publisher is not None:
                    publisher.close()
                    publisher.client.close()

    # --- MySQL / MariaDB

    def _run_binlog(self, publisher: Publisher) -> None:
        # Here, not at the top: the binlog reader (pymysql, mysql-replication) is ~3 MB a relay
        # on SQLite, the default, would hold for nothing.
        from services.cdc import binlog

        heartbeat_s = self.config.heartbeat_ms / 1000
        settings = binlog.connection_settings(self.config.db_url or "", heartbeat_s)
        checkpoint = Checkpoint(self.config.checkpoint_dir / "binlog.json")
        position = checkpoint.load() or binlog.first_position(settings, self.config.start)
        log.info("reading the binlog from %s:%s", position["log_file"], position["log_pos"])
        last_save = time.monotonic()
        source = binlog.Prefetch(
            binlog.transactions(
                settings,
                self.config.server_id,
                position,
                sorted(self.config.databases),
                heartbeat_s,
                sorted(self.config.tables),
            )
        )
        try:
            while not self.stopping.is_set():
                # Whatever was read while the previous batch was on its way, whole transactions:
                # published together, then checkpointed at the last one's end once every message
                # of them is acknowledged (a failure raises before the save: all of it again).
                batch = source.batch(BATCH, wait_s=0.5)
                if not batch:
                    continue
                # Healthy once the stream delivers something (a rotate at once, a heartbeat
                # while idle): a connection through a partition reads nothing, a lost one raises.
                self.alive()
                ends = [t.position for t in batch if t.position is not None]
                if not ends:
                    continue
                published = self.publish(publisher, [c for t in batch for c in t.changes])
                # Transactions of other databases move the position too: save those now and then.
                if published or time.monotonic() - last_save > 1:
                    checkpoint.save(ends[-1])
                    last_save = time.monotonic()
        finally:
            source.close()

    # --- SQLite

    def _run_sqlite(self, publisher: Publisher) -> None:
        checkpoint = Checkpoint(self.config.checkpoint_dir / "sqlite.json")
        positions = SqlitePositions(checkpoint.load() or {})
        connections: dict[str, Any] = {}
        installed: dict[str, set[str]] = {}
        dates: dict[str, dict[str, set[str]]] = {}
        pruned: dict[str, float] = {}
        try:
            while not self.stopping.is_set():
                busy = False
                for db in sorted(self.config.databases):
                    conn = self._sqlite_connection(db, connections, installed, dates, positions)
                    if conn is None:
                        continue
                    rows = sqlite_changes.read(conn, db, positions.seq(db), BATCH, dates[db])  # type: ignore[arg-type]
                    if not rows:
                        continue
                    self.publish(publisher, [change for _, change in rows])
                    positions.advance(db, rows[-1][0])
                    checkpoint.save(positions.saved())
                    if time.monotonic() - pruned.get(db, -PRUNE_EVERY_S) >= PRUNE_EVERY_S:
                        sqlite_changes.forget(conn, positions.seq(db))  # type: ignore[arg-type]
                        pruned[db] = time.monotonic()
                    busy = busy or len(rows) == BATCH
                self.alive()
                if not busy:
                    self.stopping.wait(self.config.poll_ms / 1000)
        finally:
            for conn, _inode in connections.values():
                conn.close()

    # --- MySQL / MariaDB without a usable binlog: poll the outboxes, row-level CDC off

    def _run_sondeo(self, publisher: Publisher) -> None:
        engine = create_engine(self.config.db_url or "")
        pollers: dict[str, OutboxPoller] = {}
        try:
            while not self.stopping.is_set():
                busy = False
                for db in sorted(self.config.outbox_dbs):
                    if db not in pollers:
                        if not OutboxPoller.has_outbox(engine, db):
                            continue  # its service has not migrated yet
                        pollers[db] = OutboxPoller(engine, db)
                    changes = pollers[db].read(BATCH)
                    self.publish(publisher, changes)
                    pollers[db].save(changes)
                    busy = busy or len(changes) == BATCH
                self.alive()
                if not busy:
                    self.stopping.wait(self.config.poll_ms / 1000)
        finally:
            engine.dispose()

    def _sqlite_connection(
        self,
        db: str,
        connections: dict[str, Any],
        installed: dict[str, set[str]],
        dates: dict[str, dict[str, set[str]]],
        positions: SqlitePositions,
    ) -> Any:
        """The database's connection, with triggers on every table that exists so far; a file
        replaced under us is opened again and, being another database, read from its start."""
        path = self.config.var_dir / f"{db}.db"
        if not path.exists():
            return None
        inode = path.stat().st_ino
        if db in connections and connections[db][1] != inode:
            connections.pop(db)[0].close()
        if db not in connections:
            conn = sqlite_changes.connect(path)
            connections[db] = (conn, inode)
            installed[db] = set()
            self._schema.pop(db, None)  # another file: its triggers are made whatever its version
            positions.bind(db, sqlite_changes.identity(conn))
        conn = connections[db][0]
        wanted = {t for d, t in self.config.watched if d == db}
        if db in self.config.outbox_dbs:
            wanted.add("outbox")
        # Again after any schema change (a migration adding a table or a column): triggers copy
        # the columns that existed when they were made. Only then: a table still missing (its
        # service not migrated, or never there) comes with a schema change, and making triggers
        # on every poll took the write lock from the service and re-prepared its statements.
        if sqlite_changes.schema_version(conn) != self._schema.get(db):
            installed[db], self._schema[db] = sqlite_changes.install(
                conn, sorted(wanted), self.config.excluded
            )
            dates[db] = {t: sqlite_changes.datetime_columns(conn, t) for t in installed[db]}
            if installed[db]:
                log.info("capturing %s: %s", db, ", ".join(sorted(installed[db])))
        return conn if installed[db] else None
