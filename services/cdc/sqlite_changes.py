"""SQLite backend (the embedded default): triggers copy row changes into a change table that
the relay polls. Same Change records as the binlog backend."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.cdc.envelope import ALWAYS_EXCLUDED, Change

log = logging.getLogger(__name__)
CHANGE_TABLE = "cdc_cambios"
IDENTITY_TABLE = "cdc_identidad"  # one random id per database file: a recreated file has another
OUTBOX = "outbox"


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)  # autocommit; BEGIN by hand
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def identity(conn: sqlite3.Connection) -> str:
    """The database's identity, created on first use. Change sequence numbers restart in a
    recreated file, so a checkpoint is only valid for the identity it was taken on."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {IDENTITY_TABLE} (id TEXT NOT NULL)")
        row = conn.execute(f"SELECT id FROM {IDENTITY_TABLE}").fetchone()
        if row is None:
            row = (uuid.uuid4().hex,)
            conn.execute(f"INSERT INTO {IDENTITY_TABLE} (id) VALUES (?)", row)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return str(row[0])


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, bool]]:
    """(name, declared type, is primary key) of each column."""
    return [
        (r[1], str(r[2]).upper(), bool(r[5])) for r in conn.execute(f'PRAGMA table_info("{table}")')
    ]


def _json_row(ref: str, columns: list[tuple[str, str, bool]]) -> str:
    return "json_object(" + ", ".join(f"'{c[0]}', {ref}.\"{c[0]}\"" for c in columns) + ")"


def _operations(table: str) -> tuple[tuple[str, str, str], ...]:
    """Which changes to capture: only inserts of the outbox (its pruning is no news)."""
    if table == OUTBOX:
        return (("c", "INSERT", "NEW"),)
    return (("c", "INSERT", "NEW"), ("u", "UPDATE", "NEW"), ("d", "DELETE", "OLD"))


def install(
    conn: sqlite3.Connection, tables: Iterable[str], excluded: frozenset[str]
) -> tuple[set[str], int]:
    """(Re)creates the change table and one trigger per table and operation; returns the tables
    that exist now (the others are retried later: their service may not have migrated yet) and
    the schema version the triggers were made for (read before anyone else can change it)."""
    hidden = excluded | ALWAYS_EXCLUDED
    installed = set()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {CHANGE_TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " tabla TEXT NOT NULL, op TEXT NOT NULL, clave TEXT NOT NULL, antes TEXT, despues TEXT,"
            " ts_ms INTEGER NOT NULL)"
        )
        for table in tables:
            columns = [
                c
                for c in _columns(conn, table)
                if c[0] not in hidden and f"{table}.{c[0]}" not in hidden
            ]
            if not columns:
                continue
            pk = next((c[0] for c in columns if c[2]), columns[0][0])
            for op in ("c", "u", "d"):
                conn.execute(f'DROP TRIGGER IF EXISTS "cdc_{table}_{op}"')
            for op, when, image in _operations(table):
                before = _json_row("OLD", columns) if op in ("u", "d") else "NULL"
                after = _json_row("NEW", columns) if op in ("c", "u") else "NULL"
                name = f"cdc_{table}_{op}"
                conn.execute(
                    f'CREATE TRIGGER "{name}" AFTER {when} ON "{table}" BEGIN '
                    f"INSERT INTO {CHANGE_TABLE} (tabla, op, clave, antes, despues, ts_ms) VALUES "
                    f"('{table}', '{op}', {image}.\"{pk}\", {before}, {after},"
                    " CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END"
                )
            installed.add(table)
        version = schema_version(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return installed, version


def schema_version(conn: sqlite3.Connection) -> int:
    """SQLite's schema cookie: it changes with every CREATE/ALTER/DROP (a migration)."""
    return int(conn.execute("PRAGMA schema_version").fetchone()[0])


def datetime_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {
        name for name, kind, _ in _columns(conn, table) if "DATETIME" in kind or "TIMESTAMP" in kind
    }


def _typed(image: str | None, dates: set[str]) -> dict[str, Any] | None:
    """SQLite stores datetimes as text: read them back as datetimes, like the binlog gives them."""
    if image is None:
        return None
    row = dict(json.loads(image))
    for column in dates & row.keys():
        if row[column] is not None:
            row[column] = datetime.fromisoformat(row[column]).replace(tzinfo=UTC)
    return row


def read(
    conn: sqlite3.Connection, db: str, after_seq: int, limit: int, dates: dict[str, set[str]]
) -> list[tuple[int, Change]]:
    rows = conn.execute(
        f"SELECT seq, tabla, op, clave, antes, despues, ts_ms FROM {CHANGE_TABLE}"
        " WHERE seq > ? ORDER BY seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [
        (
            seq,
            Change(
                db,
                table,
                op,
                _typed(before, dates.get(table, set())),
                _typed(after, dates.get(table, set())),
                str(key),
                f"{db}:{seq}",
                ts_ms,
            ),
        )
        for seq, table, op, key, before, after, ts_ms in rows
    ]


def forget(conn: sqlite3.Connection, up_to_seq: int) -> None:
    """Drops changes the broker acknowledged (and the checkpoint recorded)."""
    conn.execute(f"DELETE FROM {CHANGE_TABLE} WHERE seq <= ?", (up_to_seq,))
