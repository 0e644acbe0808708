"""Session fixtures: real servers, a unique ClickHouse database per session, a clean store per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from services.common.clickhouse import ConnectClickHouse, apply_ddl
from services.ingest.app import DDL

from .servers import Servers, real_servers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    with real_servers() as found:
        yield found


@pytest.fixture(scope="session")
def database(servers: Servers) -> Iterator[str]:
    """A database no other session uses; dropped at the end."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    store = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    yield name
    store.command(f"DROP DATABASE IF EXISTS {name}")
    store.close()


@pytest.fixture
def store(servers: Servers, database: str) -> Iterator[ConnectClickHouse]:
    """The session database with the ingest tables, emptied before each test."""
    client = ConnectClickHouse.connect(servers.clickhouse_url, database=database, user="default", password="")
    apply_ddl(client, DDL, database=database)
    client.command("TRUNCATE TABLE events")
    client.command("TRUNCATE TABLE ingest_rejects")
    yield client
    client.close()
