"""The real stack: chdb-core ClickHouse and nats-server started, used and stopped.

Each test uses its own stack folder and free ports, so a developer's running stack is not touched.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import clickhouse_connect
import nats
import pytest
from nats.js.api import AccountInfo

from services.stack.api import Origin, StackUrls, down, ensure_up, status
from services.stack.errors import ServerStartError
from services.stack.ports import free_port, is_port_free
from services.stack.process import is_alive
from services.stack.settings import StackSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[StackSettings]:
    chosen = StackSettings(
        dir=tmp_path / "stack",
        clickhouse_http_port=free_port(),
        clickhouse_tcp_port=free_port(),
        nats_port=free_port(),
    )
    yield chosen
    down(chosen)


def _client(urls: StackUrls) -> clickhouse_connect.driver.client.Client:
    host_port = urls.clickhouse_url.removeprefix("http://")
    host, port = host_port.split(":")
    # a pool of its own, closed with the client: an idle keep-alive connection delays shutdown ~5 s
    return clickhouse_connect.get_client(host=host, port=int(port), dedicated_pool=True)


async def _account_info(url: str) -> AccountInfo:
    client = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        return await client.jetstream().account_info()
    finally:
        await client.close()


def test_up_serves_clickhouse_and_jetstream_and_down_leaves_nothing(settings: StackSettings) -> None:
    urls = ensure_up(settings)
    servers = {server.name: server for server in status(settings)}
    pids = [servers[name].pid for name in ("clickhouse", "nats")]

    assert {s.origin for s in servers.values()} == {Origin.STARTED}
    assert all(s.answering for s in servers.values())
    with _client(urls) as client:
        assert str(client.query("SELECT version()").result_rows[0][0]).startswith("26.")
    assert asyncio.run(_account_info(urls.broker_url)).limits is not None
    assert ensure_up(settings) == urls  # idempotent
    assert [server.pid for server in status(settings)] == pids

    assert down(settings) == ["nats", "clickhouse"]

    assert not any(is_alive(pid) for pid in pids if pid is not None)
    for port in (settings.clickhouse_http_port, settings.clickhouse_tcp_port, settings.nats_port):
        assert is_port_free(port)
    assert not list(settings.root.glob("*.pid"))


def test_clickhouse_keeps_tables_across_restart_and_deduplicates(settings: StackSettings) -> None:
    with _client(ensure_up(settings)) as client:
        client.command("CREATE DATABASE t")
        client.command(
            "CREATE TABLE t.events (id UInt32, v String, version UInt32) "
            "ENGINE = ReplacingMergeTree(version) ORDER BY id"
        )
        client.command(
            "CREATE TABLE t.batches (id UInt32) ENGINE = MergeTree ORDER BY id "
            "SETTINGS non_replicated_deduplication_window = 100"
        )
        client.insert("t.events", [[1, "old", 1], [2, "b", 1]], column_names=["id", "v", "version"])
        client.insert("t.events", [[1, "new", 2]], column_names=["id", "v", "version"])
        for token in ("batch-1", "batch-1", "batch-2"):
            client.insert("t.batches", [[1], [2]], settings={"insert_deduplication_token": token})

    down(settings)

    with _client(ensure_up(settings)) as client:
        final = client.query("SELECT id, v FROM t.events FINAL ORDER BY id").result_rows
        batches = client.query("SELECT count() FROM t.batches").result_rows[0][0]
    assert final == [(1, "new"), (2, "b")]
    assert batches == 4  # the repeated batch-1 was dropped


def test_servers_already_answering_are_used_not_started(settings: StackSettings, tmp_path: Path) -> None:
    first = ensure_up(settings)
    other = StackSettings(
        dir=tmp_path / "other",
        clickhouse_url=first.clickhouse_url,
        nats_port=settings.nats_port,
    )

    assert ensure_up(other) == first
    assert {s.origin for s in status(other)} == {Origin.EXTERNAL}
    assert down(other) == []
    assert all(s.answering for s in status(settings))


def test_a_server_that_dies_while_starting_is_reported_with_its_log(
    settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the port check is skipped so that clickhouse-local itself meets the taken port
    monkeypatch.setattr("services.stack.api.is_port_free", lambda port: True)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", settings.clickhouse_http_port))
        blocker.listen()

        with pytest.raises(ServerStartError, match="exited before answering") as caught:
            ensure_up(settings)

    assert "Address already in use" in caught.value.log_tail
    assert not (settings.root / "clickhouse.pid").exists()
