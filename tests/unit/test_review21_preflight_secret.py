"""Review of issue 21 (rev21): every service now prints its preflight's one line at start, into
logs many people read (docker compose logs, kubectl logs). A password with an unencoded ``@``
(``Sup3r@Secret``) makes SQLAlchemy read ``Secret@db…`` as the host, and the line names that
"host" twice, so half the password lands in the logs. The line should say the URL's host is not
a host name (percent-encode ``@`` as %40) without repeating it."""

import pytest

from services.kit.preflight import PreflightError, server_version


def test_the_one_line_reason_never_repeats_part_of_the_password() -> None:
    with pytest.raises(PreflightError) as refused:
        server_version("mysql+pymysql://aeroalpes_pagos:Sup3r@Secret@db.invalid:3306/")
    assert "Secret" not in str(refused.value)
