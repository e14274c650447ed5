"""Every AEROALPES_* variable that a test, a benchmark, a deployment file or the docs sets or
names is one the services read: a misspelt one is silently ignored, and whatever it was meant
to configure keeps its default (two binlog tests once named the relay's start under another
name than AEROALPES_CDC_INICIO, so the relay they meant to start at "now" started at the
oldest binlog)."""

from __future__ import annotations

import re
from pathlib import Path

from services.mesh.settings import SERVICES
from tests.support.components import REPO

NAME = re.compile(r"AEROALPES_[A-Z0-9_]*[A-Z0-9]")
# What a service reads is a whole string literal of its code (a comment or a message that
# names a variable reads nothing).
LITERAL = re.compile(r"""["'](AEROALPES_[A-Z0-9_]*[A-Z0-9])["']""")
# Built from a service's name: its port, metrics port, address and replica count.
PER_SERVICE = re.compile(
    rf"AEROALPES_({'|'.join(s.upper() for s in SERVICES)})_(PORT|METRICS_PORT|ADDR|REPLICAS)"
)
# Read by the tests themselves, not by a service.
TESTS_OWN = {
    "AEROALPES_SCREENSHOTS_DIR",  # where the UI tests write their screenshots
    "AEROALPES_TINY_PORT",  # the port of a test's own small gRPC server
    "AEROALPES_X",  # a made-up name for the settings parser's own tests
}


def names_in(paths: list[Path], pattern: re.Pattern[str] = NAME) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in paths:
        for name in pattern.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_setting_that_is_set_or_documented_is_read_by_the_services() -> None:
    read = set(names_in(sorted((REPO / "services").rglob("*.py")), LITERAL))
    assert "AEROALPES_DB_URL" in read and "AEROALPES_CDC_INICIO" in read  # the scan works
    elsewhere = names_in(
        [
            *sorted((REPO / "tests").rglob("*.py")),
            *sorted((REPO / "bench").rglob("*.py")),
            *sorted((REPO / "bench").rglob("*.md")),
            *sorted((REPO / "deploy").rglob("*.yaml")),
            *sorted((REPO / "deploy").rglob("*.env")),
            *sorted(REPO.glob("*.md")),
            *sorted((REPO / "services").rglob("*.md")),
            REPO / "docker-compose.yml",
            REPO / "Dockerfile",
            REPO / "Makefile",
        ]
    )
    unread = {
        name: sorted(where)
        for name, where in elsewhere.items()
        if name not in read and name not in TESTS_OWN and not PER_SERVICE.fullmatch(name)
    }
    assert not unread, f"set or documented, read by no service: {unread}"
