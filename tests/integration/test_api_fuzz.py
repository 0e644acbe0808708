"""Schemathesis against the running metrics service: every operation of its own /openapi.json, with data that fits
the document and data that does not, over a real ClickHouse holding published indicators. No answer may be a 500
and every answer must match the schema the document gives for its status. Budget: tests/fuzzing.py."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance

from services.common.clickhouse import ConnectClickHouse
from services.sim import SimConfig, generate
from services.stack.ports import free_port
from tests.fuzzing import API_EXAMPLES

from .harness import start_metrics_process, stop_process, store_events, utc_now_fixed, wait_ready
from .servers import Servers

AS_OF = date(2024, 6, 30)
CHECKS = [not_a_server_error, response_schema_conformance]


def fuzz(base_url: str) -> list[str]:
    """Run every operation in both generation modes; the labels of the operations it ran."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    ran = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation the document does not define soundly
        operation = result.ok()
        modes = [GenerationMode.POSITIVE]
        if operation.query:  # nothing to break in an operation without parameters
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=API_EXAMPLES, suppress_health_check=list(HealthCheck))
            def call(case: Case[Any]) -> None:
                case.call_and_validate(base_url=base_url, checks=CHECKS)

            call()
            ran.append(f"{operation.label} {mode.value}")
    return ran


async def test_no_operation_answers_500_or_off_its_documented_schema(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    events = generate(SimConfig(workers=20, start_year=2023, end=AS_OF, seed=5, scenario=False))
    store_events(store, list(events), utc_now_fixed(AS_OF))
    port = free_port()
    env = {"METRICS_AS_OF": AS_OF.isoformat(), "METRICS_K": "1", "METRICS_REFRESH_SECONDS": "60"}
    process = start_metrics_process(servers.clickhouse_url, database, port, **env)
    try:
        await wait_ready(port, process)
        ran = await asyncio.to_thread(fuzz, f"http://127.0.0.1:{port}")
    finally:
        assert await stop_process(process) == 0
    assert "GET /indicators negative" in ran and "GET /indicators/facets positive" in ran
