"""The stack API's decisions that need no server: refusing taken ports, reporting nothing running."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.stack.api import Origin, down, ensure_up, status
from services.stack.errors import ExternalServerError, PortTakenError
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
