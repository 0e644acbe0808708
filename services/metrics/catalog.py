"""The indicator catalog: every indicator's names (zh/en), unit, formula and the standard it follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str
    name_zh: str
    name_en: str
    unit: str
    formula: str
    standard: str


def _i(name: str, zh: str, en: str, unit: str, formula: str, standard: str) -> Indicator:
    return Indicator(name, zh, en, unit, formula, standard)


NBS, SHRM, JOLTS, CIPD, GRI, UKGPG = (
    "China NBS",
    "SHRM",
    "BLS JOLTS",
    "CIPD/Armstrong",
    "GRI 404-1",
    "UK SI 2017/172 regs 8-9",
)

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
    _i("transfers_in", "调入", "Transfers in", "workers", "transfers into the unit (not hires)", "program"),
    _i("transfers_out", "调出", "Transfers out", "workers", "transfers out of the unit (not separations)", "program"),
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
        "稳定指数",
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
    _i("pay_gap_mean", "性别薪酬差距(均值)", "Gender pay gap, mean", "%", "(men − women) ÷ men × 100, hourly", UKGPG),
    _i("pay_gap_median", "性别薪酬差距(中位数)", "Gender pay gap, median", "%", "same with medians", UKGPG),
    _i("pay_quartile_female_share", "薪酬四分位女性占比", "Women per pay quartile", "%", "women ÷ band", UKGPG),
    _i("pay_quartile_male_share", "薪酬四分位男性占比", "Men per pay quartile", "%", "men ÷ band", UKGPG),
    _i("pay_growth", "薪酬增长率", "Pay growth", "%", "median now ÷ median a year earlier − 1, stayers", NBS),
    _i("pay_vs_reference", "薪酬与社平工资比", "Pay vs reference wage", "ratio", "median × 12 ÷ reference", NBS),
    _i("turnover_by_pay_quartile", "按薪酬四分位流失率", "Turnover by pay quartile", "%", "quits ÷ 1 Jan band", SHRM),
)

BY_NAME: Final[dict[str, Indicator]] = {i.name: i for i in CATALOG}
