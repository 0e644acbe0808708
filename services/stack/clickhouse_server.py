"""Child entry point serving ClickHouse from chdb-core: ``python -m services.stack.clickhouse_server``.

chdb's module-level ``query(sql, format, path=...)`` runs the whole clickhouse-local program, which
reads ``./config.xml`` from the working directory; after ``SYSTEM START LISTEN`` it serves the HTTP
and native protocols for as long as that one call runs. So this process writes the config into
``--dir``, changes into it, and keeps a long idle query (``sleepEachRow``) running on a thread. On
SIGTERM or SIGINT it cancels that query over HTTP, clickhouse-local shuts down, and the process exits 0.
Only one such server can run per process, hence a dedicated child.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from xml.sax.saxutils import escape

from services.stack.settings import LOOPBACK

SERVE_SQL = (
    "SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; "
    "SELECT sum(sleepEachRow(1)) FROM numbers(1000000000) "
    "SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0"
)
CANCEL_SQL = "KILL QUERY WHERE interface = 'Local' SYNC"
# clickhouse-connect's version probe misparses the other formats clickhouse-local may answer with.
RESULT_FORMAT = "TabSeparated"
CANCEL_GRACE_S = 10.0


def render_config(
    http_port: int, tcp_port: int, users_path: Path, cluster: str = "", shard_tcp_ports: Sequence[int] = ()
) -> str:
    """config.xml for clickhouse-local: loopback listener, users from ``users_path``, log to stderr; with a
    ``cluster``, a ``remote_servers`` section naming it: one shard per port of ``shard_tcp_ports`` (this
    server's among them), one replica each, reached as ``default`` over the native protocol.

    Users given inline in config.xml are ignored by clickhouse-local (it installs its own open
    ``default`` user); only ``<users_config>`` pointing to a file replaces them.
    """
    return f"""<clickhouse>
    <listen_host>{LOOPBACK}</listen_host>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <users_config>{escape(str(users_path))}</users_config>
    <default_database>default</default_database>
    <logger>
        <level>information</level>
        <console>1</console>
    </logger>
{render_remote_servers(cluster, shard_tcp_ports) if cluster else ""}</clickhouse>
"""


def render_remote_servers(cluster: str, shard_tcp_ports: Sequence[int]) -> str:
    shards = "".join(
        f"""            <shard>
                <replica>
                    <host>{LOOPBACK}</host>
                    <port>{int(port)}</port>
                </replica>
            </shard>
"""
        for port in shard_tcp_ports
    )
    return f"""    <remote_servers>
        <{escape(cluster)}>
{shards}        </{escape(cluster)}>
    </remote_servers>
"""


def render_users() -> str:
    """users.xml: ``default`` without password, loopback only (the local session itself logs in
    from 127.0.0.1), allowed to manage users so tests can create restricted ones."""
    return """<clickhouse>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
            <access_management>1</access_management>
            <named_collection_control>1</named_collection_control>
        </default>
    </users>
    <profiles>
        <default></default>
    </profiles>
    <quotas>
        <default></default>
    </quotas>
</clickhouse>
"""


def write_config(
    directory: Path, http_port: int, tcp_port: int, cluster: str = "", shard_tcp_ports: Sequence[int] = ()
) -> None:
    """Write config.xml and users.xml into ``directory`` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    users_path = directory / "users.xml"
    users_path.write_text(render_users(), encoding="utf-8")
    config = render_config(http_port, tcp_port, users_path, cluster, shard_tcp_ports)
    (directory / "config.xml").write_text(config, encoding="utf-8")


def serve(
    directory: Path, http_port: int, tcp_port: int, cluster: str = "", shard_tcp_ports: Sequence[int] = ()
) -> int:
    """Serve until SIGTERM/SIGINT (exit 0) or until clickhouse-local stops by itself (exit 1)."""
    write_config(directory, http_port, tcp_port, cluster, shard_tcp_ports)
    os.chdir(directory)
    # clickhouse-local ignores <timezone> in config.xml but follows TZ: make the server zone UTC
    os.environ["TZ"] = "UTC"
    time.tzset()
    stop = threading.Event()
    server = threading.Thread(target=_run_clickhouse_local, args=(directory / "data",), daemon=True)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    while server.is_alive() and not stop.wait(0.2):
        pass
    if not stop.is_set():
        print("clickhouse-local stopped by itself; see the lines above", file=sys.stderr, flush=True)
        return 1
    deadline = time.monotonic() + CANCEL_GRACE_S
    while server.is_alive() and time.monotonic() < deadline:
        _cancel(http_port)  # refused while still starting up: try again
        server.join(1.0)
    if server.is_alive():
        # exiting normally would run C++ destructors under the engine's running threads
        os._exit(1)
    return 0


def _run_clickhouse_local(data_dir: Path) -> None:
    # imported here, not at module level: importing chdb starts an embedded engine
    native = importlib.import_module("chdb._chdb")  # the compiled module; its stub lacks query()
    native.query(SERVE_SQL, RESULT_FORMAT, path=str(data_dir))


def _cancel(http_port: int) -> None:
    request = urllib.request.Request(f"http://{LOOPBACK}:{http_port}/", data=CANCEL_SQL.encode())
    try:
        with urllib.request.urlopen(request, timeout=2.0) as response:
            response.read()
    except OSError as exc:
        print(f"could not cancel the serving query: {exc}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", type=Path, required=True, help="config and data directory")
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--tcp-port", type=int, required=True)
    parser.add_argument("--cluster", default="", help="name of the cluster this server is a shard of")
    parser.add_argument("--shard-tcp-ports", default="", help="native ports of every shard, comma-separated")
    args = parser.parse_args(argv)
    ports = [int(port) for port in args.shard_tcp_ports.split(",") if port]
    return serve(args.dir.resolve(), args.http_port, args.tcp_port, args.cluster, ports)


if __name__ == "__main__":
    sys.exit(main())
