"""`--help` of every command that reads a settings class lists each of its fields (environment variable, type,
default, description), never shows a secret's value, builds no settings and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from services.common.cli import SECRET, type_name
from services.ingest import cli as ingest_cli
from services.ingest.settings import IngestSettings
from services.metrics import cli as metrics_cli
from services.metrics.settings import MetricsSettings
from services.stack import cli as stack_cli
from services.stack.settings import StackSettings

Main = Callable[[list[str]], int]
# (main, arguments before --help, the settings class that command reads)
SETTINGS_HELP: dict[str, tuple[Main, list[str], type[BaseSettings]]] = {
    **{
        f"ingest {command}": (ingest_cli.main, [command], IngestSettings)
        for command in ("run", "backfill", "replay-dlq", "rekey", "asyncapi")
    },
    **{
        f"metrics {command}": (metrics_cli.main, [command], MetricsSettings)
        for command in ("run", "rebuild", "load-reference-wages")
    },
    "stack": (stack_cli.main, [], StackSettings),
}
MARKER = "not-a-real-secret-but-it-must-not-show-9f2c4e1a7b3d5f60"


def _help(main: Main, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def _entries(text: str) -> dict[str, str]:
    """Environment variable -> its entry (head and description) in one line, whitespace collapsed."""
    listing = text.split("environment variables (case-insensitive):\n", 1)[1]
    entries: dict[str, list[str]] = {}
    for line in listing.splitlines():
        if not line.startswith("   "):  # a new entry, indented by two
            name, _, line = line.strip().partition("  ")
            entries[name] = []
        entries[name] += line.split()
    return {name: " ".join(words) for name, words in entries.items()}


@pytest.mark.parametrize(("main", "argv", "settings"), SETTINGS_HELP.values(), ids=list(SETTINGS_HELP))
def test_help_lists_every_setting_with_type_default_and_description(
    main: Main, argv: list[str], settings: type[BaseSettings], capsys: pytest.CaptureFixture[str]
) -> None:
    entries = _entries(_help(main, argv, capsys))
    prefix = str(settings.model_config.get("env_prefix", ""))

    assert set(entries) == {(prefix + name).upper() for name in settings.model_fields}
    for name, field in settings.model_fields.items():
        entry = entries[(prefix + name).upper()]
        assert field.description, f"{settings.__name__}.{name} needs a description="
        assert entry.startswith(f"{type_name(field.annotation)}, ")
        assert entry.endswith(" ".join(field.description.split()))
        if SECRET not in entry and not field.is_required():
            assert str(field.get_default(call_default_factory=True, validated_data={})) in entry or "unset" in entry


@pytest.mark.parametrize(("main", "argv", "settings"), SETTINGS_HELP.values(), ids=list(SETTINGS_HELP))
def test_help_never_shows_a_secret(
    main: Main,
    argv: list[str],
    settings: type[BaseSettings],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = str(settings.model_config.get("env_prefix", ""))
    for name in settings.model_fields:
        monkeypatch.setenv((prefix + name).upper(), MARKER)
    text = _help(main, argv, capsys)
    entries = _entries(text)

    assert MARKER not in text
    secrets = [name for name, entry in entries.items() if entry.startswith("SecretStr")]
    assert all(SECRET in entries[name] for name in secrets)
    if settings is not StackSettings:
        assert {"CLICKHOUSE_PASSWORD"} <= set(secrets)


@pytest.mark.parametrize(("main", "argv", "settings"), SETTINGS_HELP.values(), ids=list(SETTINGS_HELP))
def test_help_builds_no_settings_and_writes_nothing(
    main: Main,
    argv: list[str],
    settings: type[BaseSettings],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PSEUDONYM_KEY", raising=False)  # a command that built IngestSettings would exit 2
    monkeypatch.setenv("STACK_DIR", str(tmp_path / "stack"))
    monkeypatch.setenv("STACK_CLICKHOUSE_HTTP_PORT", "not a port")  # nor would StackSettings validate

    assert "environment variables" in _help(main, argv, capsys)
    assert list(tmp_path.iterdir()) == []
