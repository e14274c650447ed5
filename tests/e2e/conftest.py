"""Systems shared by the modules that need nothing else of them (a start and a stop of the whole
mesh are ~10 s each, more under coverage): one with the default settings, one exporting its
traces to an OTLP receiver, one with the web console's settings, one with the privacy tests'
(an operator, a 2 s identity TTL, a stream cap, the saga log's CDC, no edge rate limit). Their
users use random ids and assert on what their own calls changed, so they do not depend on each
other. The guarded mesh's users share one address's login failures (test_privacy throttles it,
as its last test): a module added there must not fail logins of its own.

The modules using one of them run one after another (moved together, in their order, where the
first of them was), and the system is stopped right after the last of them: it never runs idle
beside the tests that start systems of their own."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import ExitStack

import pytest

from tests.support.mesh import Mesh, run_mesh
from tests.support.otlp import Receiver, otlp_receiver

SHARED = ("default_mesh", "traced_mesh", "ui_mesh", "guarded_mesh")
_running = {name: ExitStack() for name in SHARED}
_last_user: dict[str, pytest.Item] = {}


@pytest.hookimpl(trylast=True)  # after -k / -m deselected what will not run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for name in SHARED:
        using = [item for item in items if name in getattr(item, "fixturenames", ())]
        if not using:
            continue
        modules = {item.module for item in using}  # type: ignore[attr-defined]
        users = [item for item in items if getattr(item, "module", None) in modules]
        at = items.index(users[0])
        others = [item for item in items if getattr(item, "module", None) not in modules]
        items[:] = others[:at] + users + others[at:]
        _last_user[name] = using[-1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    yield
    for name, last in _last_user.items():
        if item is last:
            _running[name].close()  # the fixture's own exit, at the session's end, is then a no-op


@pytest.fixture(scope="session")
def default_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with _running["default_mesh"] as stack:  # at the end also when the last user never ran
        yield stack.enter_context(run_mesh(tmp_path_factory.mktemp("mesh-default")))


@pytest.fixture(scope="session")
def traced_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mesh, Receiver]]:
    with _running["traced_mesh"] as stack:
        receiver, endpoint = stack.enter_context(otlp_receiver())
        env = {"AEROALPES_OTLP_ENDPOINT": endpoint}
        mesh = stack.enter_context(run_mesh(tmp_path_factory.mktemp("mesh-traced"), env=env))
        yield mesh, receiver


@pytest.fixture(scope="session")
def ui_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    from tests.e2e.test_ui import MESH_ENV  # the console's settings, beside its tests

    with _running["ui_mesh"] as stack:
        yield stack.enter_context(run_mesh(tmp_path_factory.mktemp("mesh-ui"), env=MESH_ENV))


@pytest.fixture(scope="session")
def guarded_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    from tests.e2e.test_privacy import MESH_ENV  # the privacy tests' settings, beside them

    with _running["guarded_mesh"] as stack:
        yield stack.enter_context(run_mesh(tmp_path_factory.mktemp("mesh-guarded"), env=MESH_ENV))
