"""Config comes from environment variables with local defaults and clear errors."""

from pathlib import Path

import pytest

from services.kit.config import ConfigError, ServiceConfig, env_int, env_str


def test_defaults_are_local() -> None:
    config = ServiceConfig.from_env("reservas", 50061, env={})
    assert (config.host, config.port, config.db_url) == ("127.0.0.1", 50061, None)
    assert config.var_dir == Path("var").resolve()


def test_environment_overrides_defaults() -> None:
    env = {
        "AEROALPES_RESERVAS_PORT": "6000",
        "AEROALPES_DB_URL": "mysql+pymysql://root@127.0.0.1:3306/",
        "AEROALPES_VAR_DIR": "/tmp/x",
    }
    config = ServiceConfig.from_env("reservas", 50061, env=env)
    assert (config.port, config.db_url, config.var_dir) == (
        6000,
        env["AEROALPES_DB_URL"],
        Path("/tmp/x"),
    )


def test_config_is_frozen() -> None:
    config = ServiceConfig.from_env("reservas", 50061, env={})
    with pytest.raises(AttributeError):
        config.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"AEROALPES_RESERVAS_PORT": "abc"},
            "AEROALPES_RESERVAS_PORT must be an integer, got 'abc'",
        ),
        ({"AEROALPES_RESERVAS_PORT": "70000"}, "AEROALPES_RESERVAS_PORT must be a TCP port"),
    ],
)
def test_malformed_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServiceConfig.from_env("reservas", 50061, env=env)


def test_required_value_missing_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="AEROALPES_VUELOS_CLIENTE is required but not set"):
        env_str({}, "AEROALPES_VUELOS_CLIENTE")
    with pytest.raises(ConfigError, match="AEROALPES_X is required"):
        env_int({"AEROALPES_X": ""}, "AEROALPES_X")


def test_the_relays_binlog_heartbeat_is_5_s_and_its_stream_dead_after_three_unless_set() -> None:
    from services.cdc import binlog
    from services.cdc.config import CdcConfig

    assert CdcConfig.from_env({}).heartbeat_ms == 5000
    assert CdcConfig.from_env({"AEROALPES_CDC_HEARTBEAT_MS": "1000"}).heartbeat_ms == 1000
    url = "mysql+pymysql://relay@127.0.0.1:3306/"
    assert binlog.connection_settings(url)["read_timeout"] == 15
    assert binlog.connection_settings(url, 1.0)["read_timeout"] == 3.0


def test_the_binlog_reader_decodes_only_the_tables_the_relay_publishes() -> None:
    """The watched tables and the outbox, whatever their database; the saga log's rows are
    skipped unread unless they are asked for (AEROALPES_CDC_TABLAS)."""
    from services.cdc.config import CdcConfig

    assert CdcConfig.from_env({}).tables == {
        "reservas", "usuarios", "pagos", "confirmaciones", "outbox",
    }  # fmt: skip
    asked = CdcConfig.from_env({"AEROALPES_CDC_TABLAS": "sagas.sagas,reservas.reservas"})
    assert asked.tables == {"sagas", "reservas", "outbox"}
