"""``python -m services.sagas``: the saga orchestrator (gRPC server, engine, recovery loop)."""

import os
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc
from sqlalchemy.engine import Engine as DbEngine

from services.kit import bootstrap
from services.kit.config import ConfigError, ServiceConfig, env_int, env_str
from services.kit.db import UnitOfWork, session_factory
from services.kit.idempotency import IdempotencyStore, Idempotent
from services.kit.server import Registration
from services.sagas import metrics, tables
from services.sagas.booking import RESERVA, RESERVA_V1
from services.sagas.caller import GrpcCaller
from services.sagas.definition import Definitions, SagaDefinition
from services.sagas.engine import Engine, EngineConfig
from services.sagas.handlers import Handlers
from services.sagas.notifier import Notifier
from services.sagas.servicer import SERVER_THREADS, SagasServicer
from services.sagas.store import SagaStore

DEFAULT_PORT = 50065
SERVICE = sagas_pb2.DESCRIPTOR.services_by_name["SagasService"].full_name
PEERS = {"clientes": 50061, "reservas": 50062, "pagos": 50063, "gds": 50064}


def public_services() -> list[str]:
    from aeroalpes.clientes.v1 import clientes_pb2
    from aeroalpes.gds.v1 import gds_pb2
    from aeroalpes.notificaciones.v1 import notificaciones_pb2
    from aeroalpes.pagos.v1 import pagos_pb2
    from aeroalpes.reservas.v1 import reservas_pb2
    from aeroalpes.ui.v1 import eventos_pb2

    modules = (clientes_pb2, gds_pb2, notificaciones_pb2, pagos_pb2, reservas_pb2, eventos_pb2)
    return [s.full_name for m in modules for s in m.DESCRIPTOR.services_by_name.values()]


def peer_addresses() -> dict[str, str]:
    """One variable per peer (AEROALPES_<PEER>_ADDR); the mesh points them all at Envoy."""
    return {
        peer: env_str(os.environ, f"AEROALPES_{peer.upper()}_ADDR", f"127.0.0.1:{port}")
        for peer, port in PEERS.items()
    }


def engine_config() -> EngineConfig:
    env = os.environ
    return EngineConfig(
        lease_s=env_int(env, "AEROALPES_SAGAS_LEASE_MS", 15_000) / 1000,
        recovery_interval_s=env_int(env, "AEROALPES_SAGAS_RECUPERACION_MS", 2_000) / 1000,
        compensation_attempts=env_int(env, "AEROALPES_SAGAS_COMPENSACION_INTENTOS", 8),
        compensation_backoff_cap_s=env_int(
            env, "AEROALPES_SAGAS_COMPENSACION_BACKOFF_MAX_MS", 5_000
        )
        / 1000,
        parked_backoff_s=env_int(env, "AEROALPES_SAGAS_APARCADA_BACKOFF_MS", 5_000) / 1000,
        parked_backoff_cap_s=env_int(env, "AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS", 300_000)
        / 1000,
        crash_at=env.get("AEROALPES_SAGAS_FALLA", ""),
    )


def booking_definitions() -> Definitions:
    """Every loaded version of the booking saga; AEROALPES_SAGAS_VERSION_RESERVA picks the one
    new sagas start on (default: the newest)."""
    env = os.environ
    step_timeout = env_int(env, "AEROALPES_SAGAS_PASO_TIMEOUT_MS", 10_000) / 1000
    deadline = env_int(env, "AEROALPES_SAGAS_LIMITE_MS", 60_000) / 1000

    def tuned(d: SagaDefinition) -> SagaDefinition:
        steps = tuple(replace(s, timeout_s=step_timeout) for s in d.steps)
        return replace(d, steps=steps, deadline_s=deadline)

    versions = {d.version: tuned(d) for d in (RESERVA, RESERVA_V1)}
    current = env_int(env, "AEROALPES_SAGAS_VERSION_RESERVA", RESERVA.version)
    if current not in versions:
        raise ConfigError(f"AEROALPES_SAGAS_VERSION_RESERVA must be one of {sorted(versions)}")
    return Definitions(versions.pop(current), *versions.values())


def build(config: ServiceConfig, db: DbEngine) -> Sequence[Registration]:
    sessions = session_factory(db)
    engine_cfg = engine_config()
    owner = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    store = SagaStore(lambda: UnitOfWork(sessions), owner, timedelta(seconds=engine_cfg.lease_s))
    caller, notifier, definitions = GrpcCaller(peer_addresses()), Notifier(), booking_definitions()
    engine = Engine(store, definitions, caller, engine_cfg, notifier)
    metrics.declare(definitions.loaded())
    engine.start()
    bootstrap.on_stop(engine.stop)
    bootstrap.on_stop(caller.close)
    # ObservarSaga repeats an unchanged saga this often, so no stream idle timeout cuts it.
    latido_s = env_int(os.environ, "AEROALPES_SAGAS_LATIDO_MS", 15_000) / 1000
    if latido_s <= 0:
        raise ConfigError("AEROALPES_SAGAS_LATIDO_MS must be positive")
    handlers = Handlers(store, engine, caller, notifier, definitions, latido_s=latido_s)
    idempotent = Idempotent(IdempotencyStore(tables.idempotency_keys), lambda: UnitOfWork(sessions))
    servicer = SagasServicer(handlers, idempotent)
    return [Registration(sagas_pb2_grpc.add_SagasServiceServicer_to_server, servicer, SERVICE)]


if __name__ == "__main__":
    # Many workers: esperar calls and ObservarSaga streams each hold one while they wait
    # (bounded by the servicer below this number).
    bootstrap.run(
        "sagas",
        DEFAULT_PORT,
        Path(__file__).parent / "migrations",
        build,
        max_workers=SERVER_THREADS,
        # Envoy sends the edge's reflection here: describe every public service from one place.
        reflection_names=public_services(),
    )
