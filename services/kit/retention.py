"""Retention: every service prunes its own bookkeeping tables in small batches, in the background.

What goes, by default (days, from the environment):
- ``outbox`` rows older than AEROALPES_RETENCION_OUTBOX_DIAS (7). The relay normally publishes
  from the change log (the binlog, or SQLite's ``cdc_cambios``), which keeps its own copy of every
  row until the broker acknowledged it. Polling the outbox instead (AEROALPES_CDC_MODO=sondeo), it
  records the last relayed ``seq`` in ``cdc_progreso``: only rows up to it go.
- ``idempotency_keys`` older than AEROALPES_RETENCION_CLAVES_DIAS (7): a retry after that is new.
- ``saga_eventos`` older than AEROALPES_RETENCION_EVENTOS_SAGA_DIAS (30), of sagas that have
  ended (COMPLETADA/COMPENSADA); a running or parked saga keeps its whole log, and the saga row
  itself always stays.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.kit.config import ConfigError
from services.kit.db import UtcDateTime, utcnow

log = logging.getLogger(__name__)
BATCH = 500  # rows per transaction: short locks, traffic goes on between batches
FIRST_RUN_S = 60.0
PAUSE_S = 0.05  # between batches: writers waiting for the lock get it first


@dataclass(frozen=True)
class Rule:
    table: str
    key: str  # primary key column
    age_column: str
    max_age: timedelta
    only: str = ""  # extra SQL condition on the table's rows


def _days(env: Mapping[str, str], name: str, default: float) -> timedelta:
    raw = env.get(name) or str(default)
    try:
        days = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of days, got {raw!r}") from None
    if days < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return timedelta(days=days)


def rules_for(engine: Engine, env: Mapping[str, str] | None = None) -> list[Rule]:
    """The rules that apply to the tables this database has."""
    env = os.environ if env is None else env
    tables = set(sa.inspect(engine).get_table_names())
    rules = []
    if "outbox" in tables:
        age = _days(env, "AEROALPES_RETENCION_OUTBOX_DIAS", 7)
        relayed = "seq <= (SELECT seq FROM cdc_progreso WHERE id = 1)"
        # When the relay polls the outbox (sondeo), only what it relayed may go. Until the relay
        # has created cdc_progreso that condition fails and the run skips the outbox: nothing
        # goes, rather than unrelayed rows.
        polled = env.get("AEROALPES_CDC_MODO") == "sondeo" or "cdc_progreso" in tables
        rules.append(Rule("outbox", "seq", "fecha", age, relayed if polled else ""))
    if "idempotency_keys" in tables:
        age = _days(env, "AEROALPES_RETENCION_CLAVES_DIAS", 7)
        rules.append(Rule("idempotency_keys", "clave", "fecha", age))
    if {"saga_eventos", "sagas"} <= tables:
        age = _days(env, "AEROALPES_RETENCION_EVENTOS_SAGA_DIAS", 30)
        ended = "id_saga IN (SELECT id FROM sagas WHERE estado IN ('COMPLETADA', 'COMPENSADA'))"
        rules.append(Rule("saga_eventos", "seq", "fecha", age, ended))
    return rules


def prune(engine: Engine, rule: Rule, pause: Callable[[], bool] = lambda: False) -> int:
    """Deletes what ``rule`` lets go, batch by batch until none is left, calling ``pause``
    between batches (it returns True to stop early); returns how many rows went."""
    table = sa.table(rule.table, sa.column(rule.key), sa.column(rule.age_column, UtcDateTime))
    key, age = table.c[rule.key], table.c[rule.age_column]
    cutoff = utcnow() - rule.max_age
    # Oldest first through the age index: a batch reads what it deletes, not the table.
    old = sa.select(key).where(age < cutoff).order_by(age).limit(BATCH)
    if rule.only:
        old = old.where(sa.text(rule.only))
    removed = 0
    while True:
        with engine.begin() as conn:
            keys = list(conn.execute(old).scalars())
            if keys:
                conn.execute(sa.delete(table).where(key.in_(keys)))
        removed += len(keys)
        if len(keys) < BATCH or pause():
            return removed


class Pruner:
    """Runs every rule a minute after start, then once per interval
    (AEROALPES_RETENCION_INTERVALO_S, default ten minutes), each until nothing is left to prune."""

    def __init__(self, engine: Engine, rules: list[Rule], interval_s: float) -> None:
        self.engine = engine
        self.rules = rules
        self.interval_s = interval_s
        self.stopping = threading.Event()

    def run_once(self) -> dict[str, int]:
        removed = {}
        for rule in self.rules:
            try:
                removed[rule.table] = prune(self.engine, rule, lambda: self.stopping.wait(PAUSE_S))
            except sa.exc.SQLAlchemyError as error:  # a busy or absent database: next time
                log.warning("retention of %s skipped this time: %s", rule.table, error)
        if any(removed.values()):
            log.info("retention pruned %s", removed)
        return removed

    def run_forever(self) -> None:
        # First soon after start (a process restarted often still prunes), then every interval.
        wait = min(FIRST_RUN_S, self.interval_s)
        while not self.stopping.wait(wait):
            self.run_once()
            wait = self.interval_s

    def start(self) -> None:
        threading.Thread(target=self.run_forever, name="retention", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()


def interval_s(env: Mapping[str, str] | None = None) -> float:
    env = os.environ if env is None else env
    raw = env.get("AEROALPES_RETENCION_INTERVALO_S") or "600"
    try:
        return max(1.0, float(raw))
    except ValueError:
        raise ConfigError(f"AEROALPES_RETENCION_INTERVALO_S must be seconds, got {raw!r}") from None
