"""The notifier wakes only the waiters of the saga that changed, and hands late ones its end."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.sagas.domain import EstadoSaga, Saga
from services.sagas.notifier import Notifier

AHORA = datetime(2026, 11, 28, tzinfo=UTC)


def _saga(saga_id: str) -> Saga:
    return Saga.nueva(saga_id, "reserva", ["a"], {}, "c1", AHORA, AHORA + timedelta(minutes=1))


def _waiting(notifier: Notifier, saga_id: str, count: int, ending: bool = False) -> None:
    """Until ``count`` threads wait on ``saga_id`` (for its end only: ``ending``), polled."""
    ready = threading.Event()
    while not ready.wait(0.005):
        with notifier._lock:
            waiters = notifier._waiting.get(saga_id)
            condition = None if waiters is None else waiters.ending if ending else waiters.condition
            if condition is not None and len(condition._waiters) == count:  # type: ignore[attr-defined]
                ready.set()


@pytest.fixture
def woken(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The conditions notify_all was called on, in order."""
    calls: list[object] = []
    real = threading.Condition.notify_all

    def counted(self: threading.Condition) -> None:
        calls.append(self)
        real(self)

    monkeypatch.setattr(threading.Condition, "notify_all", counted)
    return calls


def test_a_transition_wakes_its_saga_waiters_only(woken: list[object]) -> None:
    notifier = Notifier()
    got: list[Saga | None] = []
    waiters = [
        threading.Thread(target=lambda: got.append(notifier.wait("A", 30))) for _ in range(2)
    ]
    for w in waiters:
        w.start()
    _waiting(notifier, "A", 2)
    condition_of_a = notifier._waiting["A"].condition
    for _ in range(50):  # other sagas' transitions: A's waiters sleep on
        notifier.notify("B", _saga("B"))
    assert condition_of_a not in woken
    notifier.notify("A", _saga("A"))
    for w in waiters:
        w.join(30)
    assert [s.id if s else None for s in got] == ["A", "A"]
    assert notifier._waiting == {}  # nothing kept once nobody waits


def test_a_wait_without_news_ends_empty_and_leaves_nothing_behind() -> None:
    notifier = Notifier()
    notifier.notify("B", _saga("B"))
    assert notifier.wait("A", 0.01) is None
    assert notifier._waiting == {}


def test_a_saga_that_ended_before_the_wait_comes_back_at_once() -> None:
    # The engine writes the end and forgets the saga, all before the client's thread waits:
    # the client must not sleep a poll interval for news it already missed.
    notifier = Notifier()
    ended = replace(_saga("A"), version=6)
    notifier.notify("A", ended)
    notifier.forget("A")
    assert notifier.wait("A", 30, after=1) == ended
    assert notifier.wait("A", 0.01, after=6) is None  # nothing newer than what the caller has


def test_a_waiter_for_the_end_sleeps_through_the_steps(woken: list[object]) -> None:
    notifier = Notifier()
    got: list[Saga | None] = []
    waiter = threading.Thread(target=lambda: got.append(notifier.wait("A", 30, 1, ending=True)))
    waiter.start()
    _waiting(notifier, "A", 1, ending=True)
    ending = notifier._waiting["A"].ending
    step = replace(_saga("A"), version=2)
    notifier.notify("A", step)
    notifier.notify("A", replace(step, version=3))
    assert ending not in woken  # steps wake only those who watch every one
    done = replace(step, version=4, estado=EstadoSaga.COMPLETADA)
    notifier.notify("A", done)
    waiter.join(30)
    assert got == [done]
    # Already there when asked: the end comes back at once, a step does not.
    assert notifier.wait("A", 30, after=1, ending=True) == done
    notifier.notify("B", replace(_saga("B"), version=2))
    assert notifier.wait("B", 0.01, after=1, ending=True) is None
