"""Relay configuration: what to watch, what to hide, where to publish, where to checkpoint."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.kit.config import env_int, env_port, env_str
from services.kit.preflight import cdc_mode
from services.kit.pulsar import pulsar_url

# Not sagas.sagas: each saga transition is already an event on eventos-saga (its outbox), and its
# row changes were 7 of ~17 messages per booking and the largest (issue #15). Watch it by naming
# it in AEROALPES_CDC_TABLAS.
DEFAULT_WATCHED = "reservas.reservas,clientes.usuarios,pagos.pagos,gds.confirmaciones"
DEFAULT_OUTBOX_DBS = "clientes,reservas,pagos,gds,sagas"


def _csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclass(frozen=True)
class CdcConfig:
    var_dir: Path
    db_url: str | None  # None: the SQLite files under var_dir
    mode: str  # on a server: "binlog" (row-level CDC) or "sondeo" (outbox polling only)
    pulsar_url: str
    watched: frozenset[tuple[str, str]]  # (database, table)
    outbox_dbs: frozenset[str]
    excluded: frozenset[str]  # "column" or "table.column"; password_hash always
    server_id: int  # binlog reader id: unique per reader on one server
    start: str  # first start without checkpoint: "inicio" (oldest binlog) or "ahora"
    poll_ms: int
    host: str
    port: int  # health and ObtenerEstado
    metrics_port: int  # Prometheus /metrics over HTTP; 0: off
    # binlog: the server's heartbeat period while idle; a stream silent for three is dead
    heartbeat_ms: int = 5000

    @property
    def databases(self) -> frozenset[str]:
        return frozenset({db for db, _ in self.watched} | self.outbox_dbs)

    @property
    def tables(self) -> frozenset[str]:
        """The names of the tables read, in any of ``databases``: the relay still keeps only
        the (database, table) pairs it watches."""
        return frozenset({t for _, t in self.watched} | ({"outbox"} if self.outbox_dbs else set()))

    @property
    def backend(self) -> str:
        """How changes are read: "binlog", "sondeo" (outbox polling) or "sqlite"."""
        return self.mode if self.db_url else "sqlite"

    @property
    def checkpoint_dir(self) -> Path:
        return self.var_dir / "cdc"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CdcConfig:
        env = os.environ if env is None else env
        watched = {
            tuple(item.split(".", 1))
            for item in _csv(env_str(env, "AEROALPES_CDC_TABLAS", DEFAULT_WATCHED))
        }
        return cls(
            var_dir=Path(env_str(env, "AEROALPES_VAR_DIR", "var")).resolve(),
            db_url=env.get("AEROALPES_DB_URL") or None,
            mode=cdc_mode(env),
            pulsar_url=pulsar_url(env),
            watched=frozenset((db, table) for db, table in watched),
            outbox_dbs=frozenset(_csv(env_str(env, "AEROALPES_CDC_OUTBOX", DEFAULT_OUTBOX_DBS))),
            excluded=frozenset(_csv(env_str(env, "AEROALPES_CDC_EXCLUIR", "password_hash"))),
            server_id=env_int(env, "AEROALPES_CDC_SERVER_ID", 4242),
            start=env_str(env, "AEROALPES_CDC_INICIO", "inicio"),
            poll_ms=env_int(env, "AEROALPES_CDC_POLL_MS", 100),
            host=env_str(env, "AEROALPES_HOST", "127.0.0.1"),
            port=env_port(env, "AEROALPES_CDC_PORT", 50068),
            metrics_port=env_port(env, "AEROALPES_CDC_METRICS_PORT", 9468),
            heartbeat_ms=env_int(env, "AEROALPES_CDC_HEARTBEAT_MS", 5000),
        )
