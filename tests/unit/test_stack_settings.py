from __future__ import annotations

from pathlib import Path

import pytest

from services.stack.settings import StackSettings, default_stack_dir


def test_defaults_are_the_project_stack_and_non_standard_clickhouse_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DIR", "CLICKHOUSE_HTTP_PORT", "CLICKHOUSE_TCP_PORT", "NATS_PORT", "NATS_URL"):
        monkeypatch.delenv(f"STACK_{name}", raising=False)

    settings = StackSettings()

    assert settings.dir == default_stack_dir()
    assert default_stack_dir() == Path(__file__).resolve().parents[2] / ".stack"
    assert (settings.clickhouse_http_port, settings.clickhouse_tcp_port) == (18123, 19000)
    assert settings.nats_port == 4222
    assert settings.nats_url is None


def test_environment_with_stack_prefix_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STACK_DIR", str(tmp_path / "s"))
    monkeypatch.setenv("STACK_CLICKHOUSE_HTTP_PORT", "28123")
    monkeypatch.setenv("STACK_NATS_URL", "nats://10.0.0.1:4222")

    settings = StackSettings()

    assert settings.root == tmp_path / "s"
    assert settings.clickhouse_http_port == 28123
    assert settings.nats_url == "nats://10.0.0.1:4222"


def test_relative_dir_resolves_to_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)

    assert StackSettings(dir=Path("rel")).root == tmp_path / "rel"


def test_port_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="less than or equal to 65535"):
        StackSettings(nats_port=70000)


def test_shard_k_listens_on_the_ports_plus_k_minus_one() -> None:
    settings = StackSettings(clickhouse_http_port=28123, clickhouse_tcp_port=29000, shards=3)

    assert [settings.shard_ports(k) for k in (1, 2, 3)] == [(28123, 29000), (28124, 29001), (28125, 29002)]
    assert StackSettings().shards == 1
    with pytest.raises(ValueError, match="3 shards need ports up to 65536"):
        StackSettings(clickhouse_http_port=65534, shards=3)
