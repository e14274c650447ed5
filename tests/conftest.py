"""Fixtures for real components, shared by every test tier."""

pytest_plugins = [
    "tests.support.mariadb",
    "tests.support.pulsar",
    "tests.support.databases",
    "tests.support.participants",
    "tests.support.orchestrator",
]
