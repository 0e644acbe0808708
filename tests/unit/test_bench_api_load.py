"""The API load rows of the bench report: which /health is held to the probe target."""

from __future__ import annotations

from bench import api_load
from bench.api_load import LoadResult, Samples
from bench.report import Report


def _result(api_port_ms: float, probe_port_ms: float | None) -> LoadResult:
    probe = None if probe_port_ms is None else Samples(ms=[probe_port_ms])
    return LoadResult(queries=Samples(ms=[10.0]), health=Samples(ms=[api_port_ms]), seconds=1.0, probe_port=probe)


def test_the_health_target_is_the_probe_ports_where_the_service_has_one() -> None:
    report = Report(events=0, quick=False)
    api_load.add_to(report, "repeated", _result(api_port_ms=55.0, probe_port_ms=20.0), clients=50)
    health = [(t.name, t.measured) for t in report.targets if "/health" in t.name]
    assert health == [("/health p99 meanwhile, probe port (repeated)", 20.0)]
    shown = {f.name: f.value for f in report.figures}
    assert shown["/health p99, API port"] == 55.0  # still reported, as a figure


def test_the_api_ports_health_is_the_target_when_it_is_the_only_port() -> None:
    report = Report(events=0, quick=False)
    api_load.add_to(report, "repeated", _result(api_port_ms=55.0, probe_port_ms=None), clients=50)
    health = [(t.name, t.measured) for t in report.targets if "/health" in t.name]
    assert health == [("/health p99 meanwhile, API port (repeated)", 55.0)]
