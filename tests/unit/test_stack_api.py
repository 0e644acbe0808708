"""The stack API's decisions that need no server: refusing taken ports, reporting nothing running."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.stack.api import Origin, StackUrls, down, ensure_up, status
from services.stack.errors import ExternalServerError, PortTakenError, StackError
from services.stack.ports import free_port
from services.stack.settings import StackSettings


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _settings(tmp_path: Path, **ports: Any) -> StackSettings:
    chosen: dict[str, Any] = {
        "clickhouse_http_port": free_port(),
        "clickhouse_tcp_port": free_port(),
        "nats_port": free_port(),
    }
    return StackSettings(dir=tmp_path / "stack", **{**chosen, **ports})


@pytest.mark.parametrize("which", ["clickhouse_http_port", "clickhouse_tcp_port"])
def test_up_refuses_a_clickhouse_port_held_by_someone_else(tmp_path: Path, taken_port: int, which: str) -> None:
    settings = _settings(tmp_path, **{which: taken_port})

    with pytest.raises(PortTakenError, match=f"port {taken_port} ") as caught:
        ensure_up(settings)

    assert caught.value.port == taken_port
    assert not (settings.root / "clickhouse.pid").exists()


def test_up_refuses_an_external_clickhouse_that_does_not_answer(tmp_path: Path) -> None:
    settings = StackSettings(dir=tmp_path / "stack", clickhouse_url=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(ExternalServerError, match="nothing answers"):
        ensure_up(settings)


def test_status_and_down_of_an_empty_stack(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    messages: list[str] = []

    servers = status(settings)
    stopped = down(settings, report=messages.append)

    assert [(s.name, s.origin, s.answering, s.pid) for s in servers] == [
        ("clickhouse", Origin.DOWN, False, None),
        ("nats", Origin.DOWN, False, None),
    ]
    assert stopped == []
    assert len(messages) == 2


def test_up_with_shards_refuses_a_taken_port_of_a_later_shard_before_starting_any(
    tmp_path: Path, taken_port: int
) -> None:
    settings = _settings(tmp_path, clickhouse_http_port=taken_port - 1, shards=2)

    with pytest.raises(PortTakenError, match=f"clickhouse-2: port {taken_port} "):
        ensure_up(settings)

    assert not list(settings.root.glob("*.pid"))


def test_shards_are_started_by_the_stack_not_given_by_url(tmp_path: Path) -> None:
    settings = StackSettings(dir=tmp_path / "stack", clickhouse_url="http://127.0.0.1:1", shards=2)

    with pytest.raises(StackError, match="shards are started by the stack"):
        ensure_up(settings)


def test_status_and_down_of_an_empty_stack_of_shards(tmp_path: Path) -> None:
    settings = _settings(tmp_path, shards=3)

    servers = status(settings)

    assert [(s.name, s.url, s.origin) for s in servers] == [
        ("clickhouse", f"http://127.0.0.1:{settings.clickhouse_http_port}", Origin.DOWN),
        ("clickhouse-2", f"http://127.0.0.1:{settings.clickhouse_http_port + 1}", Origin.DOWN),
        ("clickhouse-3", f"http://127.0.0.1:{settings.clickhouse_http_port + 2}", Origin.DOWN),
        ("nats", f"nats://127.0.0.1:{settings.nats_port}", Origin.DOWN),
    ]
    assert down(settings) == []


def test_the_services_learn_the_cluster_only_from_a_stack_of_shards() -> None:
    one = StackUrls("http://127.0.0.1:18123", "nats://127.0.0.1:4222")
    two = StackUrls(one.clickhouse_url, one.broker_url, "workforce", (one.clickhouse_url, "http://127.0.0.1:18124"))

    assert one.env() == {"CLICKHOUSE_URL": one.clickhouse_url, "BROKER_URL": one.broker_url}
    assert two.env() == {
        **one.env(),
        "CLICKHOUSE_CLUSTER": "workforce",
        "CLICKHOUSE_SHARD_URLS": "http://127.0.0.1:18123,http://127.0.0.1:18124",
    }
