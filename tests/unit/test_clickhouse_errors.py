"""The ClickHouse port classifies driver errors by the server's error code (issue 14).

Exceptions are built as clickhouse-connect builds them: `build_http_error` from the status, the
X-ClickHouse-Exception-Code header and the body a ClickHouse 26.9 server sent (bodies captured from the
local server); transport errors come from a real client refused by a local port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any, cast

import pytest
from clickhouse_connect.driver._backend.httpcommon import build_http_error
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import (
    DatabaseError,
    OperationalError,
    ProgrammingError,
    StreamFailureError,
)

from services.common.clickhouse import (
    PERMANENT_CODES,
    TRANSIENT_CODES,
    ConnectClickHouse,
    error_code,
    is_transient,
)
from services.common.errors import StoreRejected, StoreUnavailable

URL = "http://127.0.0.1:18123"
CAPTURED = {
    60: (
        404,
        "Code: 60. DB::Exception: Unknown table expression identifier 'no_such_table_x'. "
        "In scope SELECT * FROM no_such_table_x. (UNKNOWN_TABLE) (version 26.9.2.1)",
    ),
    159: (
        408,
        "Code: 159. DB::Exception: Timeout exceeded: elapsed 1001.875 ms, maximum: 1000.000 ms. "
        "(TIMEOUT_EXCEEDED) (version 26.9.2.1)",
    ),
    516: (
        403,
        "Code: 516. DB::Exception: nobody: Authentication failed: password is incorrect, "
        "or there is no user with such name. (AUTHENTICATION_FAILED)",
    ),
}
STATUS = {62: 400, 81: 404, 497: 403}


def server_error(code: int, *, retried: bool = False, show: Any = True) -> DatabaseError:
    """The exception clickhouse-connect raises for a server answer carrying `code`."""
    status, body = CAPTURED.get(code, (STATUS.get(code, 500), ""))
    if not body:
        name = {**TRANSIENT_CODES, **PERMANENT_CODES}.get(code, "SOME_ERROR")
        body = f"Code: {code}. DB::Exception: simulated. ({name}) (version 26.9.2.1)"
    return build_http_error(503 if retried else status, str(code), body + "\n", show, URL, retried)


class Raising:
    """Stands in for clickhouse-connect's client: every call raises `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def command(self, *args: Any, **kwargs: Any) -> None:
        raise self.error

    def query(self, *args: Any, **kwargs: Any) -> None:
        raise self.error

    def insert(self, *args: Any, **kwargs: Any) -> None:
        raise self.error


def store_raising(error: BaseException) -> ConnectClickHouse:
    return ConnectClickHouse(cast(Client, Raising(error)))


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A local port that refuses connections: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("code", [159, 209, 210, 242, 252, 202, 241, 319, 425, 999])
def test_a_transient_server_code_is_unavailable(code: int) -> None:
    exc = server_error(code)
    assert type(exc) is DatabaseError and exc.code == code
    assert is_transient(exc)
    with pytest.raises(StoreUnavailable) as raised:
        store_raising(exc).command("SELECT 1")
    assert raised.value.__cause__ is exc


@pytest.mark.parametrize("code", [60, 81, 497, 516, 62])
def test_a_permanent_server_code_is_rejected(code: int) -> None:
    exc = server_error(code)
    assert exc.code == code and not is_transient(exc)
    with pytest.raises(StoreRejected, match=PERMANENT_CODES[code]):
        store_raising(exc).query_rows("SELECT 1")


def test_a_timeout_the_server_reports_is_retried_although_its_text_never_said_timed_out() -> None:
    exc = server_error(159)
    assert "timed out" not in str(exc) and "Timeout exceeded" in str(exc)
    with pytest.raises(StoreUnavailable):
        store_raising(exc).insert_rows("events", [[1]], ["x"])


def test_a_permanent_code_is_rejected_even_after_the_driver_retried() -> None:
    exc = server_error(60, retried=True)
    assert isinstance(exc, OperationalError) and exc.code == 60
    with pytest.raises(StoreRejected):
        store_raising(exc).command("SELECT 1")


def test_an_unlisted_code_is_rejected_unless_the_driver_retried_it() -> None:
    assert not is_transient(server_error(53_000))
    assert is_transient(server_error(53_000, retried=True))


@pytest.mark.parametrize("show", [False, "scrub"])
def test_the_code_classifies_even_when_error_detail_is_hidden(show: Any) -> None:
    assert is_transient(server_error(252, show=show))
    assert not is_transient(server_error(497, show=show))


def test_a_code_found_only_in_the_text_classifies() -> None:
    failed = StreamFailureError("Code: 241. DB::Exception: Memory limit exceeded. (MEMORY_LIMIT_EXCEEDED)")
    assert failed.code is None and error_code(failed) == 241 and is_transient(failed)
    refused = DatabaseError("Code: 60. DB::Exception: Unknown table. (UNKNOWN_TABLE) Connection refused")
    assert error_code(refused) == 60 and not is_transient(refused)


def test_a_refused_connection_is_unavailable(refused_url: str) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        ConnectClickHouse.connect(refused_url, database="db", user="default", password="")
    cause = raised.value.__cause__
    assert isinstance(cause, OperationalError) and cause.code is None


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("Error executing HTTP request"),
        DatabaseError("HTTPConnectionPool: Max retries exceeded (Connection refused)"),
        DatabaseError("HTTPConnectionPool: Read timed out. (read timeout=300)"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
def test_without_a_code_a_transport_error_is_unavailable(error: BaseException) -> None:
    with pytest.raises(StoreUnavailable):
        store_raising(error).command("SELECT 1")


def test_without_a_code_any_other_driver_error_is_rejected() -> None:
    exc = ProgrammingError("Attempt to execute concurrent queries within the same session.")
    with pytest.raises(StoreRejected):
        store_raising(exc).command("SELECT 1")


def test_no_code_is_both_transient_and_permanent() -> None:
    assert not TRANSIENT_CODES.keys() & PERMANENT_CODES.keys()
