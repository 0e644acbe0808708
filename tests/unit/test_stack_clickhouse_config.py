from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from services.stack.clickhouse_server import render_config, render_users, write_config
from services.stack.layout import ShardPaths, StackPaths


def test_config_listens_on_loopback_ports_and_points_to_users_file() -> None:
    root = ET.fromstring(render_config(28123, 29000, Path("/tmp/x/users.xml")))

    assert root.findtext("listen_host") == "127.0.0.1"
    assert root.findtext("http_port") == "28123"
    assert root.findtext("tcp_port") == "29000"
    assert root.findtext("users_config") == "/tmp/x/users.xml"
    assert root.findtext("default_database") == "default"


def test_config_escapes_the_users_path() -> None:
    root = ET.fromstring(render_config(1, 2, Path("/tmp/a&b<c/users.xml")))

    assert root.findtext("users_config") == "/tmp/a&b<c/users.xml"


def test_default_user_has_no_password_and_only_loopback() -> None:
    default = ET.fromstring(render_users()).find("users/default")

    assert default is not None
    assert default.findtext("password") == ""
    assert [ip.text for ip in default.iterfind("networks/ip")] == ["127.0.0.1", "::1"]
    assert default.find("networks/host") is None


def test_write_config_writes_both_files_with_absolute_users_path(tmp_path: Path) -> None:
    write_config(tmp_path / "ch", 18123, 19000)

    config = ET.parse(tmp_path / "ch" / "config.xml").getroot()
    users_path = Path(config.findtext("users_config") or "")
    assert users_path == tmp_path / "ch" / "users.xml"
    assert users_path.read_text(encoding="utf-8") == render_users()


def test_one_server_names_no_cluster() -> None:
    assert ET.fromstring(render_config(28123, 29000, Path("/tmp/x/users.xml"))).find("remote_servers") is None


def test_each_shard_names_every_shard_of_the_cluster() -> None:
    root = ET.fromstring(render_config(28124, 29001, Path("/tmp/x/users.xml"), "workforce", [29000, 29001]))

    shards = root.findall("remote_servers/workforce/shard")
    assert [[(r.findtext("host"), r.findtext("port")) for r in s.iterfind("replica")] for s in shards] == [
        [("127.0.0.1", "29000")],
        [("127.0.0.1", "29001")],
    ]


def test_shard_paths_keep_the_first_server_where_one_server_lives(tmp_path: Path) -> None:
    paths = StackPaths(tmp_path)
    (tmp_path / "clickhouse-3.pid").write_text("1\n")
    (tmp_path / "clickhouse.pid").write_text("1\n")
    (tmp_path / "clickhouse-x.pid").write_text("1\n")

    assert paths.shard(1) == ShardPaths(1, paths.clickhouse_dir, paths.clickhouse_pid, paths.clickhouse_log)
    assert paths.shard(2) == ShardPaths(
        2, tmp_path / "clickhouse-2", tmp_path / "clickhouse-2.pid", tmp_path / "clickhouse-2.log"
    )
    assert paths.shards_with_pid_files() == [1, 3]
