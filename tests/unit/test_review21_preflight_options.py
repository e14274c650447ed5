"""Review of issue 21 (rev21), after aaf5c16 (preflight connects with the URL's own options):
an option the URL may carry must still end in the one-line PreflightError, never a traceback.
``?connect_timeout=`` is a PyMySQL option the services' engines accept; preflight passes its own
connect_timeout beside it (TypeError: multiple values for keyword argument)."""

import pytest

from services.kit.preflight import PreflightError, server_version
from tests.support.components import free_port


def test_a_url_with_its_own_connect_timeout_gets_the_one_line_reason() -> None:
    closed = free_port()
    with pytest.raises(PreflightError, match=f"127.0.0.1:{closed} unreachable"):
        server_version(f"mysql+pymysql://app:secret@127.0.0.1:{closed}/?connect_timeout=3")


def test_a_missing_ca_file_gets_the_one_line_reason() -> None:
    closed = free_port()
    with pytest.raises(PreflightError):
        server_version(f"mysql+pymysql://app:secret@127.0.0.1:{closed}/?ssl_ca=/nonexistent/ca.pem")
