"""Who is calling, from the metadata Envoy's edge sets: subject, role, owner checks."""

import pytest

from services.kit import activity, identity
from services.kit.errors import NotFound, PermissionDenied, Unauthenticated

ANA, BETO = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"


class Context:
    def __init__(self, *metadata: tuple[str, str]) -> None:
        self.metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata


def edge(subject: str, *roles: str) -> Context:
    return Context((identity.SUBJECT_HEADER, subject), *((identity.ROLE_HEADER, r) for r in roles))


@pytest.fixture(autouse=True)
def no_revocation_check() -> None:
    activity.configure(None)


def test_a_customer_sees_only_their_own() -> None:
    ana = edge(ANA, "cliente")
    identity.require_visible(ana, ANA, "reserva", "r1")
    with pytest.raises(NotFound) as hidden:
        identity.require_visible(ana, BETO, "reserva", "r1")
    assert hidden.value.message == NotFound("reserva", "r1").message  # as if it did not exist
    with pytest.raises(PermissionDenied):
        identity.scoped(ana, BETO)
    assert identity.scoped(ana, "") == ANA
    with pytest.raises(PermissionDenied):
        identity.require_operator(ana, "ReanudarSaga")


def test_an_operator_and_an_internal_caller_see_everything() -> None:
    for caller in (edge(ANA, "operador"), Context()):
        identity.require_visible(caller, BETO, "reserva", "r1")
        identity.require_owner(caller, BETO, "la reserva")
        identity.require_operator(caller, "ReanudarSaga")
        assert identity.scoped(caller, "") == ""
        assert identity.scoped(caller, BETO) == BETO


@pytest.mark.parametrize(
    "metadata",
    [
        [(identity.ROLE_HEADER, "operador")],  # a role without a subject: an internal call
        [(identity.SUBJECT_HEADER, ANA), (identity.ROLE_HEADER, "operador"),
         (identity.ROLE_HEADER, "cliente")],  # a client's copy next to Envoy's
        [(identity.SUBJECT_HEADER, ANA), (identity.ROLE_HEADER, "OPERADOR")],
    ],
)  # fmt: skip
def test_only_one_exact_operator_value_next_to_a_subject_grants_the_role(
    metadata: list[tuple[str, str]],
) -> None:
    found = identity.who(Context(*metadata))
    assert not found.operator


def test_a_deactivated_account_is_refused() -> None:
    activity.configure(activity.ActiveAccounts(lambda subject: subject == ANA, ttl_s=30))
    try:
        assert identity.caller(edge(ANA, "cliente")) == ANA
        with pytest.raises(Unauthenticated):
            identity.who(edge(BETO, "cliente"))
        assert identity.who(Context()).subject is None  # internal calls are not checked
    finally:
        activity.configure(None)
