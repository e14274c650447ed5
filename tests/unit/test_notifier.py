"""The orchestrator's wake-ups for esperar and ObservarSaga (services/sagas/notifier.py), without
I/O: a waiter for the end wakes on the terminal transition only (issue #15), a watcher on every
transition, and a transition written between the mark and the wait is not missed."""

import threading

from services.sagas.notifier import Notifier


def test_a_waiter_for_the_end_is_not_woken_by_a_step_only_by_the_terminal_transition() -> None:
    notifier = Notifier()
    since = notifier.mark("s1")
    notifier.notify("s1")  # a step's attempt
    notifier.notify("s1")
    assert not notifier.wait("s1", 0, terminal_only=True, since=since)
    assert notifier.wait("s1", 0, since=since)  # a watcher of every transition is woken
    notifier.notify("s1", terminal=True)
    assert notifier.wait("s1", 0, terminal_only=True, since=since)


def test_a_transition_before_the_wait_but_after_the_mark_is_not_missed() -> None:
    notifier = Notifier()
    since = notifier.mark("s1")
    notifier.notify("s1", terminal=True)  # written while the waiter was reading the log
    assert notifier.wait("s1", 0, terminal_only=True, since=since)
    assert not notifier.wait("s1", 0, terminal_only=True)  # since now: nothing new


def test_the_engine_letting_go_of_a_saga_wakes_its_waiters_for_the_end() -> None:
    notifier = Notifier()
    notifier.notify("s1")
    since = notifier.mark("s1")
    notifier.forget("s1")  # stopped, lease lost: the log says what it is now
    assert notifier.wait("s1", 0, terminal_only=True, since=since)


def test_another_saga_s_end_does_not_wake_a_waiter() -> None:
    notifier = Notifier()
    since = notifier.mark("s1")
    notifier.notify("s2", terminal=True)
    assert not notifier.wait("s1", 0, terminal_only=True, since=since)


def test_a_blocked_waiter_returns_on_the_terminal_transition() -> None:
    notifier = Notifier()
    since = notifier.mark("s1")
    woken: list[bool] = []
    waiter = threading.Thread(
        target=lambda: woken.append(notifier.wait("s1", 60, terminal_only=True, since=since))
    )
    waiter.start()
    notifier.notify("s1")
    notifier.notify("s1", terminal=True)
    waiter.join(60)
    assert woken == [True]


def test_forgetting_a_saga_keeps_nothing_of_it() -> None:
    notifier = Notifier()
    notifier.notify("s1", terminal=True)
    notifier.forget("s1")
    assert notifier.mark("s1") == 0
    assert not notifier._terminal and not notifier._versions
