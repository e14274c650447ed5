"""Page tokens: only what the server wrote is accepted; anything else is INVALID_ARGUMENT."""

import base64

import pytest

from services.kit import paging
from services.kit.errors import InvalidRequest


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


FORGED = [
    "garbage",
    "ñandú",
    "🙂",
    "-1",
    "9" * 5000,
    b64("seq:-1"),
    b64("seq:0"),
    b64("seq:05"),
    b64(f"seq:{2**63}"),
    b64(f"seq:{10**40}"),
    b64("seq:١٢"),  # digits, but not ASCII ones
    b64("seq: 5"),
    b64("otro:5"),
    b64("seq:5").rstrip("="),
    b64("seq:5") + "\n",
    "c2VxOjU=x",
    "\x00",
]


@pytest.mark.parametrize("token", FORGED)
def test_forged_tokens_are_invalid_arguments_on_page_token(token: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        paging.decode(token)
    [violation] = raised.value.violations
    assert violation.field == "page_token"


@pytest.mark.parametrize("seq", [1, 42, paging.MAX_SEQ])
def test_written_tokens_read_back(seq: int) -> None:
    assert paging.decode(paging.encode(seq)) == seq


def test_empty_token_is_the_first_page() -> None:
    assert paging.decode("") is None
