"""The four saga participants as real processes on one backend, with stubs and DB access."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from aeroalpes.clientes.v1 import clientes_pb2_grpc
from aeroalpes.gds.v1 import gds_pb2_grpc
from aeroalpes.pagos.v1 import pagos_pb2_grpc
from aeroalpes.reservas.v1 import reservas_pb2_grpc
from sqlalchemy.engine import Engine

from services.kit.db import create_engine, database_url
from tests.support.builders import SIN_CUPO
from tests.support.components import stop_process
from tests.support.grpc_process import ServiceProcess, grpc_service, terminate_all, wait_serving

CONTEXTS = ("clientes", "reservas", "pagos", "gds")


@dataclass
class Participants:
    backend: str
    db_url: str | None
    var_dir: Path
    services: dict[str, ServiceProcess]
    env: dict[str, str] = field(default_factory=dict)
    _channels: dict[str, grpc.Channel] = field(default_factory=dict)
    _engines: dict[str, Engine] = field(default_factory=dict)

    def address(self, context: str) -> str:
        return self.services[context].address

    def channel(self, context: str) -> grpc.Channel:
        if context not in self._channels:
            self._channels[context] = grpc.insecure_channel(self.address(context))
        return self._channels[context]

    @property
    def clientes(self) -> clientes_pb2_grpc.ClientesServiceStub:
        return clientes_pb2_grpc.ClientesServiceStub(self.channel("clientes"))

    @property
    def reservas(self) -> reservas_pb2_grpc.ReservasServiceStub:
        return reservas_pb2_grpc.ReservasServiceStub(self.channel("reservas"))

    @property
    def pagos(self) -> pagos_pb2_grpc.PagosServiceStub:
        return pagos_pb2_grpc.PagosServiceStub(self.channel("pagos"))

    @property
    def gds(self) -> gds_pb2_grpc.GdsServiceStub:
        return gds_pb2_grpc.GdsServiceStub(self.channel("gds"))

    def db(self, context: str) -> Engine:
        """Read access to a context's own database, to check what was (not) written."""
        if context not in self._engines:
            self._engines[context] = create_engine(database_url(self.db_url, context, self.var_dir))
        return self._engines[context]

    def count(self, context: str, table: str, **where: object) -> int:
        query = sa.select(sa.func.count()).select_from(sa.table(table))
        for column, value in where.items():
            query = query.where(sa.column(column) == value)
        with self.db(context).connect() as conn:
            return int(conn.execute(query).scalar_one())

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        for engine in self._engines.values():
            engine.dispose()


def restart(stack: ExitStack, participants: Participants, context: str) -> None:
    """Starts ``context`` again on the port it had (after a test stopped it)."""
    old = participants.services[context]
    stop_process(old.process)
    participants.services[context] = stack.enter_context(
        grpc_service(
            old.module,
            f"AEROALPES_{context.upper()}_PORT",
            participants.var_dir,
            env=participants.env,
            port=old.port,
        )
    )


def start_participants(
    stack: ExitStack,
    backend: str,
    db_url: str | None,
    var_dir: Path,
    env: dict[str, str] | None = None,
) -> Participants:
    child_env = {
        "AEROALPES_GDS_SIN_CUPO": SIN_CUPO,
        "AEROALPES_PAGOS_LIMITE": "1000000000",
        **(env or {}),
    }
    if db_url:
        child_env["AEROALPES_DB_URL"] = db_url
    # Started together, as the runner starts them (one wave), then each waited for; stopped
    # together too: a start-up or a graceful stop each is seconds under coverage.
    services = {
        context: stack.enter_context(
            grpc_service(
                f"services.{context}",
                f"AEROALPES_{context.upper()}_PORT",
                var_dir,
                env=child_env,
                wait=False,
            )
        )
        for context in CONTEXTS
    }
    participants = Participants(backend, db_url, var_dir, services, env=child_env)
    stack.callback(terminate_all, participants.services.values())
    for service in services.values():
        wait_serving(service)
    stack.callback(participants.close)
    return participants


@pytest.fixture(scope="session", params=["sqlite", "mariadb"])
def participants(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Participants]:
    """The four participants, once per backend per session (random ids isolate tests)."""
    db_url = str(request.getfixturevalue("mariadb").url) if request.param == "mariadb" else None
    with ExitStack() as stack:
        yield start_participants(
            stack, request.param, db_url, tmp_path_factory.mktemp(request.param)
        )


def start_notificaciones(
    stack: ExitStack, participants: Participants, broker_url: str
) -> ServiceProcess:
    """notificaciones on the participants' backend, consuming from ``broker_url`` and asking
    clientes (directly) for e-mails."""
    env = {
        **participants.env,
        "AEROALPES_PULSAR_URL": broker_url,
        "AEROALPES_CLIENTES_ADDR": participants.address("clientes"),
    }
    return stack.enter_context(
        grpc_service(
            "services.notificaciones", "AEROALPES_NOTIFICACIONES_PORT", participants.var_dir,
            env=env,
        )
    )  # fmt: skip
