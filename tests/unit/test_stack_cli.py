from __future__ import annotations

import socket
from pathlib import Path

import pytest

from services.stack.api import Origin, ServerStatus
from services.stack.cli import build_parser, format_status, main, settings_from


def test_command_line_options_override_settings(tmp_path: Path) -> None:
    args = build_parser().parse_args(["up", "--dir", str(tmp_path), "--clickhouse-http-port", "28123"])

    settings = settings_from(args)

    assert args.command == "up"
    assert settings.root == tmp_path
    assert settings.clickhouse_http_port == 28123


def test_shards_are_an_option_too(tmp_path: Path) -> None:
    assert settings_from(build_parser().parse_args(["up", "--dir", str(tmp_path), "--shards", "2"])).shards == 2
    assert settings_from(build_parser().parse_args(["up", "--dir", str(tmp_path)])).shards == 1


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["restart"])


def test_status_line_names_url_pid_and_origin() -> None:
    line = format_status(ServerStatus("clickhouse", "http://127.0.0.1:18123", Origin.STARTED, True, 42, 300 * 2**20))

    assert line.split() == [
        "clickhouse",
        "http://127.0.0.1:18123",
        "pid",
        "42,",
        "RSS",
        "300",
        "MiB,",
        "started",
        "by",
        "this",
        "stack,",
        "answering",
    ]


def test_external_status_line() -> None:
    line = format_status(ServerStatus("nats", "nats://127.0.0.1:4222", Origin.EXTERNAL, True))

    assert "pid -" in line
    assert "external" in line


def test_up_reports_a_taken_port_on_stderr_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = str(sock.getsockname()[1])
        code = main(["up", "--dir", str(tmp_path), "--clickhouse-http-port", port])

    captured = capsys.readouterr()
    assert code == 1
    assert f"port {port} " in captured.err
    assert captured.out == ""
