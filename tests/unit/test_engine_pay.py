"""Pay: percentiles (inclusive), gender pay gap, quartile bands, growth, reference wage, turnover by quartile."""

from __future__ import annotations

from pytest import approx

from services.metrics.engine import ReferenceWage
from tests.unit.test_engine_support import Log


def _four(log: Log) -> None:
    """a (m) 1000, b (f) 2000, c (m) 3000, d (f) 4000 total monthly pay (base 90 %, allowances 10 %)."""
    for w, gender, total in (("a", "male", 1000), ("b", "female", 2000), ("c", "male", 3000), ("d", "female", 4000)):
        log.hire(w, "2023-01-01", gender=gender)
        log.pay(w, "2023-01-01", str(total * 9 // 10), str(total // 10))


def test_percentiles_are_inclusive_linear_interpolation() -> None:
    """1000..4000: median pos 1.5 -> 2500; p10 pos 0.3 -> 1300; p25 pos 0.75 -> 1750; p75 2.25 -> 3250;
    p90 2.7 -> 3700; mean 2500. Base: 900..3600 -> median 2250."""
    log = Log()
    _four(log)
    r = log.run("2024-02-10")
    p = "2024-01-01"
    assert r.value("pay_median", p, cat="total") == approx(2500)
    assert r.value("pay_p10", p, cat="total") == approx(1300)
    assert r.value("pay_p25", p, cat="total") == approx(1750)
    assert r.value("pay_p75", p, cat="total") == approx(3250)
    assert r.value("pay_p90", p, cat="total") == approx(3700)
    assert r.value("pay_mean", p, cat="total") == approx(2500)
    assert r.value("pay_median", p, cat="base") == approx(2250)
    assert r.value("pay_median", p, cat="allowances") == approx(250)
    assert r.row("pay_median", p, cat="total").workers == 4


def test_gender_pay_gap_on_hourly_pay() -> None:
    """Hourly = total / (40 x 52 / 12). Men mean 2000, women 3000 (same hours): (2000 - 3000) / 2000 x 100 = -50."""
    log = Log()
    _four(log)
    r = log.run("2024-02-10")
    assert r.value("pay_gap_mean", "2024-01-01") == approx(-50.0)
    assert r.value("pay_gap_median", "2024-01-01") == approx(-50.0)
    # k = 3: two men and two women -> each compared group < 3 -> suppressed though 4 workers are paid
    gap = log.run("2024-02-10", k=3).row("pay_gap_mean", "2024-01-01")
    assert gap.suppressed and gap.reason == "primary" and gap.workers == 0  # the population is not published


def test_quartile_bands_rank_by_hourly_pay_ties_by_worker() -> None:
    """n = 5 equal pay: ranks by worker key a..e; q1 = rank 1, q2 = 2, q3 = 3, q4 = ranks 4..5
    (floor((i-1) n / 4) + 1 .. floor(i n / 4)). Genders a f, b m, c f, d m, e f -> q4 female share 1/2."""
    log = Log()
    for w, gender in zip("edcba", ("female", "male", "female", "male", "female"), strict=True):
        log.hire(w, "2023-01-01", gender=gender)
        log.pay(w, "2023-01-01", "3000")
    r = log.run("2024-02-10")
    p = "2024-01-01"
    shares = [r.value("pay_quartile_female_share", p, cat=q) for q in ("q1", "q2", "q3", "q4")]
    # ranks: a (female), b (male), c (female), d (male) + e (female)
    assert shares == [approx(100.0), approx(0.0), approx(100.0), approx(50.0)]
    assert r.row("pay_quartile_male_share", p, cat="q4").denominator == 2


def test_pay_growth_uses_workers_present_at_both_dates() -> None:
    """Jan 2024 vs Jan 2023: a 1000 -> 1100, b 2000 -> 2400 (c new, left out): medians 1500 -> 1750: +16.67 %."""
    log = Log()
    log.hire("a", "2023-01-01")
    log.pay("a", "2023-01-01", "1000")
    log.pay("a", "2023-06-01", "1100")
    log.hire("b", "2023-01-01")
    log.pay("b", "2023-01-01", "2000")
    log.pay("b", "2023-12-01", "2400")
    log.hire("c", "2023-05-01")
    log.pay("c", "2023-05-01", "9000")
    r = log.run("2024-02-10")
    assert r.value("pay_growth", "2024-01-01") == approx((1750 / 1500 - 1) * 100)
    assert r.row("pay_growth", "2024-01-01").workers == 2


def test_pay_agreed_before_hire_applies_from_the_start_and_is_left_out_when_absent() -> None:
    log = Log()
    log.pay("a", "2023-12-20", "5000")
    log.hire("a", "2024-01-01")
    log.hire("b", "2024-01-01")  # no pay: left out
    r = log.run("2024-02-10")
    assert r.value("pay_mean", "2024-01-01", cat="total") == approx(5000)
    assert r.row("pay_mean", "2024-01-01", cat="total").workers == 1
    assert r.row("pay_median", "2024-01-01", cat="total").reason == "primary"  # one worker < 2k


def test_pay_vs_reference_and_turnover_by_pay_quartile() -> None:
    """2023: four workers employed 1 Jan at 1000..4000; b (q2) quits in June.
    Turnover q2 = 1 / 1 x 100, others 0. Reference: median 31 Dec (a, c, d: 3000) x 12 / 30000 = 1.2."""
    log = Log()
    _four(log)
    log.separate("b", "2023-06-30", kind="voluntary")
    refs = (ReferenceWage("all", 2023, 30000.0, "NBS"),)
    r = log.run("2024-02-10", refs=refs)
    quartiles = [
        r.value("turnover_by_pay_quartile", "2023-01-01", kind="year", cat=q) for q in ("q1", "q2", "q3", "q4")
    ]
    assert quartiles == [0, approx(100.0), 0, 0]
    ref = r.row("pay_vs_reference", "2023-01-01", kind="year")
    assert (ref.numerator, ref.denominator, ref.value) == approx((36000, 30000, 1.2))
