"""AEROALPES_REPLICAS: which services get several processes, on which ports, refused where a
database or a subscription has one owner; Envoy's cluster lists every replica."""

import pytest

from services.kit.config import ConfigError
from services.mesh.clusters import OUTLIER_DETECTION
from services.mesh.envoy import render
from services.mesh.runner import Runner, RunnerConfig
from services.mesh.settings import SINGLE

SERVER = {"AEROALPES_DB_URL": "mysql+pymysql://root@127.0.0.1:3307/"}


def clusters(config: RunnerConfig) -> dict[str, dict]:  # type: ignore[type-arg]
    rendered = render(Runner(config).topology())["static_resources"]["clusters"]
    return {c["name"]: c for c in rendered}


def hosts(cluster: dict) -> list[int]:  # type: ignore[type-arg]
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    return [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints]


def test_one_process_each_by_default() -> None:
    config = RunnerConfig.from_env({})
    assert set(config.replicas.values()) == {1}
    assert config.replica_ports("sagas") == [("sagas", 50065, 9465)]
    assert all("lb_policy" not in c for c in clusters(config).values())


def test_replicas_of_every_stateless_service_on_the_next_hundred_ports() -> None:
    config = RunnerConfig.from_env({**SERVER, "AEROALPES_REPLICAS": "3"})
    assert {s for s, n in config.replicas.items() if n == 3} == {
        "clientes", "reservas", "pagos", "gds", "sagas", "vuelos",
    }  # fmt: skip
    assert {s for s, n in config.replicas.items() if n == 1} == set(SINGLE)
    assert config.replica_ports("pagos") == [
        ("pagos", 50063, 9463),
        ("pagos-2", 50163, 9563),
        ("pagos-3", 50263, 9663),
    ]


def test_per_service_count_and_metrics_off_stays_off() -> None:
    config = RunnerConfig.from_env(
        {**SERVER, "AEROALPES_SAGAS_REPLICAS": "2", "AEROALPES_SAGAS_METRICS_PORT": "0"}
    )
    assert {s for s, n in config.replicas.items() if n > 1} == {"sagas"}
    assert config.replica_ports("sagas") == [("sagas", 50065, 0), ("sagas-2", 50165, 0)]


def test_envoy_balances_each_cluster_over_its_replicas_and_keeps_the_ejection_rules() -> None:
    config = RunnerConfig.from_env({**SERVER, "AEROALPES_REPLICAS": "2"})
    by_name = clusters(config)
    sagas = by_name["sagas"]
    assert hosts(sagas) == [50065, 50165]
    assert sagas["lb_policy"] == "LEAST_REQUEST"
    # Health checked per host, ejected per host only for what Envoy itself saw fail: a client's
    # bad requests (any status the service answers) never eject a host.
    assert sagas["health_checks"][0]["grpc_health_check"] == {}
    assert sagas["outlier_detection"] == OUTLIER_DETECTION
    assert OUTLIER_DETECTION["enforcing_consecutive_5xx"] == 0
    # With two hosts one may be down without Envoy spreading calls onto it (panic below 50 %).
    assert sagas["common_lb_config"]["healthy_panic_threshold"]["value"] == 50
    assert hosts(by_name["notificaciones"]) == [50066]
    assert hosts(by_name["ui"]) == [50067] and "lb_policy" not in by_name["ui"]


@pytest.mark.parametrize("env", [{"AEROALPES_REPLICAS": "2"}, {"AEROALPES_GDS_REPLICAS": "2"}])
def test_sqlite_refuses_replicas_in_one_line(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as refused:
        RunnerConfig.from_env(env)
    message = str(refused.value)
    assert "\n" not in message and "AEROALPES_DB_URL" in message and "one writer" in message
    assert "gds" in message


@pytest.mark.parametrize("service", sorted(SINGLE))
def test_single_process_services_refuse_replicas(service: str) -> None:
    name = f"AEROALPES_{service.upper()}_REPLICAS"
    with pytest.raises(ConfigError, match=f"{name}=2: {service} runs as one process"):
        RunnerConfig.from_env({**SERVER, name: "2"})


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"AEROALPES_REPLICAS": "0"}, "AEROALPES_REPLICAS must be 1 or more"),
        ({"AEROALPES_PAGOS_REPLICAS": "-1"}, "AEROALPES_PAGOS_REPLICAS must be 1 or more"),
        ({"AEROALPES_REPLICAS": "two"}, "AEROALPES_REPLICAS must be an integer"),
        (
            {"AEROALPES_REPLICAS": "2", "AEROALPES_SAGAS_PORT": "65500"},
            "AEROALPES_SAGAS_REPLICAS=2: its replicas' ports would pass 65535",
        ),
    ],
)
def test_bad_counts_are_configuration_errors(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        RunnerConfig.from_env({**SERVER, **env})
