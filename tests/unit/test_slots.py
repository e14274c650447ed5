"""The keyed concurrency gate and the login throttle, without I/O."""

from types import SimpleNamespace

import pytest

from services.clientes.login import ARGON2, Login
from services.clientes.throttle import Policy, Throttle
from services.kit.slots import Exhausted, Slots


def test_a_key_holds_at_most_its_limit_and_gets_slots_back() -> None:
    slots = Slots(per_key=2, total=10)
    with slots.acquire("ana"), slots.acquire("ana"):
        with pytest.raises(Exhausted) as refused, slots.acquire("ana"):
            pass
        assert refused.value.reason == "DEMASIADAS_A_LA_VEZ"
        assert refused.value.retry_after_s
        with slots.acquire("beto"):  # another key is not affected
            assert slots.held() == 3
    assert slots.held() == 0 and slots.held("ana") == 0
    with slots.acquire("ana"):
        pass


def test_the_total_limit_counts_every_key() -> None:
    slots = Slots(per_key=5, total=2)
    with slots.acquire("a"), slots.acquire("b"):
        with pytest.raises(Exhausted) as refused, slots.acquire("c"):
            pass
        assert refused.value.reason == "SERVICIO_OCUPADO"


def test_a_slot_is_returned_when_the_work_fails() -> None:
    slots = Slots(per_key=1, total=1)
    with pytest.raises(RuntimeError), slots.acquire("a"):
        raise RuntimeError("boom")
    assert slots.held() == 0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_of_one_account_wait_longer_and_longer() -> None:
    clock = Clock()
    throttle = Throttle(Policy(free=3), Policy(free=100), clock=clock)
    waits = []
    for _ in range(6):
        throttle.check("ana@example.com", "10.0.0.1")
        throttle.failed("ana@example.com", "10.0.0.1")
        try:
            throttle.check("ana@example.com", "10.0.0.1")
            waits.append(0.0)
        except Exhausted as refused:
            assert refused.reason == "DEMASIADOS_INTENTOS"
            assert refused.retry_after_s is not None
            waits.append(refused.retry_after_s)
            clock.now += refused.retry_after_s
    assert waits == [0, 0, 1, 2, 4, 8]
    throttle.check("beto@example.com", "10.0.0.2")  # others are not affected


def test_a_success_clears_the_account_but_not_the_address() -> None:
    clock = Clock()
    throttle = Throttle(Policy(free=1), Policy(free=2), clock=clock)
    throttle.failed("ana@example.com", "10.0.0.1")
    throttle.failed("beto@example.com", "10.0.0.1")
    throttle.succeeded("ana@example.com", "10.0.0.1")
    with pytest.raises(Exhausted):  # the address sprayed two accounts
        throttle.check("carla@example.com", "10.0.0.1")
    throttle.check("ana@example.com", "10.0.0.9")


def test_a_stranger_guessing_elsewhere_never_locks_the_owner_out() -> None:
    clock = Clock()
    throttle = Throttle(Policy(free=3), Policy(free=100), clock=clock)
    for _ in range(10):
        throttle.failed("ana@example.com", "203.0.113.7")
    with pytest.raises(Exhausted):  # the guesser waits…
        throttle.check("ana@example.com", "203.0.113.7")
    throttle.check("ana@example.com", "10.0.0.1")  # …the owner, from her address, does not


def test_a_flood_of_new_keys_cannot_wipe_a_guessers_counter() -> None:
    clock = Clock()
    throttle = Throttle(Policy(free=3), Policy(free=1000), clock=clock, max_keys=100)
    for _ in range(6):
        throttle.failed("ana@example.com", "203.0.113.7")
    for n in range(300):  # one-off failures under fresh keys, to push the guesser's out
        throttle.failed(f"spray{n}@example.com", f"198.51.100.{n}")
    with pytest.raises(Exhausted) as refused:
        throttle.check("ana@example.com", "203.0.113.7")
    assert refused.value.retry_after_s == 8  # 6 failures, 3 free: still 2**3 s


def test_failures_are_forgotten_after_the_window() -> None:
    clock = Clock()
    throttle = Throttle(Policy(free=1, window_s=60), Policy(free=10), clock=clock)
    throttle.failed("ana@example.com", "")
    with pytest.raises(Exhausted):
        throttle.check("ana@example.com", "")
    clock.now += 61
    throttle.check("ana@example.com", "")
    throttle.failed("ana@example.com", "")  # a fresh count: one failure, one second
    clock.now += 1.01
    throttle.check("ana@example.com", "")


def test_the_wait_is_capped() -> None:
    assert Policy(free=3, cap_s=300).wait_s(500) == 300


def test_sign_ups_hash_through_their_own_gate_not_the_logins() -> None:
    logins = Slots(per_key=1, total=1)
    hasher = SimpleNamespace(passwords=SimpleNamespace(hash=lambda password: f"h({password})"))
    login = Login(lambda: None, hasher, argon2=logins)  # type: ignore[arg-type]
    with logins.acquire(ARGON2):  # every login slot busy (a login flood)…
        assert login.hash("clave") == "h(clave)"  # …a sign-up still hashes
        with login.hashing.acquire(ARGON2), pytest.raises(Exhausted):
            login.hash("otra")  # and sign-ups are bounded by their own gate
