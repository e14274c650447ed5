"""Configuration from environment variables: frozen dataclasses, local defaults, clear errors."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and what is expected."""


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        if default is not None:
            return default
        raise ConfigError(f"{name} is required but not set")
    return value


def env_int(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ConfigError(f"{name} is required but not set")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def env_port(env: Mapping[str, str], name: str, default: int) -> int:
    port = env_int(env, name, default)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name} must be a TCP port (0-65535), got {port}")
    return port


@dataclass(frozen=True)
class ServiceConfig:
    """What every service needs: where to listen, where its data lives, how loud to log."""

    name: str
    host: str
    port: int
    var_dir: Path
    db_url: str | None  # None: SQLite file under var_dir; else a server URL without database
    log_level: str
    grace_seconds: float
    metrics_port: int  # Prometheus /metrics over HTTP; 0: off

    @classmethod
    def from_env(
        cls, name: str, default_port: int, env: Mapping[str, str] | None = None
    ) -> ServiceConfig:
        env = os.environ if env is None else env
        return cls(
            name=name,
            host=env_str(env, "AEROALPES_HOST", "127.0.0.1"),
            port=env_port(env, f"AEROALPES_{name.upper()}_PORT", default_port),
            var_dir=Path(env_str(env, "AEROALPES_VAR_DIR", "var")).resolve(),
            db_url=env.get("AEROALPES_DB_URL") or None,
            log_level=env_str(env, "AEROALPES_LOG_LEVEL", "INFO"),
            grace_seconds=float(env_int(env, "AEROALPES_GRACE_SECONDS", 5)),
            # 94xx beside the gRPC port's 500xx (clientes 50061 -> 9461).
            metrics_port=env_port(
                env, f"AEROALPES_{name.upper()}_METRICS_PORT", 9400 + default_port % 100
            ),
        )


def sample_ratio(env: Mapping[str, str]) -> float:
    """AEROALPES_TRAZAS_MUESTREO: the share of new traces sampled (here, not in kit/tracing,
    so the runner reads it without loading the tracing SDK)."""
    text = env_str(env, "AEROALPES_TRAZAS_MUESTREO", "1")
    try:
        ratio = float(text)
    except ValueError:
        raise ConfigError(
            f"AEROALPES_TRAZAS_MUESTREO must be a number from 0 to 1, got {text!r}"
        ) from None
    if not 0 <= ratio <= 1:
        raise ConfigError(f"AEROALPES_TRAZAS_MUESTREO must be from 0 to 1, got {text!r}")
    return ratio
