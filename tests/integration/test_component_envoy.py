"""Envoy in front of a kit-built server started as a subprocess: health checks pass through."""

from pathlib import Path
from typing import Any

import pytest
from grpc_health.v1 import health_pb2

from tests.support.components import free_port
from tests.support.envoy import run_envoy, validate
from tests.support.grpc_process import grpc_service, health_status

pytestmark = pytest.mark.envoy


def grpc_proxy_config(listen_port: int, upstream_port: int) -> dict[str, Any]:
    """Minimal gRPC proxy: one listener, one HTTP/2 cluster with an active gRPC health check."""
    router = {
        "name": "envoy.filters.http.router",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        },
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
        "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "edge",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "all",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "tiny"}}],
                }
            ]
        },
        "http_filters": [router],
    }
    h2 = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http2_protocol_options": {}},
        }
    }
    return {
        "static_resources": {
            "listeners": [
                {
                    "name": "edge",
                    "address": {
                        "socket_address": {"address": "127.0.0.1", "port_value": listen_port}
                    },
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": hcm,
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "tiny",
                    "type": "STATIC",
                    "connect_timeout": "1s",
                    "typed_extension_protocol_options": h2,
                    "load_assignment": {
                        "cluster_name": "tiny",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": "127.0.0.1",
                                                    "port_value": upstream_port,
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                    "health_checks": [
                        {
                            "timeout": "1s",
                            "interval": "1s",
                            "unhealthy_threshold": 1,
                            "healthy_threshold": 1,
                            "grpc_health_check": {},
                        }
                    ],
                }
            ],
        }
    }


def test_health_check_reaches_the_server_through_envoy(tmp_path: Path) -> None:
    with grpc_service("tests.support.tiny_server", "AEROALPES_TINY_PORT", tmp_path) as tiny:
        listen = free_port()
        with run_envoy(grpc_proxy_config(listen, tiny.port), tmp_path) as envoy:
            assert (
                health_status(f"127.0.0.1:{listen}", timeout=5)
                == health_pb2.HealthCheckResponse.SERVING
            )
            clusters = envoy.admin("/clusters")
            assert f"tiny::127.0.0.1:{tiny.port}::health_flags::healthy" in clusters


def test_envoy_validate_rejects_a_broken_config(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"static_resources": {"clusters": [{"name": "x", "type": "NOPE"}]}}')
    result = validate(broken)
    assert result.returncode != 0
