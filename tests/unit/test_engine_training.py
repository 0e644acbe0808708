"""Training: trainee-times vs trainees, hours per worker, share trained, initial training on time."""

from __future__ import annotations

from pytest import approx

from tests.unit.test_engine_support import Log


def test_trainee_times_trainees_hours_and_share() -> None:
    """Jan 2024, workers a, b (all month), c (separated 5 Jan, no training).
    a: 2 trainings (8 h rotation, 4 h site visit), b: 1 (6 h rotation) -> trainee-times 3, trainees 2.
    Hours 18; avg headcount (31 + 31 + 5) / 31 -> hours per worker 18 / (67/31) = 8.328;
    share trained = 2 / 3 distinct employed x 100 = 66.67."""
    log = Log()
    for w in ("a", "b", "c"):
        log.hire(w, "2023-12-01")
    log.separate("c", "2024-01-05")
    log.train("a", "2024-01-10", "rotation", "8")
    log.train("a", "2024-01-20", "site_visit", "4")
    log.train("b", "2024-01-31", "rotation", "6")
    r = log.run("2024-02-15")
    assert r.value("trainee_times", "2024-01-01") == 3
    assert r.value("trainees", "2024-01-01") == 2
    assert r.value("training_hours", "2024-01-01", cat="all") == 18
    assert r.value("training_hours", "2024-01-01", cat="rotation") == 14
    assert r.value("training_hours", "2024-01-01", cat="initial") == 0
    assert r.value("training_hours_per_worker", "2024-01-01") == approx(18 / (67 / 31))
    share = r.row("share_trained", "2024-01-01")
    assert (share.numerator, share.denominator, share.value) == approx((2, 3, 200 / 3))


def test_training_when_not_employed_is_an_anomaly() -> None:
    log = Log()
    log.hire("a", "2024-01-10")
    early = log.train("a", "2024-01-05")
    r = log.run("2024-01-31")
    assert r.anomalies() == [(early, "training_not_employed")]
    assert r.value("trainee_times", "2024-01-01") == 0


def test_initial_training_on_time() -> None:
    """Cohort Jan 2024, as_of 30 Apr 2024 (cutoff 31 Jan): a hired 2 Jan, initial ends 1 Apr (90 days) -> on time;
    b hired 5 Jan, initial ends 5 Apr (91 days) -> late; c hired 31 Jan, rotation only -> not;
    d hired 1 Feb is another cohort. Jan: 1 / 3 x 100."""
    log = Log()
    log.hire("a", "2024-01-02")
    log.train("a", "2024-04-01", "initial", "40")
    log.hire("b", "2024-01-05")
    log.train("b", "2024-04-05", "initial", "40")
    log.hire("c", "2024-01-31")
    log.train("c", "2024-02-10", "rotation", "8")
    log.hire("d", "2024-02-01")
    log.train("d", "2024-02-20", "initial", "40")
    r = log.run("2024-04-30")
    row = r.row("initial_training_on_time", "2024-01-01", kind="cohort")
    assert (row.numerator, row.denominator, row.value) == approx((1, 3, 100 / 3))
    # Feb cohort: hire 1 Feb > cutoff 31 Jan -> not eligible, denominator 0
    feb = r.row("initial_training_on_time", "2024-02-01", kind="cohort")
    assert feb.workers == 0 and feb.value is None


def test_initial_training_on_time_by_hire_year() -> None:
    """v5: by hire year too (period_kind year, complete years). 2023 hires: a (2 Mar, initial within 90 days), b
    (1 Jun, late), c (1 Nov, separated 10 Nov, rehired 1 Dec: counted once, at its first hire), d (1 Dec 2023,
    initial 10 Jan 2024, on time) -> as of 31 Mar 2024 (cutoff 1 Jan 2024): 2 of 4 on time (a, d)."""
    log = Log()
    log.hire("a", "2023-03-02")
    log.train("a", "2023-04-01", "initial", "40")
    log.hire("b", "2023-06-01")
    log.train("b", "2023-10-01", "initial", "40")
    log.hire("c", "2023-11-01")
    log.separate("c", "2023-11-10")
    log.hire("c", "2023-12-01")
    log.hire("d", "2023-12-01")
    log.train("d", "2024-01-10", "initial", "40")
    r = log.run("2024-03-31")
    row = r.row("initial_training_on_time", "2023-01-01", kind="year")
    assert (row.numerator, row.denominator, row.value, row.workers) == (2, 4, 50, 4)
    assert not r.has("initial_training_on_time", "2024-01-01", kind="year")  # 2024 is not complete
