from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from services.stack.ports import accepts_connections, is_port_free, nats_info, wait_until


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def _port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def test_a_listening_port_is_taken(listener: socket.socket) -> None:
    assert not is_port_free(_port(listener))
    assert accepts_connections(_port(listener))


def test_a_bound_but_not_listening_port_is_taken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        assert not is_port_free(_port(sock))


def test_a_released_port_is_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = _port(sock)

    assert is_port_free(port)
    assert not accepts_connections(port)


def _serve_once(sock: socket.socket, greeting: bytes) -> threading.Thread:
    def run() -> None:
        conn, _ = sock.accept()
        with conn:
            conn.sendall(greeting)
            conn.recv(16)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_nats_info_reads_the_server_greeting(listener: socket.socket) -> None:
    thread = _serve_once(listener, b'INFO {"version":"2.15.1","jetstream":true}\r\n')

    info = nats_info("127.0.0.1", _port(listener))

    thread.join(2)
    assert info == {"version": "2.15.1", "jetstream": True}


def test_nats_info_is_none_for_another_protocol(listener: socket.socket) -> None:
    thread = _serve_once(listener, b"HTTP/1.1 400 Bad Request\r\n\r\n")

    assert nats_info("127.0.0.1", _port(listener)) is None
    thread.join(2)


def test_nats_info_is_none_for_a_silent_listener(listener: socket.socket) -> None:
    assert nats_info("127.0.0.1", _port(listener), timeout_s=0.2) is None


def test_nats_info_is_none_when_nothing_listens() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = _port(sock)

    assert nats_info("127.0.0.1", port) is None


def test_wait_until_stops_when_the_caller_gives_up() -> None:
    assert not wait_until(lambda: False, timeout_s=30, gave_up=lambda: True)
    assert wait_until(lambda: True, timeout_s=0)
