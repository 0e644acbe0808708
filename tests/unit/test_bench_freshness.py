"""The freshness rows of the bench report, and the refresh split read from the metrics service's log."""

from __future__ import annotations

import json

from bench import freshness
from bench.report import Report


def _done(new: int, seconds: float, **phases: float) -> str:
    fields = {"event": "refresh_done", "seconds": seconds, "phases": phases, "counts": {"new_events": new}}
    return json.dumps({"ts": "2026-12-06T18:00:00.000Z", "level": "INFO", **fields})


def test_p99_is_the_maximum_below_100_samples_and_the_99th_percentile_from_there() -> None:
    few = freshness.summarise([1.0, 4.0, 2.0])
    assert (few.samples, few.p50, few.p99) == (3, 2.0, 4.0)
    many = freshness.summarise([float(n) for n in range(1, 201)])
    assert many.p50 == 100.5
    assert 198.0 < many.p99 < 200.0


def test_the_demo_row_keeps_its_name_and_a_scale_names_its_own() -> None:
    report = Report(events=0, quick=False)
    freshness.add(report, [2.0, 3.0, 12.0], "demo scale")
    freshness.add(report, [1.0, 2.0], "1 M events")
    freshness.unmeasured(report, "1 M events", "quick run")
    assert [(t.name, t.measured, t.status) for t in report.targets] == [
        ("freshness p99 (publish → indicator API)", 12.0, "missed by 20% (12.0 vs <= 10.0 s)"),
        ("freshness p99 (publish → indicator API) (1 M events)", 2.0, "met"),
        ("freshness p99 (publish → indicator API) (1 M events)", None, "quick run"),
    ]
    assert [(f.section, f.name, f.value) for f in report.figures[2:]] == [
        ("freshness, 1 M events", "publish → indicator API p50", 1.5),
        ("freshness, 1 M events", "publish → indicator API p99", 2.0),
    ]


def test_the_split_counts_only_refreshes_that_took_in_new_events() -> None:
    lines = [
        "recomputing 996374 events as of 2026-10-31, every year",
        json.dumps({"event": "log", "message": "metrics API on 127.0.0.1:8082"}),
        _done(0, 0.01, load=0.01, compute=0.0, audit=0.0, publish=0.0),
        _done(1, 3.0, load=0.5, compute=1.5, audit=0.0, publish=1.0),
        _done(1, 5.0, load=0.5, compute=2.5, audit=0.0, publish=2.0),
    ]
    refreshes = freshness.refresh_phases(lines)
    assert [r["seconds"] for r in refreshes] == [3.0, 5.0]
    assert freshness.split_note(refreshes, "1 M events") == (
        "metrics incremental refresh (1 M events, from its log) over 2 refreshes with new events: median 4.00s"
        " (load 0.50s, compute 2.00s, publish 1.50s), slowest 5.00s"
    )
    audited = [{"seconds": 9.0, "load": 1.0, "compute": 6.0, "audit": 4.0, "publish": 2.0}]
    assert "(load 1.00s, compute 6.00s (of which audit 4.00s), publish 2.00s)" in freshness.split_note(audited, "x")
    assert "no refresh_done line" in freshness.split_note([], "demo scale")
