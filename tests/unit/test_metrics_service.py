"""Metrics service pure parts: API query building, CSV, reference wages, publishing fingerprints, org labels."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.datastructures import QueryParams

from services.metrics.api import BadRequest, as_csv, as_records, build_query
from services.metrics.app import build_refresher
from services.metrics.catalog import BY_NAME, CATALOG
from services.metrics.cli import parse_reference_wages
from services.metrics.engine import EventRecord, IndicatorRow
from services.metrics.orgunits import labels, latest_units
from services.metrics.publish import by_year, fingerprint
from services.metrics.settings import MetricsSettings

T = datetime(2024, 1, 1, tzinfo=UTC)


def test_query_values_are_bound_never_formatted() -> None:
    hostile = "x' OR 1=1 --"
    query = build_query(QueryParams([("indicator", "hires"), ("slice", hostile), ("from", "2024-01-01")]))
    assert hostile not in query.sql
    assert query.bound["slice"] == [hostile]
    assert query.bound["from"] == date(2024, 1, 1)
    assert "indicator IN %(indicator)s" in query.sql and "period >= %(from)s" in query.sql


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("indicator", "nope")], "indicator: unknown value"),
        ([("from", "2024-13-01")], "from: expected a date"),
        ([("limit", "0")], "limit: must be between"),
        ([("limit", "ten")], "limit: expected a whole number"),
    ],
)
def test_bad_query_parameters_say_which_and_why(params: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        build_query(QueryParams(params))


def test_csv_shows_suppressed_cells_as_empty_not_zero() -> None:
    row = ("pay_median", "month", date(2024, 1, 1), "org", "T-1", "total", None, None, None, 0, 1, "primary")
    text = as_csv(as_records([row]))
    header, line = text.strip().split("\r\n")
    assert header.startswith("indicator,period_kind,period") and header.endswith(",workers,suppressed,reason")
    assert line == "pay_median,month,2024-01-01,org,T-1,total,,,,0,True,primary"


def test_catalog_names_every_indicator_in_both_languages() -> None:
    assert len(BY_NAME) == len(CATALOG)
    for indicator in CATALOG:
        assert indicator.name_zh and indicator.name_en and indicator.formula and indicator.standard


def test_reference_wages_need_a_source(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("region,year,annual_amount,source\nall,2023,147684,official announcement\n", encoding="utf-8")
    assert parse_reference_wages(good) == [("all", 2023, 147684.0, "official announcement")]
    bad = tmp_path / "bad.csv"
    bad.write_text("region,year,annual_amount,source\nall,2023,147684,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="source is empty"):
        parse_reference_wages(bad)
    with pytest.raises(ValueError, match="missing column"):
        parse_reference_wages(_write(tmp_path / "cols.csv", "region,year\nall,2023\n"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _row(period: date, value: float | None) -> IndicatorRow:
    hidden = value is None
    return IndicatorRow("hires", "month", period, "all", "all", "", value, None, None, 0 if hidden else 7, hidden,
                        "primary" if hidden else "")  # fmt: skip


def test_fingerprint_ignores_order_and_sees_any_change() -> None:
    a, b = _row(date(2024, 1, 1), 1.0), _row(date(2024, 2, 1), 2.0)
    assert fingerprint([a, b]) == fingerprint([b, a])
    assert fingerprint([a, b]) != fingerprint([a, _row(date(2024, 2, 1), 2.0000001)])
    assert set(by_year([a, b, _row(date(2023, 5, 1), 1.0)])) == {2023, 2024}


def _unit(unit_id: str, parent: str | None, level: str, effective: str, name: str, eid: str) -> EventRecord:
    data = {
        "unit_id": unit_id,
        "parent_id": parent,
        "level": level,
        "name_zh": name,
        "name_en": None,
        "service_model": "park" if level == "second_tier" else None,
        "effective_date": effective,
    }
    return EventRecord(eid, "org.unit_registered.v1", T, T, "", data)


def test_org_labels_use_the_latest_version_and_find_district_and_street() -> None:
    events = [
        _unit("D", None, "district", "2013-01-01", "宝山区总工会", "1"),
        _unit("S", "D", "street", "2013-01-01", "庙行镇总工会", "2"),
        _unit("T", "S", "second_tier", "2015-01-01", "旧名", "3"),
        _unit("T", "S", "second_tier", "2016-01-01", "园区联合工会", "4"),
    ]
    by_id = {u.unit_id: u for u in labels(latest_units(events))}
    assert by_id["T"].name_zh == "园区联合工会"
    assert (by_id["T"].district_id, by_id["T"].street_id, by_id["T"].service_model) == ("D", "S", "park")
    assert by_id["D"].service_model == "none"


def test_org_levels_default_to_district_and_street_and_reach_the_refresher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_ORG_LEVELS", raising=False)
    assert MetricsSettings().org_levels == frozenset({"district", "street"})
    monkeypatch.setenv("METRICS_ORG_LEVELS", " district , street,second_tier ")
    settings = MetricsSettings()
    assert settings.org_levels == frozenset({"district", "street", "second_tier"})
    refresher = build_refresher(settings, None)  # type: ignore[arg-type]  # the refresher only stores it
    assert refresher._org_levels == settings.org_levels


@pytest.mark.parametrize("value", ["", "district,stret"])
def test_org_levels_must_be_known_levels(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("METRICS_ORG_LEVELS", value)
    with pytest.raises(ValidationError, match="metrics_org_levels"):
        MetricsSettings()


class _Looks:
    """A refresher double whose looks find the given numbers of new events, then none."""

    def __init__(self, *found: int) -> None:
        self.found = list(found)
        self.looks = 0

    def absorb(self) -> int:
        self.looks += 1
        return self.found.pop(0) if self.found else 0


async def test_a_backlog_is_absorbed_until_a_look_finds_little_and_a_lone_event_is_not_held() -> None:
    from services.metrics.app import BACKLOG_EVENTS, absorb_backlog

    stop = asyncio.Event()
    backlog = _Looks(30_000, 10_000, BACKLOG_EVENTS, 12)
    await absorb_backlog(backlog, 0.01, stop)  # type: ignore[arg-type]
    assert backlog.looks == 4 and not backlog.found  # looked again after each big look, stopped after a small one
    lone = _Looks(1)
    await absorb_backlog(lone, 0.01, stop)  # type: ignore[arg-type]
    assert lone.looks == 1
    stop.set()
    stopping = _Looks(30_000, 30_000, 30_000)
    await absorb_backlog(stopping, 0.01, stop)  # type: ignore[arg-type]
    assert stopping.looks == 1  # shutdown does not wait for the backlog
