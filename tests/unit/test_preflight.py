"""Preflight: each missing piece of a server set-up is named in one line with its fix."""

import pytest

from services.kit.config import ConfigError
from services.kit.preflight import PreflightError, cdc_mode, check_binlog, check_grants

GOOD = {
    "log_bin": "ON",
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
    "binlog_row_metadata": "FULL",
}


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("log_bin", "OFF", "`log_bin=binlog` and `server_id=1`"),
        ("binlog_format", "STATEMENT", "`binlog_format=ROW`"),
        ("binlog_row_image", "MINIMAL", "`binlog_row_image=FULL`"),
        ("binlog_row_metadata", "NONE", "`binlog_row_metadata=FULL`"),
    ],
)
def test_a_wrong_binlog_setting_names_itself_and_its_my_cnf_line(
    name: str, value: str, fix: str
) -> None:
    with pytest.raises(PreflightError) as raised:
        check_binlog("10.11.6-MariaDB", {**GOOD, name: value})
    message = str(raised.value)
    assert message.startswith(f"{name} is {value}: add {fix} under [mysqld] in my.cnf")
    assert "AEROALPES_CDC_MODO=sondeo" in message and "\n" not in message


def test_a_server_without_row_metadata_is_too_old() -> None:
    with pytest.raises(PreflightError, match=r"binlog_row_metadata is unknown to server 5\.7"):
        check_binlog("5.7.44", {k: v for k, v in GOOD.items() if k != "binlog_row_metadata"})


@pytest.mark.parametrize(
    "grants",
    [
        ["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"],
        ["GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `cdc`@`%`"],  # MySQL
        ["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`"],  # MariaDB 10.5+
    ],
)
def test_replication_grants_in_either_spelling_pass(grants: list[str]) -> None:
    check_grants("cdc", grants)


@pytest.mark.parametrize(
    ("grants", "missing"),
    [
        (["GRANT USAGE ON *.* TO `cdc`@`%`", "GRANT SELECT ON `pagos`.* TO `cdc`@`%`"],
         "REPLICATION SLAVE"),
        (["GRANT REPLICATION SLAVE ADMIN ON *.* TO `cdc`@`%`"], "REPLICATION SLAVE"),
        (["GRANT REPLICATION SLAVE ON *.* TO `cdc`@`%`"], "REPLICATION CLIENT"),
        (["GRANT ALL PRIVILEGES ON `reservas`.* TO `cdc`@`%`"], "REPLICATION SLAVE"),
    ],
)  # fmt: skip
def test_a_missing_grant_is_named_with_the_statement_that_gives_it(
    grants: list[str], missing: str
) -> None:
    with pytest.raises(PreflightError, match=f"user cdc lacks {missing}: run `GRANT {missing} ON"):
        check_grants("cdc", grants)


def test_polling_needs_no_replication_grant() -> None:
    check_grants("cdc", ["GRANT USAGE ON *.* TO `cdc`@`%`"], "sondeo")


def test_the_mode_is_one_of_two() -> None:
    assert cdc_mode({}) == "binlog" and cdc_mode({"AEROALPES_CDC_MODO": "sondeo"}) == "sondeo"
    with pytest.raises(ConfigError, match="AEROALPES_CDC_MODO"):
        cdc_mode({"AEROALPES_CDC_MODO": "polling"})
