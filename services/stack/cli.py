"""``workforce-stack up|down|status``: local ClickHouse (chdb-core) and NATS for demo, tests, bench.

``up`` prints ``export CLICKHOUSE_URL=...`` and ``export BROKER_URL=...`` on stdout (progress goes to
stderr), so ``eval "$(workforce-stack up)"`` configures a shell; ``up --shards N`` starts N ClickHouse
servers forming a cluster and also prints ``CLICKHOUSE_CLUSTER`` and ``CLICKHOUSE_SHARD_URLS``.
Exit codes: 0 ok; 1 a stack error (message on stderr); 3 ``status`` found a server not answering.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.common.cli import add_settings_help, add_version
from services.stack.api import Origin, ServerStatus, down, ensure_up, status
from services.stack.errors import StackError
from services.stack.settings import StackSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workforce-stack", description=__doc__.splitlines()[0])
    add_settings_help(add_version(parser), StackSettings)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, help="stack folder (default <repo>/.stack, env STACK_DIR)")
    parser.add_argument("--clickhouse-http-port", type=int, help="env STACK_CLICKHOUSE_HTTP_PORT")
    parser.add_argument("--clickhouse-tcp-port", type=int, help="env STACK_CLICKHOUSE_TCP_PORT")
    parser.add_argument("--nats-port", type=int, help="env STACK_NATS_PORT")
    parser.add_argument("--shards", type=int, help="ClickHouse servers forming a cluster (env STACK_SHARDS)")
    return parser


def settings_from(args: argparse.Namespace) -> StackSettings:
    """Environment settings, overridden by the options given on the command line."""
    names = ("dir", "clickhouse_http_port", "clickhouse_tcp_port", "nats_port", "shards")
    overrides: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    return StackSettings(**overrides)


def format_status(server: ServerStatus) -> str:
    pid = f"pid {server.pid}" if server.pid is not None else "pid -"
    rss = f", RSS {server.rss_bytes / 2**20:.0f} MiB" if server.rss_bytes is not None else ""
    who = {
        Origin.STARTED: "started by this stack",
        Origin.EXTERNAL: "external (not started by this stack)",
        Origin.DOWN: "not running",
    }[server.origin]
    answer = "answering" if server.answering else "NOT answering"
    return f"{server.name:<10} {server.url:<26} {pid}{rss}, {who}, {answer}"


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from(args)
        if args.command == "up":
            urls = ensure_up(settings, report=_err)
            for name, value in urls.env().items():
                print(f"export {name}={value}")
            return 0
        if args.command == "down":
            down(settings, report=_err)
            return 0
        servers = status(settings)
    except StackError as exc:
        _err(f"workforce-stack {args.command}: {exc}")
        return 1
    for server in servers:
        print(format_status(server))
    return 0 if all(server.answering for server in servers) else 3
