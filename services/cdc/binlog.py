"""MySQL/MariaDB backend: reads the binlog (ROW, full metadata) one whole transaction at a time."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import HeartbeatLogEvent, RotateEvent, XidEvent
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from services.cdc.envelope import Change
from services.kit.preflight import connect_args

log = logging.getLogger(__name__)
HEARTBEAT_S = 5


@dataclass(frozen=True)
class Transaction:
    changes: list[Change]
    position: dict[str, Any] | None  # where to resume after it (its XID); None: a heartbeat


def connection_settings(db_url: str, heartbeat_s: float = HEARTBEAT_S) -> dict[str, Any]:
    """As the services connect (socket, TLS, charset from the URL), and a read timeout: the
    server sends a heartbeat every ``heartbeat_s`` while idle, so a stream silent for three of
    them is dead (a partition, a firewall that dropped the connection) and is opened again."""
    return {**connect_args(db_url), "read_timeout": 3 * heartbeat_s}


def first_position(settings: dict[str, Any], start: str) -> dict[str, Any]:
    """Without a checkpoint: the oldest binlog still on the server, or its current end."""
    with pymysql.connect(**settings) as conn, conn.cursor() as cur:
        if start == "ahora":
            cur.execute("SHOW MASTER STATUS")
            file, position = cur.fetchone()[:2]
            return {"log_file": file, "log_pos": int(position)}
        cur.execute("SHOW BINARY LOGS")
        return {"log_file": cur.fetchone()[0], "log_pos": 4}


def _key(event: Any, row: dict[str, Any]) -> str:
    pk = event.primary_key
    if isinstance(pk, tuple | list):
        return ":".join(str(row[c]) for c in pk)
    return str(row[pk]) if pk else ""


def transactions(
    settings: dict[str, Any],
    server_id: int,
    position: dict[str, Any],
    schemas: list[str],
    heartbeat_s: float = HEARTBEAT_S,
    tables: list[str] | None = None,
) -> Generator[Transaction, None, None]:
    """Committed transactions from ``position`` on; blocks waiting for new ones. ``tables``
    (names, in any of ``schemas``): the row events of other tables are skipped unread."""
    stream = BinLogStreamReader(
        connection_settings=settings,
        server_id=server_id,
        resume_stream=True,
        log_file=position["log_file"],
        log_pos=position["log_pos"],
        blocking=True,
        # Heartbeats (while idle) and the rotate that opens a stream prove the stream is alive.
        only_events=[
            WriteRowsEvent,
            UpdateRowsEvent,
            DeleteRowsEvent,
            XidEvent,
            HeartbeatLogEvent,
            RotateEvent,
        ],
        only_schemas=schemas,
        # Rows are decoded in Python: the saga log's wide rows (sagas.sagas, saga_eventos), which
        # the relay drops, cost more to decode than everything it publishes (issue #15).
        only_tables=tables,
        # is_mariadb=True makes the reader ignore log_file/log_pos and start over; the plain
        # file/position protocol resumes correctly on MariaDB and MySQL alike.
        is_mariadb=False,
        slave_heartbeat=heartbeat_s,
    )
    try:
        changes: list[Change] = []
        for event in stream:
            if isinstance(event, HeartbeatLogEvent | RotateEvent):
                if not changes:  # between transactions: alive, nothing to save
                    yield Transaction([], None)
                continue
            if isinstance(event, XidEvent):
                # Only here is the position a transaction boundary safe to resume from.
                yield Transaction(changes, {"log_file": stream.log_file, "log_pos": stream.log_pos})
                changes = []
                continue
            ts_ms = int(event.timestamp) * 1000
            at = f"{stream.log_file}:{event.packet.log_pos}"
            for n, row in enumerate(event.rows):
                if isinstance(event, WriteRowsEvent):
                    op, before, after = "c", None, row["values"]
                elif isinstance(event, UpdateRowsEvent):
                    op, before, after = "u", row["before_values"], row["after_values"]
                else:
                    op, before, after = "d", row["values"], None
                key = _key(event, after or before or {})
                changes.append(
                    Change(event.schema, event.table, op, before, after, key, f"{at}:{n}", ts_ms)
                )
    finally:
        stream.close()


class Prefetch:
    """Reads transactions on a thread of its own, so that the relay publishes one batch while
    the binlog of the next is read. What it holds is bounded in changes (``max_changes``, a few
    of the relay's batches; a larger transaction still passes alone) and in items (``depth``:
    heartbeats have no changes): while the relay cannot publish, the reader waits instead of
    pulling the backlog into memory. A failure of the stream is raised to whoever takes the
    next batch; ``close`` stops the thread at its next event (a heartbeat at latest)."""

    def __init__(
        self,
        source: Generator[Transaction, None, None],
        depth: int = 10_000,
        max_changes: int = 2_000,
    ) -> None:
        self._source = source
        self._depth = depth
        self._max_changes = max_changes
        self._items: deque[Transaction | BaseException] = deque()
        self._held = 0  # changes in _items
        self._ready = threading.Condition()
        self._closed = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="binlog-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for transaction in self._source:
                if not self._put(transaction):
                    break
        except Exception as error:
            self._put(error)
        finally:
            self._source.close()

    def _full(self, size: int) -> bool:
        return len(self._items) >= self._depth or (
            bool(self._items) and self._held + size > self._max_changes
        )

    def _put(self, item: Transaction | BaseException) -> bool:
        size = len(item.changes) if isinstance(item, Transaction) else 0
        with self._ready:
            while self._full(size):
                if self._closed.is_set():
                    return False
                self._ready.wait(0.5)
            if self._closed.is_set():
                return False
            self._items.append(item)
            self._held += size
            self._ready.notify_all()
        return True

    def batch(self, max_changes: int, wait_s: float) -> list[Transaction]:
        """The transactions read so far, whole, in order, up to about ``max_changes`` changes:
        waits up to ``wait_s`` for the first, then takes only what is already there. A failure
        of the stream is raised once what was read before it has been taken."""
        if self._failure is not None:
            raise self._failure
        taken: list[Transaction] = []
        changes = 0
        with self._ready:
            self._ready.wait_for(lambda: bool(self._items), timeout=wait_s)
            while self._items:
                item = self._items.popleft()
                if isinstance(item, BaseException):
                    self._failure = item
                    if not taken:
                        raise item
                    break
                self._held -= len(item.changes)
                taken.append(item)
                changes += len(item.changes)
                if changes >= max_changes:
                    break
            self._ready.notify_all()  # room for the reader
        return taken

    def close(self) -> None:
        self._closed.set()
