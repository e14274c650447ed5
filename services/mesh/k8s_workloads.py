"""Kubernetes objects for each workload: Deployment, Service, PodDisruptionBudget, autoscaler."""

from __future__ import annotations

from typing import Any

from services.mesh.k8s_catalog import IMAGE, Workload, service_env

Obj = dict[str, Any]
PART_OF = {"app.kubernetes.io/part-of": "aeroalpes"}
VAR_DIR = "/var/lib/aeroalpes"
KEY_DIR = "/var/lib/aeroalpes-key"
APP_UID = 10001  # the Dockerfile's user


def labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, **PART_OF}


def meta(name: str, **extra: Any) -> Obj:
    return {"name": name, "labels": labels(name), **extra}


def resources(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Obj:
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def grpc_probe(port: int, period: int, failures: int) -> Obj:
    # Native gRPC probes (grpc.health.v1, service ""): what every server registers.
    return {"grpc": {"port": port}, "periodSeconds": period, "failureThreshold": failures}


def tcp_probe(port: int, period: int, failures: int) -> Obj:
    return {"tcpSocket": {"port": port}, "periodSeconds": period, "failureThreshold": failures}


def _probes(w: Workload) -> Obj:
    # Start-up covers migrations on a fresh database; after it, a few missed checks restart.
    ready = grpc_probe(w.port, 5, 2)
    # The relay reports NOT_SERVING while the broker or database is away: it must stay
    # unready then, not be restarted (a restart cannot bring the broker back).
    live = tcp_probe(w.port, 10, 3) if w.name == "cdc" else grpc_probe(w.port, 10, 3)
    start = (tcp_probe if w.name == "cdc" else grpc_probe)(w.port, 2, 90)
    return {"startupProbe": start, "readinessProbe": ready, "livenessProbe": live}


def container_security() -> Obj:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _pod_security(uid: int) -> Obj:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _env(w: Workload) -> list[Obj]:
    env: list[Obj] = []
    if w.db_user:
        # The password from the Secret, then the URL built from it (Kubernetes expands
        # $(VAR) from variables defined before it, the ConfigMap's DB_HOST included).
        secret = {"name": "aeroalpes-db", "key": w.db_user}
        env.append({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": secret}})
        url = f"mysql+pymysql://{w.db_user}:$(DB_PASSWORD)@$(DB_HOST)/"
        env.append({"name": "AEROALPES_DB_URL", "value": url})
    env.extend({"name": k, "value": v} for k, v in service_env(w.name).items())
    return env


def _volumes(w: Workload) -> tuple[list[Obj], list[Obj]]:
    state: Obj = {"emptyDir": {}}
    if w.name == "cdc":  # the binlog checkpoint outlives the pod
        state = {"persistentVolumeClaim": {"claimName": "cdc-state"}}
    volumes = [{"name": "state", **state}, {"name": "tmp", "emptyDir": {}}]
    mounts: list[Obj] = [
        {"name": "state", "mountPath": VAR_DIR},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if w.name == "clientes":  # the signing key: mounted into clientes and nowhere else
        secret = {
            "secretName": "aeroalpes-jwt",
            "items": [{"key": "jwt-es256.pem", "path": "jwt-es256.pem"}],
            "defaultMode": 0o440,
        }
        volumes.append({"name": "jwt-key", "secret": secret})
        mounts.append({"name": "jwt-key", "mountPath": KEY_DIR, "readOnly": True})
    return volumes, mounts


def deployment(w: Workload) -> Obj:
    volumes, mounts = _volumes(w)
    container: Obj = {
        "name": w.name,
        "image": IMAGE,
        "command": ["python", "-m", f"services.{w.name}"],
        "ports": [{"name": n, "containerPort": p} for n, p in w.ports],
        "envFrom": [{"configMapRef": {"name": "aeroalpes-env"}}],
        "env": _env(w),
        **_probes(w),
        "resources": resources("100m", "192Mi", "1", "512Mi"),
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }
    if w.scales:
        # Envoy finds replicas through DNS (refreshed every few seconds): a stopping pod keeps
        # serving until Envoy has dropped it, then drains its calls (SIGTERM, grace period).
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}
    strategy: Obj = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0}}
    if not w.scales:  # one binlog reader and one checkpoint volume: never two at once
        strategy = {"type": "Recreate"}
    return deployment_of(w.name, container, volumes, strategy, APP_UID, autoscaled=w.scales)


def deployment_of(
    name: str, container: Obj, volumes: list[Obj], strategy: Obj, uid: int, autoscaled: bool
) -> Obj:
    # An autoscaled Deployment names no replica count: its autoscaler's minimum sets it, and
    # each `kubectl apply` would otherwise reset what the autoscaler chose.
    replicas = {} if autoscaled else {"replicas": 1}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name),
        "spec": {
            **replicas,
            "revisionHistoryLimit": 3,
            "strategy": strategy,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels(name)},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": _pod_security(uid),
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


# gRPC without TLS (HTTP/2 cleartext); the edge also speaks HTTP/1.1 (gRPC-Web, the web app).
H2C = {n: {"appProtocol": "kubernetes.io/h2c"} for n in ("grpc", "internal")}


def service(name: str, ports: tuple[tuple[str, int], ...], headless: bool, selector: str) -> Obj:
    spec: Obj = {
        "selector": {"app.kubernetes.io/name": selector},
        "ports": [{"name": n, "port": p, "targetPort": p, **H2C.get(n, {})} for n, p in ports],
    }
    if headless:
        # Envoy resolves every ready pod (STRICT_DNS) and balances per request, with health
        # checks and outlier detection per host: a virtual IP would pin each HTTP/2
        # connection, and so all of a cluster's calls, to one pod.
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name), "spec": spec}


def disruption_budget(name: str) -> Obj:
    # One pod at a time: with two replicas or more one always serves; a lone one may be moved.
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(name),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        },
    }


def autoscaler(name: str, maximum: int = 4) -> Obj:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta(name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": maximum,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def relay_volume() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta("cdc-state"),
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def objects(w: Workload) -> list[Obj]:
    found = [deployment(w), service(w.name, w.ports, headless=w.scales, selector=w.name)]
    if not w.scales:
        # The relay's Service is how the UI asks its state, which matters most while it is
        # unready (broker away): reachable then too, to say why rather than "no answer".
        found[1]["spec"]["publishNotReadyAddresses"] = True
    if w.scales:
        found += [disruption_budget(w.name), autoscaler(w.name)]
    else:
        found.append(relay_volume())
    return found
