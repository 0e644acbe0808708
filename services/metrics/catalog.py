"""The indicator catalog: every indicator's names (zh/en), unit, formula and the standard it follows, and the zh/en
labels of every code an indicator row carries (dimensions, period kinds, categories, slice values, topics).

This module is the one place these names live: the API (`/indicators/catalog`, `/indicators/labels`), the Grafana
generator, the demo's table and the analyst pages all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Label:
    """A code's name in Chinese and in English."""

    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str
    name_zh: str
    name_en: str
    unit: str
    formula: str
    standard: str
    formula_zh: str
    """The formula in Chinese, for the Chinese pages and dashboards; `formula` is the English one."""


def _i(name: str, zh: str, en: str, unit: str, formula: str, standard: str) -> Indicator:
    return Indicator(name, zh, en, unit, formula, standard, FORMULAS_ZH[name])


FORMULAS_ZH: Final[dict[str, str]] = {
    "headcount_avg": "每日在岗人数之和 ÷ 期间天数",
    "headcount_end": "期间最后一天的在岗人数",
    "hires": "期间内的入职人数",
    "separations": "期间内的离职人数",
    "separations_voluntary": "主动辞职",
    "separations_involuntary": "解除合同、用人方不续签",
    "separations_other": "退休、死亡及其他",
    "separations_by_reason": "按离职原因分列的离职人数",
    "net_change": "入职人数 − 离职人数",
    "replacement_ratio": "入职人数 ÷ 离职人数",
    "transfers_in": "调入本单位的人数（不计为入职）",
    "transfers_out": "调出本单位的人数（不计为离职）",
    "separation_rate": "离职人数 ÷ 平均人数 × 100",
    "voluntary_rate": "主动离职人数 ÷ 平均人数 × 100",
    "involuntary_rate": "被动离职人数 ÷ 平均人数 × 100",
    "hires_rate": "入职人数 ÷ 平均人数 × 100",
    "retention_rate": "期初和期末均在岗的人数 ÷ 期初在岗人数 × 100",
    "stability_index": "服务满1年的人数 ÷ 一年前在岗人数 × 100",
    "cohort_retention": "入职后第t天仍在岗的人数 ÷ 可观察的入职人数 × 100",
    "cohort_half_life": "入职批次留存降到一半所需的天数",
    "median_tenure_current": "在职人员本次任职天数的中位数",
    "median_tenure_leavers": "离职人员任职天数的中位数",
    "trainee_times": "完成的培训人次",
    "trainees": "至少完成一次培训的人数（不重复）",
    "training_hours": "已完成培训的学时合计",
    "training_hours_per_worker": "培训学时 ÷ 平均人数",
    "share_trained": "受训人数 ÷ 期间内在岗过的人数 × 100",
    "initial_training_on_time": "入职90天内完成初任培训的人数 ÷ 入职满90天的人数 × 100",
    "pay_mean": "月末在岗人员月薪的平均数",
    "pay_p10": "包含端点的线性插值百分位数",
    "pay_p25": "包含端点的线性插值百分位数",
    "pay_median": "包含端点的线性插值百分位数",
    "pay_p75": "包含端点的线性插值百分位数",
    "pay_p90": "包含端点的线性插值百分位数",
    "pay_gap_mean": "（男性 − 女性）÷ 男性 × 100，按小时工资",
    "pay_gap_median": "同上，使用中位数",
    "pay_quartile_female_share": "女性人数 ÷ 四分位组人数",
    "pay_quartile_male_share": "男性人数 ÷ 四分位组人数",
    "pay_growth": "留任人员本月月薪中位数 ÷ 一年前中位数 − 1",
    "pay_vs_reference": "月薪中位数 × 12 ÷ 社平工资",
    "turnover_by_pay_quartile": "主动离职人数 ÷ 1月1日所在四分位组人数",
    "promotions": "期间内晋升（升至更高职级）的人次",
    "demotions": "期间内降级的人次",
    "regrades_lateral": "期间内平级调整（职级不变、职务名称变更，或首次定级）的人次",
    "promotion_rate": "晋升人次 ÷ 平均人数 × 100",
    "promoted_within": "入职后t天内在本次任职中获得晋升的人数 ÷ 入职满t天的人数 × 100（按入职年份）",
    "grade_mix": "期末处于该职级的人数 ÷ 期末在岗人数 × 100",
    "pay_median_by_level": "期末在岗且有薪酬记录人员按职级的月薪中位数",
    "turnover_by_promotion": "主动离职人数 ÷ 1月1日在岗、前3年内晋升过（或未晋升）的人数 × 100",
}
"""Each indicator's formula in Chinese (read through `Indicator.formula_zh`)."""

NBS, SHRM, JOLTS, CIPD, GRI, UKGPG = (
    "China NBS",
    "SHRM",
    "BLS JOLTS",
    "CIPD/Armstrong",
    "GRI 404-1",
    "UK SI 2017/172 regs 8-9",
)
PROGRAM = "program definition"

CATALOG: Final[tuple[Indicator, ...]] = (
    _i("headcount_avg", "平均人数", "Average headcount", "workers", "Σ daily headcount ÷ days in period", NBS),
    _i("headcount_end", "期末人数", "Period-end headcount", "workers", "headcount on the period's last day", NBS),
    _i("hires", "入职人数", "Hires", "workers", "hires dated in the period", JOLTS),
    _i("separations", "离职人数", "Separations", "workers", "separations dated in the period", JOLTS),
    _i("separations_voluntary", "主动离职", "Voluntary separations", "workers", "quits", JOLTS),
    _i("separations_involuntary", "被动离职", "Involuntary separations", "workers", "dismissal, non-renewal", JOLTS),
    _i("separations_other", "其他离职", "Other separations", "workers", "retirement, death, other", JOLTS),
    _i("separations_by_reason", "按原因离职", "Separations by reason", "workers", "separations per reason", SHRM),
    _i("net_change", "净变动", "Net change", "workers", "hires − separations", JOLTS),
    _i("replacement_ratio", "补充率", "Replacement ratio", "ratio", "hires ÷ separations", SHRM),
    _i("transfers_in", "调入", "Transfers in", "workers", "transfers into the unit (not hires)", PROGRAM),
    _i("transfers_out", "调出", "Transfers out", "workers", "transfers out of the unit (not separations)", PROGRAM),
    _i("separation_rate", "流失率", "Turnover rate", "%", "separations ÷ average headcount × 100", JOLTS),
    _i("voluntary_rate", "主动流失率", "Voluntary turnover rate", "%", "quits ÷ average headcount × 100", JOLTS),
    _i("involuntary_rate", "被动流失率", "Involuntary turnover rate", "%", "involuntary ÷ avg headcount × 100", JOLTS),
    _i("hires_rate", "入职率", "Hires rate", "%", "hires ÷ average headcount × 100", JOLTS),
    _i(
        "retention_rate",
        "留任率",
        "Retention rate",
        "%",
        "employed first and last day ÷ employed first day × 100",
        SHRM,
    ),
    _i(
        "stability_index",
        "稳定指数（12个月）",
        "Stability index (12 months)",
        "%",
        "≥1 year service ÷ headcount 1 year ago",
        CIPD,
    ),
    _i(
        "cohort_retention", "入职批次留存率", "New-hire cohort retention", "%", "still employed at h+t ÷ eligible", SHRM
    ),
    _i("cohort_half_life", "批次半衰期", "Cohort half-life", "days", "days until half the cohort remains", SHRM),
    _i("median_tenure_current", "在职人员司龄中位数", "Median tenure, current", "days", "median service days", SHRM),
    _i("median_tenure_leavers", "离职人员司龄中位数", "Median tenure, leavers", "days", "median service days", SHRM),
    _i("trainee_times", "培训人次", "Trainee-times", "participations", "completed participations", GRI),
    _i("trainees", "培训人数", "Trainees", "workers", "distinct workers with a completed training", GRI),
    _i("training_hours", "培训学时", "Training hours", "hours", "hours of completed trainings", GRI),
    _i("training_hours_per_worker", "人均培训学时", "Training hours per worker", "hours", "hours ÷ avg headcount", GRI),
    _i("share_trained", "受训比例", "Share trained", "%", "trainees ÷ workers employed in the period × 100", GRI),
    _i("initial_training_on_time", "初任培训及时率", "Initial training on time", "%", "≤90 days ÷ eligible hires", GRI),
    _i("pay_mean", "平均月薪", "Mean monthly pay", "CNY", "mean of pay on the last day", NBS),
    _i("pay_p10", "月薪P10", "Monthly pay p10", "CNY", "inclusive percentile", NBS),
    _i("pay_p25", "月薪P25", "Monthly pay p25", "CNY", "inclusive percentile", NBS),
    _i("pay_median", "月薪中位数", "Median monthly pay", "CNY", "inclusive percentile", NBS),
    _i("pay_p75", "月薪P75", "Monthly pay p75", "CNY", "inclusive percentile", NBS),
    _i("pay_p90", "月薪P90", "Monthly pay p90", "CNY", "inclusive percentile", NBS),
    _i("pay_gap_mean", "性别薪酬差距（均值）", "Gender pay gap, mean", "%", "(men − women) ÷ men × 100, hourly", UKGPG),
    _i("pay_gap_median", "性别薪酬差距（中位数）", "Gender pay gap, median", "%", "same with medians", UKGPG),
    _i("pay_quartile_female_share", "薪酬四分位女性占比", "Women per pay quartile", "%", "women ÷ band", UKGPG),
    _i("pay_quartile_male_share", "薪酬四分位男性占比", "Men per pay quartile", "%", "men ÷ band", UKGPG),
    _i("pay_growth", "薪酬增长率", "Pay growth", "%", "median now ÷ median a year earlier − 1, stayers", NBS),
    _i("pay_vs_reference", "薪酬与社平工资比", "Pay vs reference wage", "ratio", "median × 12 ÷ reference", NBS),
    _i("turnover_by_pay_quartile", "按薪酬四分位流失率", "Turnover by pay quartile", "%", "quits ÷ 1 Jan band", SHRM),
    _i("promotions", "晋升人次", "Promotions", "grade changes", "grade changes to a higher level", PROGRAM),
    _i("demotions", "降级人次", "Demotions", "grade changes", "grade changes to a lower level", PROGRAM),
    _i(
        "regrades_lateral",
        "平级调整人次",
        "Lateral regrades",
        "grade changes",
        "same level with a new title, or a first level where none was known",
        PROGRAM,
    ),
    _i("promotion_rate", "晋升率", "Promotion rate", "%", "promotions ÷ average headcount × 100", PROGRAM),
    _i(
        "promoted_within",
        "入职后晋升比例",
        "Promoted within t of hire",
        "%",
        "hires promoted in the spell within t days ÷ hires with hire + t ≤ as-of × 100, by hire year",
        PROGRAM,
    ),
    _i("grade_mix", "职级结构", "Grade mix", "%", "at the level at period end ÷ period-end headcount × 100", PROGRAM),
    _i("pay_median_by_level", "各职级月薪中位数", "Median monthly pay by level", "CNY", "inclusive median", NBS),
    _i(
        "turnover_by_promotion",
        "按晋升情况主动流失率",
        "Voluntary turnover by promotion",
        "%",
        "quits in the year ÷ workers on 1 Jan promoted (or not) in the 3 years before × 100",
        PROGRAM,
    ),
)

BY_NAME: Final[dict[str, Indicator]] = {i.name: i for i in CATALOG}


TOPICS: Final[dict[str, Label]] = {
    "headcount": Label("人员规模", "Headcount"),
    "turnover": Label("流失与留任", "Retention and turnover"),
    "training": Label("培训", "Training"),
    "pay": Label("薪酬", "Pay"),
    "career": Label("职业发展", "Career progression"),
}
"""The analyst pages' topics, in page order."""

TOPIC_OF: Final[dict[str, str]] = {
    **dict.fromkeys(("headcount_avg", "headcount_end", "transfers_in", "transfers_out", "net_change"), "headcount"),
    **dict.fromkeys(
        (
            "hires",
            "separations",
            "separations_voluntary",
            "separations_involuntary",
            "separations_other",
            "separations_by_reason",
            "replacement_ratio",
            "separation_rate",
            "voluntary_rate",
            "involuntary_rate",
            "hires_rate",
            "retention_rate",
            "stability_index",
            "cohort_retention",
            "cohort_half_life",
            "median_tenure_current",
            "median_tenure_leavers",
        ),
        "turnover",
    ),
    **dict.fromkeys(
        (
            "trainee_times",
            "trainees",
            "training_hours",
            "training_hours_per_worker",
            "share_trained",
            "initial_training_on_time",
        ),
        "training",
    ),
    **dict.fromkeys(
        (
            "promotions",
            "demotions",
            "regrades_lateral",
            "promotion_rate",
            "promoted_within",
            "grade_mix",
            "pay_median_by_level",
            "turnover_by_promotion",
        ),
        "career",
    ),
}
"""Every indicator's topic; the pay indicators (and any not named here) are under `pay`."""


def topic_of(indicator: str) -> str:
    return TOPIC_OF.get(indicator, "pay")


DIMENSIONS: Final[dict[str, Label]] = {
    "all": Label("全市", "Program-wide"),
    "org": Label("组织单位", "Org unit"),
    "service_model": Label("服务模式", "Service model"),
    "source_channel": Label("来源渠道", "Source channel"),
    "gender": Label("性别", "Gender"),
    "age_band": Label("年龄段", "Age band"),
}
"""The slice dimensions of an indicator row (`dimension`)."""

PERIOD_KINDS: Final[dict[str, Label]] = {
    "month": Label("月度", "Month"),
    "year": Label("年度", "Year"),
    "rolling12": Label("滚动12个月", "Rolling 12 months"),
    "cohort": Label("入职批次", "Hire cohort"),
}
"""The period kinds of an indicator row (`period_kind`)."""

ORG_LEVELS: Final[dict[str, Label]] = {
    "district": Label("区", "District"),
    "street": Label("街道（乡镇）工会", "Street union"),
    "second_tier": Label("小二级工会", "Second-tier union"),
}
"""The levels of the org hierarchy, top down."""

CATEGORIES: Final[dict[str, Label]] = {
    "30": Label("30天", "30 days"),
    "90": Label("90天", "90 days"),
    "180": Label("180天", "180 days"),
    "365": Label("365天", "365 days"),
    "730": Label("730天", "730 days"),
    "1095": Label("1095天", "1,095 days"),
    "pay": Label("薪酬偏低", "Pay"),
    "career_development": Label("职业发展", "Career development"),
    "workload": Label("工作负荷", "Workload"),
    "relocation": Label("迁居", "Relocation"),
    "family": Label("家庭原因", "Family"),
    "further_study": Label("继续深造", "Further study"),
    "contract_end": Label("合同到期", "Contract end"),
    "dismissal": Label("解除合同", "Dismissal"),
    "retirement": Label("退休", "Retirement"),
    "death": Label("死亡", "Death"),
    "other": Label("其他", "Other"),
    "initial": Label("初任培训", "Initial training"),
    "rotation": Label("轮训", "Rotation training"),
    "site_visit": Label("现场教学", "On-site teaching visit"),
    "skills_competition": Label("技能比武", "Skills competition"),
    "q1": Label("第一四分位（最低）", "Q1 (lowest)"),
    "q2": Label("第二四分位", "Q2"),
    "q3": Label("第三四分位", "Q3"),
    "q4": Label("第四四分位（最高）", "Q4 (highest)"),
    "base": Label("基本工资", "Base pay"),
    "allowances": Label("津贴补贴", "Allowances"),
    "total": Label("应发合计", "Total pay"),
    **{str(level): Label(f"{level}级", f"Level {level}") for level in range(1, 21)},
    "unknown": Label("职级未知", "Level unknown"),
    "promoted": Label("前3年内晋升过", "Promoted in the 3 years before"),
    "not_promoted": Label("前3年内未晋升", "Not promoted in the 3 years before"),
    "": Label("合计", "All"),
}
"""Category codes of indicator rows: cohort marks (days), separation reasons, course kinds, pay quartiles, pay
components, grade levels (1 = entry) and promotion status; the empty category is the row over every category."""

SLICE_VALUES: Final[dict[str, Label]] = {
    "all": Label("全市", "Program-wide"),
    "enterprise": Label("企业", "Enterprise"),
    "building": Label("楼宇", "Building"),
    "park": Label("园区", "Park"),
    "community": Label("社区", "Community"),
    "none": Label("无", "None"),
    "graduate": Label("应届毕业生招聘", "Graduate recruitment"),
    "retrained_union_staff": Label("工会干部转岗", "Retrained union staff"),
    "purchased_service": Label("购买服务", "Purchased service"),
    "enterprise_transfer": Label("企业定向转入", "Targeted enterprise transfer"),
    "other": Label("其他", "Other"),
    "male": Label("男", "Men"),
    "female": Label("女", "Women"),
    "undisclosed": Label("未披露", "Undisclosed"),
    "<25": Label("25岁以下", "Under 25"),
    "25-34": Label("25-34岁", "25-34"),
    "35-44": Label("35-44岁", "35-44"),
    "45-54": Label("45-54岁", "45-54"),
    ">=55": Label("55岁及以上", "55 and over"),
}
"""Slice values other than org unit ids (org units are named by their registration events, table `org_units`)."""

REASONS: Final[dict[str, Label]] = {
    "primary": Label("人数少于k", "fewer than k workers"),
    "secondary": Label("次级抑制（保护另一个已抑制单元格）", "secondary (protects another suppressed cell)"),
    "linked": Label("关联抑制（分子或分母等于已抑制单元格）", "linked (numerator or denominator is a suppressed cell)"),
    "audit": Label("审计抑制（可由已发布数据推算）", "audit (could be worked out from published cells)"),
}
"""Why a suppressed cell is hidden (the `reason` column, METRICS.md Suppression), in the engine's order."""

PUBLISHED_FACTS: Final[tuple[tuple[str, str, int, Label], ...]] = (
    (
        "trainee_times",
        "initial",
        163,
        Label("2019-2022年初任培训人次（已公布）", "Initial trainee-times 2019-2022 (published)"),
    ),
    (
        "trainee_times",
        "rotation",
        949,
        Label("2019-2022年轮训人次（已公布）", "Rotation trainee-times 2019-2022 (published)"),
    ),
)
"""The program's published facts (indicator, category, figure over the years 2019-2022, label): shown back beside
the computed figure."""
PUBLISHED_YEARS: Final = (2019, 2022)


def labels() -> dict[str, object]:
    """Every label of this module as one JSON-ready document (`GET /indicators/labels`)."""

    def table(entries: dict[str, Label]) -> dict[str, dict[str, str]]:
        return {code: {"zh": t.zh, "en": t.en} for code, t in entries.items()}

    return {
        "topics": table(TOPICS),
        "dimensions": table(DIMENSIONS),
        "period_kinds": table(PERIOD_KINDS),
        "org_levels": table(ORG_LEVELS),
        "categories": table(CATEGORIES),
        "slices": table(SLICE_VALUES),
        "reasons": table(REASONS),
        "published_facts": [
            {
                "indicator": i,
                "category": c,
                "value": v,
                "from_year": PUBLISHED_YEARS[0],
                "to_year": PUBLISHED_YEARS[1],
                "zh": t.zh,
                "en": t.en,
            }
            for i, c, v, t in PUBLISHED_FACTS
        ],
    }
