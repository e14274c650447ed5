"""The runner's banner: printed once every process is ready."""

from __future__ import annotations

from pathlib import Path

from services.cdc.preguntar import ask, describe
from services.kit.preflight import is_server
from services.mesh.settings import RunnerConfig


def banner(config: RunnerConfig, services: list[str], processes: int, logs: Path) -> str:
    """What `make run` prints once everything is up: where each part is and how to try it."""
    c = config
    database = f"SQLite files under {c.var_dir}"
    if c.db_url:
        # Imported here: on SQLite (the default) the runner never loads SQLAlchemy (~11 MB).
        from sqlalchemy.engine import make_url

        database = make_url(c.db_url).render_as_string(hide_password=True)
    edge = f"127.0.0.1:{c.edge_port}"
    events = "SQLite triggers (outbox and row-level CDC)"
    if is_server(c.db_url):
        events = {
            "binlog": "binlog (outbox and row-level CDC)",
            "sondeo": "outbox polling (AEROALPES_CDC_MODO=sondeo): row-level CDC is OFF",
        }[c.cdc_mode]
    if "cdc" in services:
        estado = ask(f"127.0.0.1:{c.ports['cdc']}")
        events += f"; {describe(estado) if estado else 'relay does not answer'}"
    processes_of = [r for s in services for r in c.replica_ports(s)]
    metrics = "off"
    if any(m for _, _, m in processes_of):
        metrics = "http://127.0.0.1:<port>/metrics, " + ", ".join(
            f"{name} {m}" for name, _, m in processes_of if m
        )
    replicas = ""
    if any(c.replicas[s] > 1 for s in services):
        # Every replica behind Envoy's cluster of its service (least-request balancing).
        scaled = ", ".join(
            f"{s} " + "/".join(str(p) for _, p, _ in c.replica_ports(s))
            for s in services
            if c.replicas[s] > 1
        )
        replicas = f"  replicas (balanced):     {scaled}\n"
    tutorial = (
        f"  tutorial vuelos.Vuelos:  127.0.0.1:{c.compat_port}   (AEROALPES_VUELOS_COMPAT=0: off)\n"
        if c.compat_port
        else ""
    )
    return f"""
AeroAlpes mesh is up ({processes} processes; database: {database})
  web app:                 http://{edge}/
  edge (gRPC, gRPC-Web):   {edge}
  internal listener:       127.0.0.1:{c.internal_port}   (every RPC; fault injection)
{replicas}{tutorial}  Envoy admin:             http://127.0.0.1:{c.admin_port}
  Pulsar:                  pulsar://127.0.0.1:{c.pulsar_port}
  events:                  {events}
  metrics (Prometheus):    {metrics}
                           http://127.0.0.1:{c.admin_port}/stats/prometheus (Envoy)
  logs:                    {logs}/<process>.log
Try:
  .venv/bin/grpcurl -plaintext {edge} list
  .venv/bin/grpcurl -plaintext -d @ {edge} \\
      aeroalpes.clientes.v1.ClientesService/RegistrarUsuario < examples/registrar_usuario.json
  make demo
Ctrl-C stops everything."""
