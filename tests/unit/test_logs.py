"""Structured logs: JSON lines with stable keys, a text alternative, exceptions on one line, no secrets."""

from __future__ import annotations

import ast
import io
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from devtools.demo import excerpt
from services.common.errors import StoreUnavailable
from services.common.logs import REDACTED, JsonFormatter, TextFormatter, configure, looks_secret, scrub
from services.common.settings import ServiceSettings
from services.ingest.settings import IngestSettings


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The root logger configured as the services configure it, writing to a string."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def configured(out: io.StringIO, fmt: str = "json") -> logging.Logger:
    configure("DEBUG", "json" if fmt == "json" else "text")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    return logging.getLogger("workforce.test")


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_json_line_carries_the_stable_keys_and_the_extra_fields(stream: io.StringIO) -> None:
    log = configured(stream)
    extra = {"event": "batch_stored", "batch": 3, "seconds": 0.25, "counts": {"stored": 2, "rejected": 1}}
    log.info("batch stored=2 rejected=1", extra=extra)
    [line] = lines(stream)
    assert line["level"] == "INFO" and line["logger"] == "workforce.test"
    assert line["event"] == "batch_stored" and line["message"] == "batch stored=2 rejected=1"
    assert line["batch"] == 3 and line["seconds"] == 0.25 and line["counts"] == {"stored": 2, "rejected": 1}
    assert isinstance(line["ts"], str) and line["ts"].endswith("Z") and "T" in line["ts"]
    assert list(line)[:5] == ["ts", "level", "logger", "event", "message"]


def test_a_record_without_an_event_still_has_one(stream: io.StringIO) -> None:
    configured(stream)
    logging.getLogger("some.library").warning("third-party %s", "line")
    [line] = lines(stream)
    assert line["event"] == "log" and line["message"] == "third-party line"


def test_text_format_is_one_human_line_with_key_value_pairs(stream: io.StringIO) -> None:
    log = configured(stream, "text")
    log.warning("refresh failed", extra={"event": "refresh_failed", "reason": "ClickHouse away", "seconds": 1.5})
    [line] = stream.getvalue().splitlines()
    assert " WARNING workforce.test refresh failed event=refresh_failed " in line
    assert line.endswith('reason="ClickHouse away" seconds=1.5')
    assert line.split(" ", 1)[0].endswith("Z")


def test_an_exception_is_rendered_on_the_same_json_line(stream: io.StringIO) -> None:
    log = configured(stream)
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        log.exception("failed", extra={"event": "query_failed"})
    [raw] = stream.getvalue().splitlines()
    line = json.loads(raw)
    assert line["level"] == "ERROR" and line["event"] == "query_failed"
    assert isinstance(line["exc"], str) and "Traceback" in line["exc"] and "ValueError: bad\nvalue" in line["exc"]


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque 7>"


def test_values_json_cannot_hold_fall_back_to_repr(stream: io.StringIO) -> None:
    log = configured(stream)
    log.info("odd", extra={"event": "odd", "thing": Opaque(), "where": {Opaque(): [Opaque()]}, "nan": float("nan")})
    [line] = lines(stream)
    assert line["thing"] == "<Opaque 7>" and line["where"] == {"<Opaque 7>": ["<Opaque 7>"]} and line["nan"] == "nan"


def test_fields_whose_names_look_secret_are_redacted(stream: io.StringIO) -> None:
    log = configured(stream)
    extra = {"event": "x", "password": "p1", "api_token": "t1", "counts": {"pseudonym_key": "k1"}, "key_id": "ab12"}
    log.info("fields", extra=extra)
    [line] = lines(stream)
    assert line["password"] == REDACTED and line["api_token"] == REDACTED
    assert line["counts"] == {"pseudonym_key": REDACTED}
    assert line["key_id"] == "ab12"  # ids name keys, they do not reveal them


@pytest.mark.parametrize(
    ("name", "secret"),
    [("password", True), ("clickhouse_password", True), ("SECRET", True), ("pseudonym_keys_previous", True),
     ("dsn", True), ("key_id", False), ("keyboard", False), ("event_type", False), ("batch", False)],
)  # fmt: skip
def test_secret_looking_names(name: str, secret: bool) -> None:
    assert looks_secret(name) is secret


def test_url_passwords_are_masked_anywhere_in_text() -> None:
    assert (
        scrub("cannot reach http://ingest:hunter2@ch:8123/ (refused)")
        == "cannot reach http://ingest:***@ch:8123/ (refused)"
    )
    assert scrub("amqp://guest@rabbit:5672 and nats://n:4222") == "amqp://guest@rabbit:5672 and nats://n:4222"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_secrets_appear_nowhere_in_the_logs(stream: io.StringIO, fmt: str) -> None:
    password, key = secrets.token_hex(12), secrets.token_hex(32)
    settings = IngestSettings(
        clickhouse_url="https://clickhouse.internal:8443",
        clickhouse_password=SecretStr(password),
        pseudonym_key=SecretStr(key),
    )
    log = configured(stream, fmt)
    log.info("settings %s", settings, extra={"event": "settings", "settings": settings})
    log.info("as a dict", extra={"event": "settings", **settings.model_dump()})
    dsn = f"https://default:{password}@clickhouse.internal:8443/workforce"
    try:
        raise StoreUnavailable(f"cannot reach {dsn}")
    except StoreUnavailable as exc:
        log.exception("store away: %s", exc, extra={"event": "store_unavailable", "reason": str(exc), "url": dsn})
    out = stream.getvalue()
    assert "cannot reach https://default:***@clickhouse.internal:8443" in out
    assert password not in out and key not in out


def test_the_setting_defaults_to_json_and_accepts_text() -> None:
    assert ServiceSettings().log_format == "json"
    assert ServiceSettings(log_format="TEXT").log_format == "text"
    for formatter in (JsonFormatter(), TextFormatter()):
        assert isinstance(formatter, logging.Formatter)


ROOT = Path(__file__).resolve().parents[2]
SERVICE_MODULES = sorted(
    path.relative_to(ROOT)
    for folder in ("services/ingest", "services/metrics")
    for path in (ROOT / folder).rglob("*.py")
    if not path.is_relative_to(ROOT / "services/metrics/engine")
    and not path.is_relative_to(ROOT / "services/metrics/pages")
)
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}


def log_calls(path: Path) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in LEVELS and ast.unparse(func.value) == "log":
            assert isinstance(node, ast.Call)
            yield node


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=str)
def test_every_service_log_call_names_its_event(path: Path) -> None:
    for call in log_calls(path):
        where = f"{path}:{call.lineno}"
        extra = next((k.value for k in call.keywords if k.arg == "extra"), None)
        assert extra is not None, f"{where}: a log call without extra= (its event and fields)"
        if isinstance(extra, ast.Dict):
            keys = [k.value for k in extra.keys if isinstance(k, ast.Constant)]
            assert "event" in keys, f"{where}: extra= without an event name"


def test_the_log_calls_are_found() -> None:
    assert sum(1 for path in SERVICE_MODULES for _ in log_calls(path)) >= 20


def test_the_demo_finds_json_error_lines_in_a_service_log(tmp_path: Path, stream: io.StringIO) -> None:
    log = configured(stream)
    log.error("reject limit reached", extra={"event": "reject_limit_reached"})
    for n in range(30):
        log.info("line %d", n, extra={"event": "filler"})
    (tmp_path / "ingest.log").write_text(stream.getvalue(), encoding="utf-8")
    assert '"event": "reject_limit_reached"' in excerpt(tmp_path / "ingest.log").splitlines()[0]
