"""NetworkPolicies: only Envoy reaches the services, only the services reach the data.

Everything in the namespace is denied both ways first; each rule below then opens one path of
the design's table (ARCHITECTURE.md): the world → Envoy's edge; Envoy → each service; callers
→ Envoy's internal listener; the UI → the relay's state; owners of a database → MariaDB; the
relay and the two event consumers → Pulsar. DNS is open to every pod (names are how peers and
Envoy find each other); Prometheus scrapes each service's metrics port and every pod may send
spans to the OpenTelemetry Collector."""

from __future__ import annotations

from typing import Any

from services.mesh.k8s_catalog import (
    BROKER_NAMESPACE,
    BROKER_PORT,
    DB_NAMESPACE,
    DB_PORT,
    EDGE_PORT,
    INTERNAL_PORT,
    MONITORING_NAMESPACE,
    NAMESPACE,
    TRACES_NAMESPACE,
    TRACES_PORT,
    TRACES_SERVICE,
    WORKLOADS,
    Workload,
)
from services.mesh.k8s_workloads import PART_OF, meta

Obj = dict[str, Any]
NAME = "app.kubernetes.io/name"


def pods(*names: str) -> Obj:
    expression = {"key": NAME, "operator": "In", "values": sorted(names)}
    return {"podSelector": {"matchExpressions": [expression]}}


def namespace(name: str, **pod_selector: Any) -> Obj:
    peer: Obj = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}
    if pod_selector:
        peer["podSelector"] = pod_selector
    return peer


def tcp(*ports: int) -> list[Obj]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def policy(
    name: str, selected: str | None, ingress: list[Obj] | None, egress: list[Obj] | None
) -> Obj:
    """``selected``: the pods named so (None: every pod); a direction left None is not
    governed by this policy, an empty list denies it."""
    spec: Obj = {"podSelector": {"matchLabels": {NAME: selected}} if selected else {}}
    directions = (("Ingress", ingress), ("Egress", egress))
    spec["policyTypes"] = [kind for kind, rules in directions if rules is not None]
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name),
        "spec": spec,
    }


def mesh_callers() -> list[str]:
    return [w.name for w in WORKLOADS if w.mesh]


def db_clients() -> list[str]:
    return [w.name for w in WORKLOADS if w.db_user]


def broker_clients() -> list[str]:
    return [w.name for w in WORKLOADS if w.broker]


def _callers_of(target: Workload) -> list[str]:
    return [w.name for w in WORKLOADS if target.name in w.peers]


def _workload_policy(w: Workload) -> Obj:
    ports = [p for _, p in w.ports]
    ingress = [{"from": [pods("envoy")], "ports": tcp(*ports)}] if w.name != "cdc" else []
    if callers := _callers_of(w):
        ingress.append({"from": [pods(*callers)], "ports": tcp(w.port)})
    egress: list[Obj] = []
    if w.mesh:
        egress.append({"to": [pods("envoy")], "ports": tcp(INTERNAL_PORT)})
    for peer in w.peers:
        [target] = [x for x in WORKLOADS if x.name == peer]
        egress.append({"to": [pods(peer)], "ports": tcp(target.port)})
    if w.db_user:
        mariadb = namespace(DB_NAMESPACE, matchLabels={NAME: "mariadb"})
        egress.append({"to": [mariadb], "ports": tcp(DB_PORT)})
    if w.broker:
        egress.append({"to": [namespace(BROKER_NAMESPACE)], "ports": tcp(BROKER_PORT)})
    return policy(w.name, w.name, ingress, egress)


def _envoy_policy() -> Obj:
    ingress = [
        {"ports": tcp(EDGE_PORT)},  # the edge: from anywhere (the Service in front of it)
        {"from": [pods(*mesh_callers())], "ports": tcp(INTERNAL_PORT)},
    ]
    egress = [
        {"to": [pods(w.name)], "ports": tcp(*(p for _, p in w.ports))}
        for w in WORKLOADS
        if w.name != "cdc"
    ]
    return policy("envoy", "envoy", ingress, egress)


def metrics_port(w: Workload) -> int:
    """As each service reads it by default (services/kit/config.py): 94xx beside 500xx."""
    return 9400 + w.port % 100


def _observability_policy() -> Obj:
    """Prometheus (its namespace) scrapes each service's /metrics; every pod sends its spans to
    the OpenTelemetry Collector (its namespace) when AEROALPES_OTLP_ENDPOINT names it."""
    scrape = {
        "from": [namespace(MONITORING_NAMESPACE)],
        "ports": tcp(*sorted({metrics_port(w) for w in WORKLOADS})),
    }
    collector = namespace(TRACES_NAMESPACE, matchLabels={NAME: TRACES_SERVICE})
    return policy("observability", None, [scrape], [{"to": [collector], "ports": tcp(TRACES_PORT)}])


def policies() -> list[Obj]:
    dns = {
        "to": [namespace("kube-system", matchLabels={"k8s-app": "kube-dns"})],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    return [
        policy("default-deny", None, [], []),
        policy("dns", None, None, [dns]),
        _observability_policy(),
        _envoy_policy(),
        *(_workload_policy(w) for w in WORKLOADS),
    ]


def data_policy(
    name: str, ns: str, port: int, clients: list[str], operator_ns: str | None = None
) -> Obj:
    """For a data namespace: its own pods talk freely; from AeroAlpes only ``clients``, on
    ``port``; from the operator's namespace (which manages the database), anything."""
    peers = [namespace(NAMESPACE, **pods(*clients)["podSelector"])]
    ingress: list[Obj] = [{"from": [{"podSelector": {}}]}, {"from": peers, "ports": tcp(port)}]
    if operator_ns:
        ingress.append({"from": [namespace(operator_ns)]})
    obj = policy(name, None, ingress, None)
    obj["metadata"] = {"name": name, "namespace": ns, "labels": dict(PART_OF)}
    return obj
