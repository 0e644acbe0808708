"""Secrets the services refuse: predictable pseudonymisation keys, and an empty ClickHouse password off loopback."""

from __future__ import annotations

import secrets

import pytest
from pydantic import SecretStr, ValidationError

from services.common.settings import ServiceSettings, on_loopback
from services.ingest.settings import KEY_MIN_BITS, IngestSettings, key_bits, key_problem
from services.metrics.settings import MetricsSettings


@pytest.mark.parametrize(
    "key",
    ["a" * 32, "0" * 32, " " * 32, "password" * 4, "3f" * 20, "bench-key-" + "7" * 40, "abcd" * 8],
)
def test_predictable_keys_are_refused_with_the_rule(key: str) -> None:
    problem = key_problem(key)
    assert problem is not None and "too predictable" in problem
    with pytest.raises(ValidationError, match="bits estimated"):
        IngestSettings(pseudonym_key=SecretStr(key))


@pytest.mark.parametrize(
    "key",
    [secrets.token_hex(16), secrets.token_hex(32), secrets.token_urlsafe(32), "correct horse battery staple zebra"],
)
def test_random_keys_and_long_passphrases_are_accepted(key: str) -> None:
    assert key_problem(key) is None, key
    assert IngestSettings(pseudonym_key=SecretStr(key)).pseudonym_key.get_secret_value() == key


def test_the_strength_estimate() -> None:
    assert key_bits("") == 0.0
    assert key_bits("ab" * 16) == pytest.approx(32.0)  # two equally frequent characters: 1 bit each
    assert key_bits("0123456789abcdef" * 2) == pytest.approx(128.0)
    assert KEY_MIN_BITS == 96.0


def test_short_and_placeholder_keys_keep_their_own_reasons() -> None:
    assert "at least 32 characters" in (key_problem("k" * 31) or "")
    assert "placeholder" in (key_problem("changeme-" + secrets.token_hex(16)) or "")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:18123", True),
        ("http://127.8.9.10:8123", True),
        ("http://localhost:8123", True),
        ("http://[::1]:8123", True),
        ("https://clickhouse.internal:8443", False),
        ("http://10.0.0.5:8123", False),
        ("http://127.0.0.1.example.com:8123", False),
    ],
)
def test_loopback_is_judged_by_address(url: str, loopback: bool) -> None:
    assert on_loopback(url) is loopback


@pytest.mark.parametrize("settings", [ServiceSettings, MetricsSettings])
def test_an_empty_clickhouse_password_is_refused_off_loopback(settings: type[ServiceSettings]) -> None:
    with pytest.raises(ValidationError, match="CLICKHOUSE_PASSWORD is empty"):
        settings(clickhouse_url="https://clickhouse.internal:8443")
    assert settings(clickhouse_url="https://clickhouse.internal:8443", clickhouse_password=SecretStr("s3cr3t-pw"))
    assert settings(clickhouse_url="http://127.0.0.1:18123")
