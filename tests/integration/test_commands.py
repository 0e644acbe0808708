"""The one-shot commands as an operator runs them, each a real process over a database of its own:
`workforce-ingest backfill` and `rekey`, `workforce-metrics load-reference-wages` and `rebuild`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from services.common.clickhouse import ConnectClickHouse
from services.sim import SimConfig, generate
from services.sim.cli import write_events

from .harness import TEST_KEY
from .servers import Servers

AS_OF = date(2024, 12, 31)
NEXT_KEY = hashlib.sha256(b"the next key").hexdigest()


@pytest.fixture
def own_database(servers: Servers) -> Iterator[tuple[ConnectClickHouse, dict[str, str]]]:
    """A database of this test's (rebuild republishes every indicator) and the environment naming it."""
    name = f"test_cli_{uuid.uuid4().hex[:12]}"
    client = ConnectClickHouse.connect(servers.clickhouse_url, database=name, user="default", password="")
    env = {
        **os.environ,
        "CLICKHOUSE_URL": servers.clickhouse_url,
        "CLICKHOUSE_DATABASE": name,
        "PSEUDONYM_KEY": TEST_KEY,
        "METRICS_AS_OF": AS_OF.isoformat(),
        "METRICS_K": "3",
    }
    yield client, env
    client.command(f"DROP DATABASE IF EXISTS {name}")
    client.close()


def _run(module: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_backfill_stores_once_and_rebuild_publishes_with_the_loaded_wages(
    own_database: tuple[ConnectClickHouse, dict[str, str]], tmp_path: Path
) -> None:
    client, env = own_database
    events = tmp_path / "events.jsonl"
    simulated = list(generate(SimConfig(workers=25, start_year=2023, end=AS_OF, seed=5)))
    with events.open("w", encoding="utf-8") as out:
        total = sum(write_events(simulated, out).values())
    worker_ids = tmp_path / "worker-ids.txt"
    worker_ids.write_text("\n".join({str(e["worker_id"]) for e in simulated if e["worker_id"]}), encoding="utf-8")
    wages = tmp_path / "wages.csv"
    wages.write_text("region,year,annual_amount,source\nall,2024,150000,official announcement\n", encoding="utf-8")

    assert _run("services.ingest.cli", "backfill", "--quiet", str(events), env=env) == (
        f"stored={total} duplicates=0 rejected=0"
    )
    assert _run("services.ingest.cli", "backfill", "--quiet", str(events), env=env) == (
        f"stored=0 duplicates={total} rejected=0"
    )
    rekeyed = _run(
        "services.ingest.cli",
        "rekey",
        "--worker-ids",
        str(worker_ids),
        env={**env, "PSEUDONYM_KEY": NEXT_KEY, "PSEUDONYM_KEYS_PREVIOUS": TEST_KEY},
    ).splitlines()
    assert rekeyed[0].startswith("re-keyed ") and rekeyed[-1] == "still under an earlier key: 0 workers, 0 rows"
    assert _run("services.metrics.cli", "load-reference-wages", str(wages), env=env).startswith(
        "loaded 1 reference wages"
    )
    assert _run("services.metrics.cli", "rebuild", env=env).startswith(f"rebuilt as of {AS_OF}: {total} events")

    assert client.query_rows("SELECT region, year, annual_amount FROM reference_wages") == [("all", 2024, 150000.0)]
    assert int(client.query_rows("SELECT count() FROM indicators")[0][0]) > 0
