"""The orchestrator's decision for every status a participant can answer, written out here
rather than read from the table under test (services/sagas/caller.py CLASSES)."""

import grpc
import pytest

from services.sagas.caller import CLASSES, Outcome, classify

S = grpc.StatusCode
REFUSED, TRANSIENT, CONFLICT, UNKNOWN = (
    Outcome.REFUSED, Outcome.TRANSIENT, Outcome.CONFLICT, Outcome.UNKNOWN,
)  # fmt: skip

# refused: the step did not happen, compensate the others now; transient: retry with the same
# key; conflict: permanent, never retry; unknown: it may have happened, compensate it too.
EXPECTED = {
    S.FAILED_PRECONDITION: REFUSED,
    S.INVALID_ARGUMENT: REFUSED,
    S.NOT_FOUND: REFUSED,
    S.OUT_OF_RANGE: REFUSED,
    S.PERMISSION_DENIED: REFUSED,
    S.UNAUTHENTICATED: REFUSED,
    S.UNAVAILABLE: TRANSIENT,
    S.DEADLINE_EXCEEDED: TRANSIENT,
    S.RESOURCE_EXHAUSTED: TRANSIENT,
    S.ABORTED: TRANSIENT,
    S.ALREADY_EXISTS: CONFLICT,
    S.CANCELLED: UNKNOWN,
    S.UNKNOWN: UNKNOWN,
    S.INTERNAL: UNKNOWN,
    S.UNIMPLEMENTED: UNKNOWN,
    S.DATA_LOSS: UNKNOWN,
}


def test_the_table_names_every_status_but_ok() -> None:
    assert set(EXPECTED) == set(S) - {S.OK}
    assert set(CLASSES) == set(EXPECTED)


@pytest.mark.parametrize("code", list(EXPECTED), ids=[c.name for c in EXPECTED])
def test_each_status_code_gets_its_decision(code: grpc.StatusCode) -> None:
    assert classify(code) is EXPECTED[code]


def test_a_status_outside_the_table_is_an_unknown_outcome() -> None:
    # OK never reaches the classifier as a failure; if it did, nothing proves the step
    # did not happen: compensate it (never retry blindly, never call it refused).
    assert classify(S.OK) is UNKNOWN
