"""Grafana dashboards as code: four dashboards, each in Chinese and English, written as committed JSON.

Run ``python -m deploy.grafana.generate`` after changing a panel; ``tests/integration/test_dashboards.py``
regenerates, compares with the committed files, and runs every ClickHouse panel's SQL against real data.

Panels read the long ``indicators`` table (docs/contract.md §4) through the grafana-clickhouse-datasource
plugin. That table holds one slice dimension per cell, so the filters apply one at a time, the most
specific chosen one winning: street union, then district, then service model, then source channel.
Suppressed cells come back as NULL values with ``suppressed = 1``: gaps in a curve, "已抑制 / suppressed"
in a table, never zero.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
ALL = "__all"
CLICKHOUSE = {"type": "grafana-clickhouse-datasource", "uid": "workforce-clickhouse"}
PROMETHEUS = {"type": "prometheus", "uid": "workforce-prometheus"}
OUT = Path(__file__).parent / "dashboards"
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


# Labels of indicator codes, categories and slice values, in one place for both languages.
LABELS: dict[str, Text] = {
    "headcount_avg": Text("平均人数", "Average headcount"),
    "headcount_end": Text("期末人数", "Period-end headcount"),
    "hires": Text("入职", "Hires"),
    "separations": Text("离职", "Separations"),
    "net_change": Text("净变动", "Net change"),
    "separation_rate": Text("离职率", "Separation rate"),
    "voluntary_rate": Text("主动离职率", "Voluntary turnover rate"),
    "involuntary_rate": Text("被动离职率", "Involuntary turnover rate"),
    "hires_rate": Text("入职率", "Hires rate"),
    "retention_rate": Text("留存率", "Retention rate"),
    "stability_index": Text("稳定性指数（12个月）", "Stability index (12 months)"),
    "median_tenure_current": Text("在职人员工龄中位数（天）", "Median tenure, current (days)"),
    "median_tenure_leavers": Text("离职人员工龄中位数（天）", "Median tenure, leavers (days)"),
    "pay_p10": Text("第10百分位", "p10"),
    "pay_p25": Text("第25百分位", "p25"),
    "pay_median": Text("中位数", "Median"),
    "pay_p75": Text("第75百分位", "p75"),
    "pay_p90": Text("第90百分位", "p90"),
    "pay_mean": Text("平均数", "Mean"),
    "pay_gap_mean": Text("性别薪酬差距（平均）", "Gender pay gap (mean)"),
    "pay_gap_median": Text("性别薪酬差距（中位）", "Gender pay gap (median)"),
    "pay_growth": Text("薪酬增长", "Pay growth"),
    "trainee_times": Text("培训人次", "Trainee-times (人次)"),
    "trainees": Text("培训人数", "Trainees (人数)"),
    "training_hours_per_worker": Text("人均培训学时", "Training hours per worker"),
    "share_trained": Text("受训人员占比", "Share trained"),
    "initial_training_on_time": Text("初任培训按时完成率", "Initial training on time"),
}
CATEGORY_LABELS: dict[str, Text] = {
    "30": Text("30天", "30 days"),
    "90": Text("90天", "90 days"),
    "180": Text("180天", "180 days"),
    "365": Text("365天", "365 days"),
    "730": Text("730天", "730 days"),
    "pay": Text("薪酬偏低", "Pay"),
    "career_development": Text("职业发展", "Career development"),
    "workload": Text("工作负荷", "Workload"),
    "relocation": Text("迁居", "Relocation"),
    "family": Text("家庭原因", "Family"),
    "further_study": Text("继续深造", "Further study"),
    "contract_end": Text("合同到期", "Contract end"),
    "dismissal": Text("解除合同", "Dismissal"),
    "retirement": Text("退休", "Retirement"),
    "death": Text("死亡", "Death"),
    "other": Text("其他", "Other"),
    "initial": Text("初任培训", "Initial"),
    "rotation": Text("轮训", "Rotation"),
    "site_visit": Text("现场教学", "On-site teaching visit"),
    "skills_competition": Text("技能比武", "Skills competition"),
    "q1": Text("第一四分位（最低）", "Q1 (lowest)"),
    "q2": Text("第二四分位", "Q2"),
    "q3": Text("第三四分位", "Q3"),
    "q4": Text("第四四分位（最高）", "Q4 (highest)"),
    "base": Text("基本工资中位数", "Median base"),
    "allowances": Text("津贴中位数", "Median allowances"),
    "total": Text("合计中位数", "Median total"),
}
SLICE_LABELS: dict[str, Text] = {
    "enterprise": Text("企业", "Enterprise"),
    "building": Text("楼宇", "Building"),
    "park": Text("园区", "Park"),
    "community": Text("社区", "Community"),
    "none": Text("无", "None"),
    "graduate": Text("应届毕业生招聘", "Graduate recruitment"),
    "retrained_union_staff": Text("工会干部转岗", "Retrained union staff"),
    "purchased_service": Text("购买服务", "Purchased service"),
    "enterprise_transfer": Text("企业定向转入", "Targeted enterprise transfer"),
    "other": Text("其他", "Other"),
}


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def label_sql(column: str, labels: dict[str, Text], lang: Lang) -> str:
    """A ClickHouse `transform` turning codes in `column` into labels of `lang` (unknown codes shown as is)."""
    keys = ", ".join(sql_string(k) for k in labels)
    values = ", ".join(sql_string(t(lang)) for t in labels.values())
    return f"transform({column}, [{keys}], [{values}], {column})"


# The chosen filter, most specific first; the cells of that slice are the only ones read.
PICK = f"""WITH
    '${{street}}' AS v_street, '${{district}}' AS v_district,
    '${{service_model}}' AS v_model, '${{source_channel}}' AS v_channel,
    multiIf(v_street != '{ALL}', 'org', v_district != '{ALL}', 'org',
            v_model != '{ALL}', 'service_model', v_channel != '{ALL}', 'source_channel', 'all') AS pick_dimension,
    multiIf(v_street != '{ALL}', v_street, v_district != '{ALL}', v_district,
            v_model != '{ALL}', v_model, v_channel != '{ALL}', v_channel, 'all') AS pick_slice"""
SLICE = "dimension = pick_dimension AND slice = pick_slice"
SHOWN = "if(suppressed = 1, NULL, value)"


def series_sql(indicators: Sequence[str], *, period_kind: str = "month", category: str = "''") -> str:
    """Time series of several indicators in the chosen slice, one series per indicator."""
    names = ", ".join(sql_string(i) for i in indicators)
    return f"""{PICK}
SELECT toDateTime(period) AS time, {{label:indicator}} AS series, {SHOWN} AS value, suppressed
FROM indicators
WHERE indicator IN ({names}) AND period_kind = '{period_kind}' AND category = {category}
  AND {SLICE} AND $__dateFilter(period)
ORDER BY time, series"""


def category_series_sql(indicator: str, *, period_kind: str, categories: Sequence[str]) -> str:
    """Time series of one indicator, one series per category."""
    cats = ", ".join(sql_string(c) for c in categories)
    return f"""{PICK}
SELECT toDateTime(period) AS time, {{label:category}} AS series, {SHOWN} AS value, suppressed
FROM indicators
WHERE indicator = '{indicator}' AND period_kind = '{period_kind}' AND category IN ({cats})
  AND {SLICE} AND $__dateFilter(period)
ORDER BY time, series"""


def year_table_sql(indicators: Sequence[str], *, by: Literal["indicator", "category"]) -> str:
    """Complete calendar years in the range, one row per year and indicator (or category)."""
    names = ", ".join(sql_string(i) for i in indicators)
    return f"""{PICK}
SELECT toYear(period) AS year, {{label:{by}}} AS item, {SHOWN} AS value, workers, suppressed
FROM indicators
WHERE indicator IN ({names}) AND period_kind = 'year'
  AND {SLICE} AND $__dateFilter(period)
ORDER BY year, item"""


PAY_VS_REFERENCE_SQL = f"""SELECT toYear(i.period) AS year,
       if(i.slice = 'all', {{all_label}}, {{unit_name}}) AS item,
       if(i.suppressed = 1, NULL, i.value) AS value, i.workers AS workers, i.suppressed AS suppressed
FROM indicators AS i
LEFT JOIN (SELECT unit_id, name_zh, name_en FROM org_units FINAL) AS u ON u.unit_id = i.slice
WHERE i.indicator = 'pay_vs_reference' AND i.period_kind = 'year' AND i.dimension IN ('all', 'org')
  AND (i.slice = 'all' OR '${{district}}' = '{ALL}' OR i.slice = '${{district}}')
  AND $__dateFilter(i.period)
ORDER BY year, item"""

T_PERCENT = Text("百分比", "percent")


def retention() -> Dashboard:
    gaps = Text(
        "空缺处为已抑制的单元格（人数少于 k），不是零。", "Gaps are suppressed cells (fewer than k workers), not zero."
    )
    return Dashboard(
        "retention",
        Text("流失与留存", "Retention & turnover"),
        (
            Panel(Text("在岗人数", "Headcount"), "timeseries", gaps, series_sql(["headcount_avg", "headcount_end"])),
            Panel(
                Text("入职与离职", "Hires vs separations"),
                "timeseries",
                gaps,
                series_sql(["hires", "separations", "net_change"]),
                bars=True,
            ),
            Panel(
                Text("月度离职率（按类型）", "Monthly turnover rate by kind"),
                "timeseries",
                Text(
                    "离职人数 ÷ 月平均人数 × 100（SHRM/JOLTS）。", "Separations ÷ average headcount × 100 (SHRM/JOLTS)."
                ),
                series_sql(["separation_rate", "voluntary_rate", "involuntary_rate", "hires_rate"]),
                unit="percent",
            ),
            Panel(
                Text("年度离职率（JOLTS）", "Annual turnover rate (JOLTS)"),
                "table",
                Text("仅完整自然年。", "Complete calendar years only."),
                year_table_sql(["separation_rate", "voluntary_rate", "involuntary_rate", "hires_rate"], by="indicator"),
                columns=("year", "item", "value", "workers", "suppressed"),
                unit="percent",
            ),
            Panel(
                Text("离职原因（年度）", "Separations by reason (year)"),
                "table",
                Text("每个原因的离职人数，按完整自然年。", "Separations per reason, complete calendar years."),
                year_table_sql(["separations_by_reason"], by="category"),
                columns=("year", "item", "value", "workers", "suppressed"),
            ),
            Panel(
                Text("稳定性指数与留存率", "Stability index and retention rate"),
                "timeseries",
                Text(
                    "稳定性指数：工龄满一年的人数 ÷ 一年前人数 × 100（CIPD）。",
                    "Stability index: workers with ≥ 1 year of service ÷ headcount a year ago × 100 (CIPD).",
                ),
                series_sql(["stability_index", "retention_rate"]),
                unit="percent",
            ),
            Panel(
                Text("新入职队列留存曲线", "New-hire cohort retention"),
                "timeseries",
                Text(
                    "横轴为入职月份；每条线为入职后 30/90/180/365/730 天仍在职的比例，未到期者不计入分母。",
                    "X axis: hire month; each line the share still employed t days after hire. "
                    "Workers hired too recently for a mark are left out of its denominator.",
                ),
                category_series_sql(
                    "cohort_retention", period_kind="cohort", categories=["30", "90", "180", "365", "730"]
                ),
                unit="percent",
            ),
            Panel(
                Text("工龄中位数", "Median tenure"),
                "timeseries",
                gaps,
                series_sql(["median_tenure_current", "median_tenure_leavers"]),
                unit="d",
            ),
        ),
    )


def pay() -> Dashboard:
    gaps = Text(
        "空缺处为已抑制的单元格，不是零。月末在职人员的月薪（元）。",
        "Gaps are suppressed cells, not zero. Monthly pay (CNY) of workers employed at month end.",
    )
    return Dashboard(
        "pay",
        Text("薪酬", "Pay"),
        (
            Panel(
                Text("月薪分位带", "Monthly pay percentile bands"),
                "timeseries",
                gaps,
                series_sql(["pay_p10", "pay_p25", "pay_median", "pay_p75", "pay_p90"], category="'total'"),
                unit="currencyCNY",
            ),
            Panel(
                Text("基本工资与津贴", "Base and allowances"),
                "timeseries",
                gaps,
                category_series_sql("pay_median", period_kind="month", categories=["base", "allowances", "total"]),
                unit="currencyCNY",
            ),
            Panel(
                Text("薪酬与社会平均工资之比", "Pay relative to the reference wage"),
                "table",
                Text(
                    "12 × 12月31日月薪中位数 ÷ 当地当年职工平均工资（运营方载入的参考工资）。",
                    "12 × median monthly pay on 31 December ÷ the region's published average wage of the year.",
                ),
                PAY_VS_REFERENCE_SQL,
                columns=("year", "item", "value", "workers", "suppressed"),
                unit="percentunit",
            ),
            Panel(
                Text("性别薪酬差距（小时工资）", "Gender pay gap (hourly)"),
                "timeseries",
                Text(
                    "(男性 − 女性) ÷ 男性 × 100（英国 SI 2017/172）；任一性别少于 k 人时抑制。",
                    "(men − women) ÷ men × 100 (UK SI 2017/172); suppressed when either group has fewer than k.",
                ),
                series_sql(["pay_gap_mean", "pay_gap_median"]),
                unit="percent",
            ),
            Panel(
                Text("按薪酬四分位的主动离职率（年度）", "Voluntary turnover by pay quartile (year)"),
                "table",
                Text(
                    "1月1日在职人员按当日薪酬分四档，当年主动离职的比例。",
                    "Workers employed on 1 January, banded by that day's pay; share who quit during the year.",
                ),
                year_table_sql(["turnover_by_pay_quartile"], by="category"),
                columns=("year", "item", "value", "workers", "suppressed"),
                unit="percent",
            ),
            Panel(
                Text("薪酬增长（同比）", "Pay growth (year on year)"),
                "timeseries",
                gaps,
                series_sql(["pay_growth"]),
                unit="percent",
            ),
        ),
    )


def training() -> Dashboard:
    return Dashboard(
        "training",
        Text("培训", "Training"),
        (
            Panel(
                Text("培训人次与人数", "Trainee-times (人次) vs trainees (人数)"),
                "timeseries",
                Text(
                    "人次：完成的培训参与次数；人数：不同的受训人员。4个班163人次不等于163人。",
                    "Trainee-times count completed participations; trainees count distinct workers.",
                ),
                series_sql(["trainee_times", "trainees"]),
                bars=True,
            ),
            Panel(
                Text("人均培训学时", "Training hours per worker"),
                "timeseries",
                Text("培训学时 ÷ 月平均人数（GRI 404-1）。", "Training hours ÷ average headcount (GRI 404-1)."),
                series_sql(["training_hours_per_worker"]),
            ),
            Panel(
                Text("培训学时（按课程类型）", "Training hours by course kind"),
                "timeseries",
                Text("空缺处为已抑制的单元格，不是零。", "Gaps are suppressed cells, not zero."),
                category_series_sql(
                    "training_hours",
                    period_kind="month",
                    categories=["initial", "rotation", "site_visit", "skills_competition", "other"],
                ),
                bars=True,
            ),
            Panel(
                Text("受训人员占比", "Share trained"),
                "timeseries",
                Text(
                    "期内至少完成一次培训的人数 ÷ 期内在职人数 × 100。",
                    "Workers with ≥ 1 completed training ÷ workers employed in the period × 100.",
                ),
                series_sql(["share_trained"]),
                unit="percent",
            ),
            Panel(
                Text("初任培训按时完成率（按入职月份）", "Initial training on time (by hire month)"),
                "timeseries",
                Text(
                    "入职90天内完成初任培训的新人 ÷ 入职满90天的新人 × 100。",
                    "Hires who finished initial training within 90 days ÷ hires at least 90 days ago × 100.",
                ),
                series_sql(["initial_training_on_time"], period_kind="cohort"),
                unit="percent",
            ),
        ),
    )


def latency(quantile: float) -> str:
    return f"histogram_quantile({quantile}, sum by (le) (rate(ingest_insert_seconds_bucket[5m])))"


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
                    p('metrics_headline{indicator="separation_rate_annual"}', "年度离职率", "annual turnover"),
                    p('metrics_headline{indicator="stability_index"}', "稳定性指数", "stability index"),
                    p('metrics_headline{indicator="pay_median"}', "月薪中位数", "median pay"),
                ),
                width=24,
            ),
        ),
        filters=False,
    )


DASHBOARDS: tuple[Dashboard, ...] = (retention(), pay(), training(), pipeline())


def fill_labels(sql: str, lang: Lang) -> str:
    all_label = sql_string("全市" if lang == "zh" else "Program-wide")
    return (
        sql.replace("{label:indicator}", label_sql("indicator", LABELS, lang))
        .replace("{label:category}", label_sql("category", CATEGORY_LABELS, lang))
        .replace("{all_label}", all_label)
        .replace("{unit_name}", f"u.name_{lang}")
    )


def variables(lang: Lang) -> list[dict[str, Any]]:
    name = f"name_{lang}"
    district_filter = f"('${{district}}' = '{ALL}' OR district_id = '${{district}}')"
    queries = [
        (
            "district",
            Text("区", "District"),
            f"SELECT unit_id AS __value, {name} AS __text FROM org_units FINAL\n"
            "WHERE level = 'district' ORDER BY __text",
        ),
        (
            "street",
            Text("街道（镇）工会", "Street union"),
            f"SELECT unit_id AS __value, {name} AS __text FROM org_units FINAL\n"
            f"WHERE level = 'street' AND {district_filter} ORDER BY __text",
        ),
        ("service_model", Text("服务模式", "Service model"), slice_values_sql("service_model", lang)),
        ("source_channel", Text("来源渠道", "Source channel"), slice_values_sql("source_channel", lang)),
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
    return {
        "type": "value",
        "options": {"1": {"text": SUPPRESSED(lang), "color": "orange", "index": 0}, "0": {"text": "", "index": 1}},
    }


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
            if column == "value":
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
    note = {
        "zh": "筛选一次只生效一个：街道 > 区 > 服务模式 > 来源渠道。",
        "en": "Filters apply one at a time: street union > district > service model > source channel.",
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


def main() -> int:
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
