"""Grafana dashboards as code: five dashboards, each in Chinese and English, written as committed JSON.

Run ``python -m deploy.grafana.generate`` after changing a panel; ``tests/integration/test_dashboards.py``
regenerates, compares with the committed files, and runs every ClickHouse panel's SQL against real data.

Panels read the long ``indicators`` table (docs/contract.md §4) through the grafana-clickhouse-datasource
plugin. That table holds one slice dimension per cell, so the filters apply one at a time, the most
specific chosen one winning: street union, then district, then service model, then source channel.
Suppressed cells come back as NULL values (and NULL workers) with ``suppressed`` > 0, a code of the reason they are
hidden (``SUPPRESSED_CODE``): gaps in a curve, "已抑制：人数少于k / suppressed: fewer than k workers" (the catalog's
``REASONS``) in a tooltip or a table, never zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from services.common.cli import add_version
from services.metrics.catalog import (
    BY_NAME,
    CATALOG,
    CATEGORIES,
    DIMENSIONS,
    ORG_LEVELS,
    PERIOD_KINDS,
    REASONS,
    SLICE_VALUES,
    TOPICS,
    Label,
)

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
ALL = "__all"
CLICKHOUSE = {"type": "grafana-clickhouse-datasource", "uid": "workforce-clickhouse"}
PROMETHEUS = {"type": "prometheus", "uid": "workforce-prometheus"}
OUT = Path(__file__).parent / "dashboards"
FILTER_DIMENSIONS = ("service_model", "source_channel")
TIME_SERIES_COLUMNS = ("time", "series", "value", "suppressed")


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def __call__(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


SUPPRESSED = Text("已抑制", "suppressed")


@dataclass(frozen=True)
class Panel:
    """One panel: ClickHouse SQL (`sql`, with `{label:...}` hooks filled per language) or PromQL targets."""

    title: Text
    kind: Literal["timeseries", "table", "stat", "barchart"]
    description: Text
    sql: str = ""
    columns: tuple[str, ...] = TIME_SERIES_COLUMNS
    promql: tuple[tuple[str, Text], ...] = ()
    unit: str = "none"
    width: int = 12
    bars: bool = False


@dataclass(frozen=True)
class Dashboard:
    key: str
    title: Text
    panels: tuple[Panel, ...]
    filters: bool = True
    tags: tuple[str, ...] = field(default=("workforce",))


def of(label: Label) -> Text:
    return Text(label.zh, label.en)


def name(indicator: str) -> Text:
    """The catalog's name of an indicator."""
    entry = BY_NAME[indicator]
    return Text(entry.name_zh, entry.name_en)


def joined(*parts: Text) -> Text:
    """Catalog labels side by side, as a panel title or legend: `流失率 · 年度`."""
    return Text(" · ".join(p.zh for p in parts), " · ".join(p.en for p in parts))


def about(indicators: Sequence[str], note: Text | None = None) -> Text:
    """A panel description: each indicator's formula and standard as the catalog states them, then a note."""
    zh = [f"- {BY_NAME[i].name_zh}：{BY_NAME[i].formula_zh}（{BY_NAME[i].standard}）" for i in indicators]
    en = [f"- {BY_NAME[i].name_en}: {BY_NAME[i].formula} ({BY_NAME[i].standard})" for i in indicators]
    if note is not None:
        zh, en = [*zh, "", note.zh], [*en, "", note.en]
    return Text("\n".join(zh), "\n".join(en))


# Every code a panel or variable can show, labelled by the catalog (services/metrics/catalog.py) and nowhere else.
INDICATOR_LABELS: dict[str, Text] = {entry.name: name(entry.name) for entry in CATALOG}
CATEGORY_LABELS: dict[str, Text] = {code: of(label) for code, label in CATEGORIES.items() if code}
SLICE_LABELS: dict[str, Text] = {code: of(label) for code, label in SLICE_VALUES.items()}


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def label_sql(column: str, labels: dict[str, Text], lang: Lang) -> str:
    """A ClickHouse `transform` turning codes in `column` into labels of `lang` (unknown codes shown as is)."""
    keys = ", ".join(sql_string(k) for k in labels)
    values = ", ".join(sql_string(t(lang)) for t in labels.values())
    return f"transform({column}, [{keys}], [{values}], {column})"


def var(name: str) -> str:
    """A dashboard variable's value as a ClickHouse string, whatever it holds (an org unit id is upstream data).

    Grafana percent-encodes it (`percentencode`: only A-Z a-z 0-9 - _ . ~ and %XX remain) and ClickHouse decodes
    it. Not `sqlstring`: it doubles `'` but leaves `\\`, which ClickHouse reads as an escape (`x\\' OR 1=1 --`
    gets out of the literal), and it leaves the custom all-value `__all` unquoted.
    """
    return f"decodeURLComponent('${{{name}:percentencode}}')"


# The chosen filter, most specific first; the cells of that slice are the only ones read.
PICK = f"""WITH
    {var("street")} AS v_street, {var("district")} AS v_district,
    {var("service_model")} AS v_model, {var("source_channel")} AS v_channel,
    multiIf(v_street != '{ALL}', 'org', v_district != '{ALL}', 'org',
            v_model != '{ALL}', 'service_model', v_channel != '{ALL}', 'source_channel', 'all') AS pick_dimension,
    multiIf(v_street != '{ALL}', v_street, v_district != '{ALL}', v_district,
            v_model != '{ALL}', v_model, v_channel != '{ALL}', v_channel, 'all') AS pick_slice"""
SLICE = "dimension = pick_dimension AND slice = pick_slice"
# Columns are named with their table: ClickHouse resolves a bare name to a SELECT alias first, and the query's
# `suppressed` output is the code below, not the stored flag.
SHOWN = "if(indicators.suppressed = 1, NULL, value)"
# 0 published; 1 suppressed for no stated reason (a row of an older release); 2.. the catalog's REASONS in order.
# A number, not text: a second text column would split a time series into one series per reason.
REASON_CODES = ", ".join(sql_string(code) for code in REASONS)


def suppressed_code(table: str) -> str:
    return f"if({table}.suppressed = 1, 1 + indexOf([{REASON_CODES}], {table}.reason), 0)"


SUPPRESSED_CODE = suppressed_code("indicators")


def series_sql(indicators: Sequence[str], *, period_kind: str = "month", category: str = "''") -> str:
    """Time series of several indicators in the chosen slice, one series per indicator."""
    names = ", ".join(sql_string(i) for i in indicators)
    return f"""{PICK}
SELECT toDateTime(period) AS time, {{label:indicator}} AS series, {SHOWN} AS value, {SUPPRESSED_CODE} AS suppressed
FROM indicators
WHERE indicator IN ({names}) AND period_kind = '{period_kind}' AND category = {category}
  AND {SLICE} AND $__dateFilter(period)
ORDER BY time, series"""


def category_series_sql(indicator: str, *, period_kind: str, categories: Sequence[str]) -> str:
    """Time series of one indicator, one series per category."""
    cats = ", ".join(sql_string(c) for c in categories)
    return f"""{PICK}
SELECT toDateTime(period) AS time, {{label:category}} AS series, {SHOWN} AS value, {SUPPRESSED_CODE} AS suppressed
FROM indicators
WHERE indicator = '{indicator}' AND period_kind = '{period_kind}' AND category IN ({cats})
  AND {SLICE} AND $__dateFilter(period)
ORDER BY time, series"""


def year_table_sql(indicators: Sequence[str], *, by: Literal["indicator", "category"]) -> str:
    """Complete calendar years in the range, one row per year and indicator (or category)."""
    names = ", ".join(sql_string(i) for i in indicators)
    return f"""{PICK}
SELECT toYear(period) AS year, {{label:{by}}} AS item, {SHOWN} AS value,
       if(indicators.suppressed = 1, NULL, workers) AS workers, {SUPPRESSED_CODE} AS suppressed
FROM indicators
WHERE indicator IN ({names}) AND period_kind = 'year'
  AND {SLICE} AND $__dateFilter(period)
ORDER BY year, item"""


PAY_VS_REFERENCE_SQL = f"""SELECT toYear(i.period) AS year,
       if(i.slice = 'all', {{all_label}}, {{unit_name}}) AS item,
       if(i.suppressed = 1, NULL, i.value) AS value, if(i.suppressed = 1, NULL, i.workers) AS workers,
       {suppressed_code("i")} AS suppressed
FROM indicators AS i
LEFT JOIN (SELECT unit_id, name_zh, name_en FROM org_units FINAL) AS u ON u.unit_id = i.slice
WHERE i.indicator = 'pay_vs_reference' AND i.period_kind = 'year' AND i.dimension IN ('all', 'org')
  AND (i.slice = 'all' OR {var("district")} = '{ALL}' OR i.slice = {var("district")})
  AND $__dateFilter(i.period)
ORDER BY year, item"""

GAPS = Text(
    "空缺处为已抑制的单元格（人数少于 k，或为防止推算而隐藏；提示中注明原因），不是零。",
    "Gaps are suppressed cells (fewer than k workers, or hidden so that none can be worked out; the tooltip says "
    "why), not zero.",
)
YEARS = Text("仅完整自然年。", "Complete calendar years only.")
YEAR_COLUMNS = ("year", "item", "value", "workers", "suppressed")


def period(kind: str) -> Text:
    return of(PERIOD_KINDS[kind])


def retention() -> Dashboard:
    rates = ("separation_rate", "voluntary_rate", "involuntary_rate", "hires_rate")
    flows = ("hires", "separations", "net_change")
    stability = ("stability_index", "retention_rate")
    tenure = ("median_tenure_current", "median_tenure_leavers")
    marks = ["30", "90", "180", "365", "730"]
    return Dashboard(
        "retention",
        of(TOPICS["turnover"]),
        (
            Panel(
                of(TOPICS["headcount"]),
                "timeseries",
                about(["headcount_avg", "headcount_end"], GAPS),
                series_sql(["headcount_avg", "headcount_end"]),
            ),
            Panel(joined(*map(name, flows)), "timeseries", about(flows, GAPS), series_sql(flows), bars=True),
            Panel(
                joined(name("separation_rate"), period("month")),
                "timeseries",
                about(rates, GAPS),
                series_sql(rates),
                unit="percent",
            ),
            Panel(
                joined(name("separation_rate"), period("year")),
                "table",
                about(rates, YEARS),
                year_table_sql(rates, by="indicator"),
                columns=YEAR_COLUMNS,
                unit="percent",
            ),
            Panel(
                joined(name("separations_by_reason"), period("year")),
                "table",
                about(["separations_by_reason"], YEARS),
                year_table_sql(["separations_by_reason"], by="category"),
                columns=YEAR_COLUMNS,
            ),
            Panel(
                joined(*map(name, stability)),
                "timeseries",
                about(stability, GAPS),
                series_sql(stability),
                unit="percent",
            ),
            Panel(
                name("cohort_retention"),
                "timeseries",
                about(
                    ["cohort_retention"],
                    Text(
                        "横轴为入职月份；每条线为入职后的一个天数节点，未到该节点者不计入分母。",
                        "X axis: hire month; one line per mark (days after hire). "
                        "Workers hired too recently for a mark are left out of its denominator.",
                    ),
                ),
                category_series_sql("cohort_retention", period_kind="cohort", categories=marks),
                unit="percent",
            ),
            Panel(joined(*map(name, tenure)), "timeseries", about(tenure, GAPS), series_sql(tenure), unit="d"),
        ),
    )


def pay() -> Dashboard:
    gaps = Text(
        "空缺处为已抑制的单元格，不是零。月末在职人员的月薪（元）。",
        "Gaps are suppressed cells, not zero. Monthly pay (CNY) of workers employed at month end.",
    )
    bands = ("pay_p10", "pay_p25", "pay_median", "pay_p75", "pay_p90")
    gap = ("pay_gap_mean", "pay_gap_median")
    return Dashboard(
        "pay",
        of(TOPICS["pay"]),
        (
            Panel(
                joined(of(TOPICS["pay"]), of(CATEGORIES["total"])),
                "timeseries",
                about(bands, gaps),
                series_sql(bands, category="'total'"),
                unit="currencyCNY",
            ),
            Panel(
                name("pay_median"),
                "timeseries",
                about(["pay_median"], gaps),
                category_series_sql("pay_median", period_kind="month", categories=["base", "allowances", "total"]),
                unit="currencyCNY",
            ),
            Panel(
                name("pay_vs_reference"),
                "table",
                about(
                    ["pay_vs_reference"],
                    Text(
                        "参考工资：运营方载入的当地当年职工平均工资。",
                        "Reference: the region's published average wage of the year, loaded by the operator.",
                    ),
                ),
                PAY_VS_REFERENCE_SQL,
                columns=YEAR_COLUMNS,
                unit="percentunit",
            ),
            Panel(
                joined(*map(name, gap)),
                "timeseries",
                about(gap, Text("任一性别少于 k 人时抑制。", "Suppressed when either group has fewer than k.")),
                series_sql(gap),
                unit="percent",
            ),
            Panel(
                joined(name("turnover_by_pay_quartile"), period("year")),
                "table",
                about(
                    ["turnover_by_pay_quartile"],
                    Text(
                        "1月1日在职人员按当日薪酬分四档。", "Workers employed on 1 January, banded by that day's pay."
                    ),
                ),
                year_table_sql(["turnover_by_pay_quartile"], by="category"),
                columns=YEAR_COLUMNS,
                unit="percent",
            ),
            Panel(
                name("pay_growth"),
                "timeseries",
                about(["pay_growth"], gaps),
                series_sql(["pay_growth"]),
                unit="percent",
            ),
        ),
    )


def training() -> Dashboard:
    counts = ("trainee_times", "trainees")
    kinds = ["initial", "rotation", "site_visit", "skills_competition", "other"]
    return Dashboard(
        "training",
        of(TOPICS["training"]),
        (
            Panel(
                joined(*map(name, counts)),
                "timeseries",
                about(
                    counts, Text("4个班163人次不等于163人。", "163 trainee-times over 4 classes are not 163 workers.")
                ),
                series_sql(counts),
                bars=True,
            ),
            Panel(
                name("training_hours_per_worker"),
                "timeseries",
                about(["training_hours_per_worker"], GAPS),
                series_sql(["training_hours_per_worker"]),
            ),
            Panel(
                name("training_hours"),
                "timeseries",
                about(["training_hours"], GAPS),
                category_series_sql("training_hours", period_kind="month", categories=kinds),
                bars=True,
            ),
            Panel(
                name("share_trained"),
                "timeseries",
                about(["share_trained"], GAPS),
                series_sql(["share_trained"]),
                unit="percent",
            ),
            Panel(
                joined(name("initial_training_on_time"), period("cohort")),
                "timeseries",
                about(["initial_training_on_time"], Text("横轴为入职月份。", "X axis: hire month.")),
                series_sql(["initial_training_on_time"], period_kind="cohort"),
                unit="percent",
            ),
        ),
    )


def career() -> Dashboard:
    changes = ("promotions", "demotions", "regrades_lateral")
    levels = [*(str(level) for level in range(1, 21)), "unknown"]  # docs/contract.md: whole levels 1 … 20
    hire_year = Text(
        "年份为入职年份；入职未满t天者不计入分母。",
        "Year: the hire year; hires too recent for a mark are left out of its denominator.",
    )
    return Dashboard(
        "career",
        of(TOPICS["career"]),
        (
            Panel(
                joined(name("promotion_rate"), period("rolling12")),
                "timeseries",
                about(["promotion_rate"], GAPS),
                series_sql(["promotion_rate"], period_kind="rolling12"),
                unit="percent",
            ),
            Panel(joined(*map(name, changes)), "timeseries", about(changes, GAPS), series_sql(changes), bars=True),
            Panel(
                name("grade_mix"),
                "timeseries",
                about(["grade_mix"], GAPS),
                category_series_sql("grade_mix", period_kind="month", categories=levels),
                unit="percent",
            ),
            Panel(
                name("pay_median_by_level"),
                "timeseries",
                about(
                    ["pay_median_by_level"],
                    Text(
                        "空缺处为已抑制的单元格，不是零。月末在职且有薪酬记录人员的月薪（元）。",
                        "Gaps are suppressed cells, not zero. Monthly pay (CNY) of workers employed and paid at month "
                        "end.",
                    ),
                ),
                category_series_sql("pay_median_by_level", period_kind="month", categories=levels),
                unit="currencyCNY",
            ),
            Panel(
                joined(name("promoted_within"), period("year")),
                "table",
                about(["promoted_within"], hire_year),
                year_table_sql(["promoted_within"], by="category"),
                columns=YEAR_COLUMNS,
                unit="percent",
            ),
            Panel(
                joined(name("turnover_by_promotion"), period("year")),
                "table",
                about(
                    ["turnover_by_promotion"],
                    Text(
                        "1月1日在职人员按前3年内是否晋升分组；任一组少于 k 人时抑制。",
                        "Workers employed on 1 January, grouped by a promotion in the 3 years before; suppressed "
                        "when a group has fewer than k.",
                    ),
                ),
                year_table_sql(["turnover_by_promotion"], by="category"),
                columns=YEAR_COLUMNS,
                unit="percent",
            ),
        ),
    )


def latency(quantile: float) -> str:
    return f"histogram_quantile({quantile}, sum by (le) (rate(ingest_insert_seconds_bucket[5m])))"


def headline(key: str, label: Text) -> tuple[str, Text]:
    """A figure of the `metrics_headline` gauge (services/metrics/refresh.py `headlines`), labelled by the catalog."""
    return (f'metrics_headline{{indicator="{key}"}}', label)


def pipeline() -> Dashboard:
    def p(expr: str, zh: str, en: str) -> tuple[str, Text]:
        return (expr, Text(zh, en))

    return Dashboard(
        "pipeline",
        Text("数据管道", "Pipeline"),
        (
            Panel(
                Text("接入速率", "Ingest rate"),
                "timeseries",
                Text("每秒从消息代理收到与新存入的事件。", "Messages received and events newly stored per second."),
                promql=(
                    p("sum(rate(ingest_messages_consumed_total[5m]))", "收到", "received"),
                    p("sum(rate(ingest_events_stored_total[5m]))", "存入", "stored"),
                    p("sum(rate(ingest_duplicates_total[5m]))", "重复", "duplicates"),
                ),
                unit="ops",
            ),
            Panel(
                Text("拒收（按原因）", "Rejects by reason"),
                "timeseries",
                Text("每秒拒收并转入死信的消息。", "Messages refused and dead-lettered per second."),
                promql=(p("sum by (reason) (rate(ingest_rejected_total[5m]))", "{{reason}}", "{{reason}}"),),
                unit="ops",
            ),
            Panel(
                Text("积压", "Lag"),
                "timeseries",
                Text("消息代理中等待的消息与进程内缓冲。", "Messages waiting in the broker and held in buffers."),
                promql=(
                    p("sum(ingest_consumer_pending)", "代理中待处理", "pending in broker"),
                    p("sum(ingest_buffer_messages)", "缓冲中", "buffered"),
                ),
            ),
            Panel(
                Text("写入延迟", "Insert latency"),
                "timeseries",
                Text("每批校验与写入 ClickHouse 的耗时。", "Time to validate and store one batch."),
                promql=(
                    *(p(latency(q), f"p{round(q * 100)}", f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)),
                    p("sum by (kind) (rate(ingest_insert_errors_total[5m]))", "失败 {{kind}}", "errors {{kind}}"),
                ),
                unit="s",
            ),
            Panel(
                Text("数据新鲜度", "Freshness"),
                "timeseries",
                Text(
                    "距上次存入事件、上次指标刷新的秒数；刷新时最新事件的滞后。",
                    "Seconds since the last stored batch and the last indicator refresh; event lag at refresh.",
                ),
                promql=(
                    p("time() - max(ingest_last_stored_timestamp_seconds)", "距上次存入", "since last store"),
                    p("time() - max(metrics_last_refresh_timestamp_seconds)", "距上次刷新", "since last refresh"),
                    p("max(metrics_refresh_lag_seconds)", "刷新滞后", "refresh lag"),
                ),
                unit="s",
            ),
            Panel(
                Text("指标刷新", "Indicator refresh"),
                "timeseries",
                Text(
                    "刷新耗时（p95）与每秒写入的指标行。",
                    "Refresh duration (p95) and indicator rows written per second.",
                ),
                promql=(
                    p(
                        "histogram_quantile(0.95, sum by (le) (rate(metrics_refresh_seconds_bucket[15m])))",
                        "刷新耗时 p95",
                        "refresh p95",
                    ),
                    p("sum(rate(metrics_refresh_errors_total[15m]))", "刷新失败", "refresh errors"),
                ),
                unit="s",
            ),
            Panel(
                Text("关键指标", "Headline indicators"),
                "stat",
                Text("最近一次刷新的全市数值。", "Program-wide values at the last refresh."),
                promql=(
                    headline("separation_rate_annual", joined(name("separation_rate"), period("rolling12"))),
                    headline("stability_index", name("stability_index")),
                    headline("pay_median", joined(name("pay_median"), of(CATEGORIES["total"]))),
                ),
                width=24,
            ),
            Panel(
                Text("披露审计", "Disclosure audit"),
                "timeseries",
                Text(
                    "每次发布前的披露审计耗时（p95），是指标刷新耗时的一部分。",
                    "Time the disclosure audit takes before each publish (p95), part of the refresh duration.",
                ),
                promql=(
                    p(
                        "histogram_quantile(0.95, sum by (le) (rate(metrics_audit_seconds_bucket[1h])))",
                        "审计耗时 p95",
                        "audit p95",
                    ),
                ),
                unit="s",
            ),
            Panel(
                Text("审计结果", "Audit outcome"),
                "stat",
                Text(
                    "暂缓发布：1 表示审计无法保护最近一次计算的表，已发布的指标保持原样（见 docs/operations.md）；"
                    "审计隐藏的单元格；沿用上次审计的证明、无需线性规划即证明的单元格；24 小时内暂缓的次数。",
                    "Held back: 1 while the audit could not protect the last recomputed table and the published "
                    "indicators stay as they were (see docs/operations.md); cells the audit hid; cells proven again "
                    "by the last audit's points, without an LP; tables held back in 24 h.",
                ),
                promql=(
                    p("max(metrics_publish_held)", "暂缓发布", "held back"),
                    p("max(metrics_audit_cells_hidden)", "审计隐藏单元格", "cells hidden by the audit"),
                    p("max(metrics_audit_cells_reused)", "沿用上次审计证明的单元格", "cells proven by the last audit"),
                    p("sum(increase(metrics_publish_held_back_total[24h]))", "24 小时内暂缓", "held back in 24 h"),
                ),
            ),
        ),
        filters=False,
    )


DASHBOARDS: tuple[Dashboard, ...] = (retention(), pay(), training(), career(), pipeline())


def fill_labels(sql: str, lang: Lang) -> str:
    all_label = sql_string(of(SLICE_VALUES["all"])(lang))
    return (
        sql.replace("{label:indicator}", label_sql("indicator", INDICATOR_LABELS, lang))
        .replace("{label:category}", label_sql("category", CATEGORY_LABELS, lang))
        .replace("{all_label}", all_label)
        .replace("{unit_name}", f"u.name_{lang}")
    )


def variables(lang: Lang) -> list[dict[str, Any]]:
    unit_name = f"name_{lang}"
    district_filter = f"({var('district')} = '{ALL}' OR district_id = {var('district')})"
    queries = [
        (
            "district",
            of(ORG_LEVELS["district"]),
            f"SELECT unit_id AS __value, {unit_name} AS __text FROM org_units FINAL\n"
            "WHERE level = 'district' ORDER BY __text",
        ),
        (
            "street",
            of(ORG_LEVELS["street"]),
            f"SELECT unit_id AS __value, {unit_name} AS __text FROM org_units FINAL\n"
            f"WHERE level = 'street' AND {district_filter} ORDER BY __text",
        ),
        ("service_model", of(DIMENSIONS["service_model"]), slice_values_sql("service_model", lang)),
        ("source_channel", of(DIMENSIONS["source_channel"]), slice_values_sql("source_channel", lang)),
    ]
    return [variable(key, label(lang), sql, lang) for key, label, sql in queries]


def slice_values_sql(dimension: str, lang: Lang) -> str:
    return (
        f"SELECT DISTINCT slice AS __value, {label_sql('slice', SLICE_LABELS, lang)} AS __text\n"
        f"FROM indicators WHERE dimension = '{dimension}' ORDER BY __text"
    )


def variable(key: str, label: str, sql: str, lang: Lang) -> dict[str, Any]:
    all_text = "全部" if lang == "zh" else "All"
    return {
        "name": key,
        "label": label,
        "type": "query",
        "datasource": CLICKHOUSE,
        "query": {"editorType": "sql", "queryType": "table", "rawSql": sql, "refId": "var"},
        "definition": sql,
        "refresh": 1,
        "includeAll": True,
        "allValue": ALL,
        "multi": False,
        "current": {"selected": True, "text": all_text, "value": "$__all"},
        "options": [],
        "sort": 0,
    }


def suppressed_mapping(lang: Lang) -> dict[str, Any]:
    """`SUPPRESSED_CODE` shown as text: "已抑制：<the catalog's reason>"."""
    colon = "：" if lang == "zh" else ": "
    reasons = [f"{SUPPRESSED(lang)}{colon}{of(label)(lang)}" for label in REASONS.values()]
    options = {"0": {"text": "", "index": 0}, "1": {"text": SUPPRESSED(lang), "color": "orange", "index": 1}}
    for code, text in enumerate(reasons, start=2):
        options[str(code)] = {"text": text, "color": "orange", "index": code}
    return {"type": "value", "options": options}


def field_config(panel: Panel, lang: Lang) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit, "mappings": [], "custom": {}}
    overrides: list[dict[str, Any]] = []
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "bars" if panel.bars else "line",
            "spanNulls": False,
            "showPoints": "auto",
            "insertNulls": False,
        }
        if panel.sql:
            overrides.append(
                {
                    "matcher": {"id": "byRegexp", "options": "^suppressed.*"},
                    "properties": [
                        {"id": "displayName", "value": SUPPRESSED(lang)},
                        {"id": "custom.hideFrom", "value": {"viz": True, "legend": True, "tooltip": False}},
                        {"id": "unit", "value": "none"},
                        {"id": "mappings", "value": [suppressed_mapping(lang)]},
                    ],
                }
            )
    if panel.kind == "table":
        headers = {
            "year": Text("年份", "Year"),
            "item": Text("项目", "Item"),
            "value": Text("数值", "Value"),
            "workers": Text("人数", "Workers"),
            "suppressed": Text("抑制", "Suppressed"),
        }
        for column in panel.columns:
            properties: list[dict[str, Any]] = [{"id": "displayName", "value": headers[column](lang)}]
            if column == "suppressed":
                properties.append({"id": "mappings", "value": [suppressed_mapping(lang)]})
            if column in ("value", "workers"):  # a suppressed cell's value and population are not published
                null_text = {"type": "special", "options": {"match": "null", "result": {"text": "—"}}}
                properties.append({"id": "mappings", "value": [null_text]})
            if column in ("year", "workers", "suppressed"):
                properties.append({"id": "unit", "value": "none"})
            overrides.append({"matcher": {"id": "byName", "options": column}, "properties": properties})
    return {"defaults": defaults, "overrides": overrides}


def targets(panel: Panel, lang: Lang) -> list[dict[str, Any]]:
    if panel.sql:
        timeseries = panel.kind == "timeseries"
        return [
            {
                "datasource": CLICKHOUSE,
                "editorType": "sql",
                "queryType": "timeSeries" if timeseries else "table",
                "format": 0 if timeseries else 1,
                "rawSql": fill_labels(panel.sql, lang),
                "refId": "A",
            }
        ]
    return [
        {"datasource": PROMETHEUS, "expr": expr, "legendFormat": legend(lang), "refId": chr(ord("A") + i)}
        for i, (expr, legend) in enumerate(panel.promql)
    ]


def layout(panels: Sequence[Panel]) -> Iterator[tuple[Panel, dict[str, int]]]:
    x = y = 0
    for panel in panels:
        if x + panel.width > 24:
            x, y = 0, y + 8
        yield panel, {"x": x, "y": y, "w": panel.width, "h": 8}
        x += panel.width


def render(dashboard: Dashboard, lang: Lang) -> dict[str, Any]:
    panels = []
    for number, (panel, grid) in enumerate(layout(dashboard.panels), start=1):
        panels.append(
            {
                "id": number,
                "type": panel.kind,
                "title": panel.title(lang),
                "description": panel.description(lang),
                "datasource": CLICKHOUSE if panel.sql else PROMETHEUS,
                "gridPos": grid,
                "fieldConfig": field_config(panel, lang),
                "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
                "targets": targets(panel, lang),
            }
        )
    order = [of(ORG_LEVELS["street"]), of(ORG_LEVELS["district"]), *(of(DIMENSIONS[d]) for d in FILTER_DIMENSIONS)]
    note = {
        "zh": "筛选一次只生效一个：" + " > ".join(t.zh for t in order) + "。",
        "en": "Filters apply one at a time: " + " > ".join(t.en for t in order) + ".",
    }
    return {
        "uid": f"workforce-{dashboard.key}-{lang}",
        "title": dashboard.title(lang),
        "description": note[lang] if dashboard.filters else "",
        "tags": [*dashboard.tags, lang],
        "timezone": "Asia/Shanghai" if dashboard.filters else "browser",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "" if dashboard.filters else "30s",
        "time": {"from": "now-5y", "to": "now"} if dashboard.filters else {"from": "now-6h", "to": "now"},
        "templating": {"list": variables(lang) if dashboard.filters else []},
        "annotations": {"list": []},
        "panels": panels,
    }


def rendered() -> dict[Path, str]:
    """Every dashboard file, relative to `dashboards/`, with its exact committed text."""
    return {
        Path(lang) / f"{dashboard.key}.json": json.dumps(render(dashboard, lang), ensure_ascii=False, indent=2) + "\n"
        for dashboard in DASHBOARDS
        for lang in LANGS
    }


@dataclass(frozen=True)
class Query:
    """One ClickHouse panel query of one language, for tests that run it."""

    dashboard: str
    lang: Lang
    title: str
    sql: str
    columns: tuple[str, ...]


def clickhouse_queries() -> list[Query]:
    return [
        Query(dashboard.key, lang, panel.title(lang), fill_labels(panel.sql, lang), panel.columns)
        for dashboard in DASHBOARDS
        for lang in LANGS
        for panel in dashboard.panels
        if panel.sql
    ]


def variable_queries() -> list[Query]:
    return [
        Query("variables", lang, item["name"], item["query"]["rawSql"], ("__value", "__text"))
        for lang in LANGS
        for item in variables(lang)
    ]


def write(out: Path = OUT) -> list[Path]:
    written = []
    for relative, text in rendered().items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.grafana.generate", description=__doc__.splitlines()[0])
    add_version(parser).parse_args(argv)
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
