"""Session fixtures: real servers, a unique ClickHouse database per session, a clean store per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from devtools import tansu
from services.common.clickhouse import ConnectClickHouse
from services.common.migrations import migrate
from services.stack.ports import accepts_connections

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
    migrate(client, "ingest", database=database)
    client.command("TRUNCATE TABLE events")
    client.command("TRUNCATE TABLE ingest_rejects")
    yield client
    client.close()


@pytest.fixture
def kafka_url(tmp_path: Path) -> Iterator[str]:
    if url := os.environ.get("KAFKA_URL"):
        parts = urlsplit(url)
        if not accepts_connections(parts.port or 9092, parts.hostname or "127.0.0.1"):
            pytest.skip(f"Kafka does not answer at {url}")
        yield url
        return
    try:
        with tansu.running(tmp_path / "tansu.log") as url:
            yield url
    except tansu.TansuUnavailable as exc:
        pytest.skip(f"Kafka: no KAFKA_URL and {exc}")
