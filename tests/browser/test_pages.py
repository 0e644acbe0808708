"""The analyst pages in Debian's Chromium against the real metrics service: what an analyst sees is what the API
says, suppressed cells look suppressed, the language switch changes every label, drill-down and CSV work."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from services.metrics.catalog import BY_NAME, CATEGORIES, DIMENSIONS, PERIOD_KINDS, REASONS, TOPICS, topic_of

from .conftest import K, Service, Visit

PAGES = ("overview", *TOPICS)
CJK = re.compile(r"[\u3400-\u9fff]")
CAREER = [name for name in BY_NAME if topic_of(name) == "career"]


def _url(service: Service, page: str, query: str = "", lang: str = "zh") -> str:
    path = "/" if page == "overview" else f"/pages/{page}"
    return f"{service.base}{path}?{query + '&' if query else ''}lang={lang}"


def _chart_series(visit: Visit, selector: str = "#chart") -> list[dict[str, Any]]:
    series: list[dict[str, Any]] = visit.page.evaluate(
        "(sel) => echarts.getInstanceByDom(document.querySelector(sel)).getOption().series"
        ".map(s => ({name: s.name, type: s.type, slice: s.slice, marks: !!s.suppressedMarks,"
        " data: s.data.map(d => (d !== null && typeof d === 'object' && 'value' in d) ? d.value : d)}))",
        selector,
    )
    return series


def _x_labels(visit: Visit) -> list[str]:
    labels: list[str] = visit.page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('#chart')).getOption().xAxis[0].data"
    )
    return labels


def _side_by_side(visit: Visit) -> list[dict[str, Any]]:
    """Each unit's line in the side-by-side view: its slice, values, and where its first value is drawn (page
    pixels), from the chart instances that draw the units' charts over their cards."""
    visit.wait_drawn()
    lines: list[dict[str, Any]] = visit.page.evaluate(
        """() => [...document.querySelectorAll('#multiples .multiples-layer')].flatMap((layer) => {
          const chart = echarts.getInstanceByDom(layer);
          const box = layer.getBoundingClientRect();
          return chart.getOption().series.flatMap((s, i) => {
            if (s.type === 'scatter') return [];
            const k = s.data.findIndex((d) => d !== null);
            const px = k < 0 ? null : chart.convertToPixel({ seriesIndex: i }, [k, s.data[k]]);
            return [{ slice: s.slice, data: s.data, at: px && [px[0] + box.left, px[1] + box.top] }];
          });
        })"""
    )
    return lines


def _districts(service: Service) -> list[str]:
    return sorted(u["unit_id"] for u in service.get("/org-units") if u["level"] == "district")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_cleanly_and_is_screenshotted(service: Service, visit: Visit, page: str, lang: str) -> None:
    visit.open(_url(service, page, lang=lang))
    visit.check_clean(service.base)
    shot = visit.shot(f"{page}-{lang}")
    assert shot.stat().st_size > 20_000
    heading = visit.page.inner_text("#main h1")
    expected = "概览" if page == "overview" and lang == "zh" else "Overview" if page == "overview" else None
    assert heading == (expected or getattr(TOPICS[page], lang))


def test_overview_cards_hold_the_api_figures(service: Service, visit: Visit) -> None:
    visit.open(_url(service, "overview"))
    cards = visit.page.query_selector_all(".card")
    assert len(cards) == 9
    assert {c.get_attribute("data-indicator") for c in cards} >= {"promotion_rate"}
    for card in cards:
        indicator = card.get_attribute("data-indicator") or ""
        kind = card.get_attribute("data-period-kind") or ""
        category = "total" if indicator == "pay_median" else ""
        rows = service.rows(f"indicator={indicator}&period_kind={kind}&dimension=all&category={category}")
        latest = max(rows, key=lambda r: r["period"])
        shown = card.query_selector(".figure")
        assert shown is not None
        if latest["suppressed"]:
            assert shown.get_attribute("data-value") == ""
        else:
            assert float(shown.get_attribute("data-value") or "nan") == pytest.approx(latest["value"])
        assert card.inner_text().startswith(f"{BY_NAME[indicator].name_zh} · {PERIOD_KINDS[kind].zh}")
    facts = visit.page.query_selector_all("#facts tr[data-fact]")
    assert [f.get_attribute("data-fact") for f in facts] == ["trainee_times:initial", "trainee_times:rotation"]
    for fact in facts:
        category = (fact.get_attribute("data-fact") or "").split(":")[1]
        rows = service.rows(
            f"indicator=trainee_times&period_kind=year&dimension=all&category={category}&from=2019-01-01&to=2022-12-31"
        )
        computed = fact.query_selector("td[data-value]")
        assert computed is not None
        assert float(computed.get_attribute("data-value") or "nan") == pytest.approx(sum(r["value"] for r in rows))


DISTRICT_RATES = "indicator=separation_rate&period_kind=month&dimension=org&from=2022-01-01&to=2023-12-01"
"""Two years of the districts' monthly separation rates, drawn in each view and asked of the API."""


def _assert_lines_hold(service: Service, lines: dict[str, list[float | None]]) -> list[str]:
    """Each district's line (slice → values by period) holds the API's cells, a suppressed one as a gap; the
    periods."""
    districts = _districts(service)
    api = service.rows(f"{DISTRICT_RATES}&category=&" + "&".join(f"slice={d}" for d in districts))
    periods = sorted({r["period"] for r in api})
    assert sorted(lines) == sorted({r["slice"] for r in api})
    for row in api:
        drawn = lines[row["slice"]][periods.index(row["period"])]
        assert drawn == (None if row["suppressed"] else pytest.approx(row["value"]))
    return periods


def test_the_trend_chart_holds_the_numbers_the_api_gives(service: Service, visit: Visit) -> None:
    visit.open(_url(service, "turnover", f"{DISTRICT_RATES}&view=chart"))
    periods = _assert_lines_hold(service, {s["slice"]: s["data"] for s in _chart_series(visit) if s["type"] == "line"})
    assert len(periods) == 24
    assert _x_labels(visit) == [p[:7] for p in periods]
    visit.check_clean(service.base)


def test_the_side_by_side_charts_hold_the_numbers_the_api_gives_each_on_its_unit(
    service: Service, visit: Visit
) -> None:
    visit.open(_url(service, "turnover", f"{DISTRICT_RATES}&view=multiples"))
    lines = {line["slice"]: line for line in _side_by_side(visit)}
    _assert_lines_hold(service, {slice_: line["data"] for slice_, line in lines.items()})
    _assert_each_on_its_card(visit, lines)
    visit.page.set_viewport_size({"width": 1000, "height": 900})  # fewer units a row: every card moves
    visit.page.wait_for_timeout(600)  # the view is drawn again once the resizing stops
    _assert_each_on_its_card(visit, {line["slice"]: line for line in _side_by_side(visit)})
    visit.check_clean(service.base)


def _assert_each_on_its_card(visit: Visit, lines: dict[str, dict[str, Any]]) -> None:
    for slice_, line in lines.items():
        left, top, right, bottom = visit.page.eval_on_selector(
            f"#multiples .multiple[data-slice='{slice_}'] .small",
            "n => { const r = n.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }",
        )
        x, y = line["at"]
        assert left <= x <= right and top <= y <= bottom, f"{slice_}'s line is drawn outside its card"


@pytest.mark.parametrize("page", ["overview", "turnover"])
def test_a_chart_library_that_arrives_after_the_data_still_draws_every_chart(
    service: Service, visit: Visit, page: str
) -> None:
    """The pages ask for their data while the browser loads the chart library: held back until the data is in,
    the library must still be what draws (not taken for loaded before it is)."""
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    visit.page.route("**/static/echarts.common.min.js", hold)
    visit.page.goto(_url(service, page, "view=chart" if page != "overview" else ""), wait_until="commit")
    while not held:
        visit.page.wait_for_timeout(50)
    visit.page.wait_for_timeout(500)  # the data calls answer in a few ms on this service
    assert visit.page.get_attribute("#main", "data-ready") != "1"
    held[0].continue_()
    visit.wait_ready()
    charts = visit.page.eval_on_selector_all(
        "[_echarts_instance_]", "nodes => nodes.filter(n => echarts.getInstanceByDom(n)).length"
    )
    assert charts >= 1
    visit.check_clean(service.base)


def _a_suppressed_cell(service: Service) -> tuple[str, str, dict[str, Any]]:
    """(district, query, row): a suppressed street cell of separation_rate in 2023, found through the API."""
    for district in _districts(service):
        streets = [u["unit_id"] for u in service.get("/org-units") if u["parent_id"] == district]
        query = "indicator=separation_rate&period_kind=month&dimension=org&category=&from=2023-01-01&to=2023-12-01&"
        rows = service.rows(query + "&".join(f"slice={s}" for s in streets))
        hidden = [r for r in rows if r["suppressed"]]
        shown = [r for r in rows if not r["suppressed"]]
        if hidden and shown:
            return district, query, hidden[0]
    raise AssertionError("the test program has no district with both suppressed and published street cells")


def test_a_suppressed_cell_shows_as_suppressed_never_as_zero(service: Service, visit: Visit) -> None:
    district, _, row = _a_suppressed_cell(service)
    assert row["value"] is None
    base = f"indicator=separation_rate&period_kind=month&dimension=org&unit={district}&from=2023-01-01&to=2023-12-01"
    visit.open(_url(service, "turnover", base + "&view=table"))
    cell = visit.page.query_selector(
        f"#table tr[data-period='{row['period']}'] td:nth-child({_column(visit, row['slice'])})"
    )
    assert cell is not None
    assert cell.get_attribute("data-suppressed") == "1"
    assert "已抑制" in cell.inner_text()
    # the reason the API gives, in the catalog's words (served as /indicators/labels), with the threshold
    assert service.get("/indicators/labels")["reasons"][row["reason"]]["zh"] == REASONS[row["reason"]].zh
    title = cell.get_attribute("title") or ""
    assert REASONS[row["reason"]].zh in title and f"k = {K}" in title, title
    legend = visit.page.inner_text(".legend-hidden")
    assert REASONS[row["reason"]].zh in legend, legend
    visit.shot("suppressed-table-zh")

    visit.open(_url(service, "turnover", base + "&view=chart"))
    series = _chart_series(visit)
    line = next(s for s in series if s["type"] == "line" and s["slice"] == row["slice"])
    marks = next(s for s in series if s["marks"] and s["slice"] == row["slice"])
    index = _x_labels(visit).index(row["period"][:7])
    assert line["data"][index] is None
    assert index in [m[0] for m in marks["data"]]
    visit.shot("suppressed-chart-zh")
    _hover_mark(visit, series.index(marks), next(m for m in marks["data"] if m[0] == index))
    tip = visit.page.wait_for_selector(f"#chart div:has-text('{REASONS[row['reason']].zh}')", timeout=5_000)
    assert tip is not None and f"k = {K}" in tip.inner_text()
    visit.shot("suppressed-tooltip-zh")
    visit.check_clean(service.base)


def _hover_mark(visit: Visit, series_index: int, value: list[float]) -> None:
    """Move the mouse onto a suppressed cell's ◇ mark, as an analyst does to read its tooltip."""
    x, y = visit.page.evaluate(
        "([i, v]) => { const node = document.querySelector('#chart'); const r = node.getBoundingClientRect();"
        " const [px, py] = echarts.getInstanceByDom(node).convertToPixel({seriesIndex: i}, v);"
        " return [r.left + px, r.top + py]; }",
        [series_index, value],
    )
    visit.page.mouse.move(x, y)


def _column(visit: Visit, slice_id: str) -> int:
    headers = visit.page.query_selector_all("#table thead th")
    return 1 + [h.get_attribute("data-slice") for h in headers].index(slice_id)


def test_the_language_switch_changes_every_label(service: Service, visit: Visit) -> None:
    query = "indicator=separation_rate&period_kind=month&dimension=service_model&view=table"
    visit.open(_url(service, "turnover", query))
    options = visit.page.eval_on_selector_all("#f-dimension option", "os => os.map(o => o.textContent)")
    assert options == [DIMENSIONS[d].zh for d in _option_values(visit, "#f-dimension")]
    visit.page.click("#lang")
    visit.wait_ready()
    text = visit.page.inner_text("body").replace("中文", "")  # the switch back names its language
    assert not CJK.search(text), CJK.findall(text)[:10]
    assert visit.page.inner_text("#f-indicator option:checked") == BY_NAME["separation_rate"].name_en
    kinds = visit.page.eval_on_selector_all("#f-kind option", "os => os.map(o => o.textContent)")
    assert kinds == [PERIOD_KINDS[k].en for k in _option_values(visit, "#f-kind")]
    assert visit.page.inner_text("nav a[data-page='turnover']") == TOPICS["turnover"].en
    visit.shot("turnover-table-en")
    visit.page.click("#lang")
    visit.wait_ready()
    assert visit.page.inner_text("#f-indicator option:checked") == BY_NAME["separation_rate"].name_zh
    visit.check_clean(service.base)


def _option_values(visit: Visit, selector: str) -> list[str]:
    values: list[str] = visit.page.eval_on_selector_all(f"{selector} option", "os => os.map(o => o.value)")
    return values


def test_categories_are_named_from_the_catalog(service: Service, visit: Visit) -> None:
    visit.open(_url(service, "turnover", "indicator=cohort_retention&period_kind=cohort&dimension=all", lang="en"))
    values = _option_values(visit, "#f-category")
    assert values and set(values) <= set(CATEGORIES)
    names = visit.page.eval_on_selector_all("#f-category option", "os => os.map(o => o.textContent)")
    assert names == [CATEGORIES[c].en for c in values]
    visit.check_clean(service.base)


def _drill_first_district(service: Service, visit: Visit, page: str, query: str) -> tuple[list[str | None], str]:
    """Open ``page`` side by side over the districts, drill into the first one and check its street unions are
    shown; the districts shown and the one drilled into."""
    visit.open(_url(service, page, query))
    shown = [m.get_attribute("data-slice") for m in visit.page.query_selector_all("#multiples .multiple")]
    assert shown == _districts(service)
    district = shown[0] or ""
    visit.page.click(f"#multiples button[data-drill='{district}']")
    visit.wait_ready()
    streets = {u["unit_id"] for u in service.get("/org-units") if u["parent_id"] == district}
    drilled = [m.get_attribute("data-slice") for m in visit.page.query_selector_all("#multiples .multiple")]
    assert drilled and set(drilled) <= streets
    return shown, district


def test_drill_down_from_a_district_to_its_streets(service: Service, visit: Visit) -> None:
    query = "indicator=headcount_end&period_kind=month&dimension=org&view=multiples"
    shown, district = _drill_first_district(service, visit, "turnover", query)
    assert f"unit={district}" in visit.page.url
    assert visit.page.inner_text("#crumbs .here") == next(
        u["name_zh"] for u in service.get("/org-units") if u["unit_id"] == district
    )
    visit.shot("drill-down-zh")
    visit.page.click("#crumbs button[data-unit='']")
    visit.wait_ready()
    assert [m.get_attribute("data-slice") for m in visit.page.query_selector_all("#multiples .multiple")] == shown
    visit.check_clean(service.base)


def test_the_csv_download_equals_the_api_csv(service: Service, visit: Visit, tmp_path: Path) -> None:
    visit.open(
        _url(service, "pay", "indicator=pay_median&period_kind=month&category=total&dimension=gender&from=2023-01-01")
    )
    with visit.page.expect_download() as download:
        visit.page.click("#csv")
    saved = tmp_path / "download.csv"
    download.value.save_as(saved)
    to = service.get("/indicators/facets?indicator=pay_median")["period_kinds"]["month"]["to"]
    api = service.get(
        f"/indicators?indicator=pay_median&period_kind=month&dimension=gender&category=total"
        f"&from=2023-01-01&to={to}&format=csv&limit=100000"
    )
    assert saved.read_bytes().decode("utf-8") == api
    assert api.count("\n") > 10
    visit.check_clean(service.base)


def _query_of(visit: Visit) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(visit.page.url).query, keep_blank_values=True))


def _table_cells(visit: Visit) -> dict[str, str]:
    """Every cell of the table view, `period|slice` → its data-value, `◇` when suppressed, `–` for no row."""
    cells: dict[str, str] = visit.page.evaluate(
        "() => { const slices = [...document.querySelectorAll('#table thead th')].slice(1).map(h => h.dataset.slice);"
        " const out = {}; for (const tr of document.querySelectorAll('#table tbody tr')) {"
        " [...tr.querySelectorAll('td')].slice(1).forEach((td, i) => { out[tr.dataset.period + '|' + slices[i]] ="
        " td.dataset.suppressed ? '◇' : (td.dataset.value ?? '–'); }); } return out; }"
    )
    return cells


def test_the_career_page_starts_on_the_promotion_rate_and_its_chart_holds_the_api_numbers(
    service: Service, visit: Visit
) -> None:
    visit.open(_url(service, "career"))
    assert visit.page.input_value("#f-indicator") == "promotion_rate"
    assert visit.page.input_value("#f-kind") == "rolling12"  # monthly promotions per unit are mostly 0
    assert visit.page.inner_text("nav a[data-page='career']") == TOPICS["career"].zh
    query = "indicator=promotion_rate&period_kind=month&dimension=org&from=2022-01-01&to=2023-12-01&view=chart"
    visit.open(_url(service, "career", query, lang="en"))
    districts = _districts(service)
    api = service.rows(
        "indicator=promotion_rate&period_kind=month&dimension=org&category=&from=2022-01-01&to=2023-12-01&"
        + "&".join(f"slice={d}" for d in districts)
    )
    assert any(r["value"] for r in api if not r["suppressed"]), "no promotions: the simulator's grade changes?"
    periods = sorted({r["period"] for r in api})
    assert _x_labels(visit) == [p[:7] for p in periods]
    lines = {s["slice"]: s["data"] for s in _chart_series(visit) if s["type"] == "line"}
    assert sorted(lines) == sorted({r["slice"] for r in api})
    for row in api:
        drawn = lines[row["slice"]][periods.index(row["period"])]
        assert drawn == (None if row["suppressed"] else pytest.approx(row["value"]))
    about = visit.page.inner_text("#about")
    entry = BY_NAME["promotion_rate"]
    assert entry.name_en in about and entry.formula in about and entry.standard in about, about
    visit.shot("career-chart-en")
    visit.check_clean(service.base)


def test_a_grade_level_is_named_from_the_catalog(service: Service, visit: Visit) -> None:
    categories = service.get("/indicators/facets?indicator=grade_mix")["period_kinds"]["month"]["categories"]
    assert {"1", "2", "3"} <= set(categories), categories
    query = "indicator=grade_mix&period_kind=month&dimension=service_model&category=3&view=table"
    visit.open(_url(service, "career", query))
    values = _option_values(visit, "#f-category")
    assert values[:3] == ["1", "2", "3"] and set(values) <= set(CATEGORIES)  # levels in number order
    names = visit.page.eval_on_selector_all("#f-category option", "os => os.map(o => o.textContent)")
    assert names == [CATEGORIES[c].zh for c in values]
    assert visit.page.inner_text("#f-category option:checked") == CATEGORIES["3"].zh
    assert CATEGORIES["3"].zh in visit.page.inner_text("#about")
    visit.shot("career-grade-mix-zh")
    visit.page.click("#lang")
    visit.wait_ready()
    assert visit.page.inner_text("#f-category option:checked") == CATEGORIES["3"].en
    assert CATEGORIES["3"].en in visit.page.inner_text("#about")
    visit.check_clean(service.base)


@pytest.mark.parametrize("indicator", CAREER)
def test_every_career_indicator_shows_the_apis_cells(service: Service, visit: Visit, indicator: str) -> None:
    """Each period kind in the table view: the API's cells, suppressed ones with the catalog's reason; categories,
    formula, unit and standard from the catalog; the CSV link asks for exactly these cells."""
    facets = service.get(f"/indicators/facets?indicator={indicator}")["period_kinds"]
    assert facets, f"no {indicator} rows: the simulator's grade changes did not reach the engine"
    entry = BY_NAME[indicator]
    for kind, facet in facets.items():
        dim = "service_model" if "service_model" in facet["dimensions"] else "all"
        visit.open(
            _url(service, "career", f"indicator={indicator}&period_kind={kind}&dimension={dim}&view=table", "en")
        )
        q = _query_of(visit)
        assert (q["indicator"], q["period_kind"], q["dimension"]) == (indicator, kind, dim)
        if visit.page.query_selector("#f-category"):
            values = _option_values(visit, "#f-category")
            names = visit.page.eval_on_selector_all("#f-category option", "os => os.map(o => o.textContent)")
            assert names == [CATEGORIES[c].en for c in values]
        fields = ("indicator", "period_kind", "dimension", "category", "from", "to")
        api = service.rows("&".join(f"{f}={q[f]}" for f in fields))
        assert api, q
        expected = {f"{r['period']}|{r['slice']}": r for r in api}
        cells = _table_cells(visit)
        assert {key for key, shown in cells.items() if shown != "–"} == set(expected), (indicator, kind)
        for key, row in expected.items():
            if row["suppressed"]:
                assert cells[key] == "◇"
                period, slice_id = key.split("|")
                title = visit.page.get_attribute(
                    f"#table tr[data-period='{period}'] td:nth-child({_column(visit, slice_id)})", "title"
                )
                assert REASONS[row["reason"]].en in (title or ""), (key, title)
            elif row["value"] is None:
                assert cells[key] == "null"  # a zero denominator: no value, not suppressed
            else:
                assert float(cells[key]) == pytest.approx(row["value"]), key
        about = visit.page.inner_text("#about")
        assert entry.name_en in about and entry.formula in about and entry.standard in about, about
        assert f"Unit: {entry.unit}" in about, about  # the catalog's units are the English words
        csv = dict(parse_qsl(urlsplit(visit.page.get_attribute("#csv", "href") or "").query, keep_blank_values=True))
        assert {f: csv[f] for f in fields} == {f: q[f] for f in fields} and csv["format"] == "csv"
    visit.page.click("#lang")
    visit.wait_ready()
    about = visit.page.inner_text("#about")
    assert entry.name_zh in about and entry.formula_zh in about, about
    if entry.unit != "%":
        assert entry.unit not in about, f"the unit {entry.unit!r} is not named in Chinese: {about}"
    visit.check_clean(service.base)


def test_career_side_by_side_drills_down_to_street_unions(service: Service, visit: Visit) -> None:
    query = "indicator=promotions&period_kind=year&dimension=org&view=multiples"
    _drill_first_district(service, visit, "career", query)
    visit.shot("career-drill-down-zh")
    visit.check_clean(service.base)
