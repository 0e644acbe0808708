"""The project's storage errors; third-party driver errors never cross this boundary.

StoreError
 ├── StoreUnavailable   transient: server down, timeout, connection refused → back off and retry
 └── StoreRejected      permanent: the server refused the statement (bad SQL, type mismatch)
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error raised by the ClickHouse port."""


class StoreUnavailable(StoreError):
    """ClickHouse could not be reached or did not answer in time; the same call may succeed later."""


class StoreRejected(StoreError):
    """ClickHouse answered and refused the statement; retrying the same call will not help."""
