"""bench.warehouse: a child that logs more than a pipe holds still ends and is measured; the two-shard run's figures
sit beside the one-server warehouse run's, and a two-shard run publishing other cells is an error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bench.report import Report
from bench.warehouse import REFERENCE, TWO_SHARDS, WAREHOUSE, CellCountMismatch, add_figures, run_watched

CHATTY = "import sys; sys.stderr.write('x' * 300_000); sys.stdout.write('done'); sys.exit(3)"


def test_a_child_that_logs_more_than_a_pipe_holds_ends_and_its_log_is_kept(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    returncode, seconds, _ = run_watched([sys.executable, "-c", CHATTY], dict(os.environ), log)
    assert returncode == 3 and seconds < 30
    assert log.read_text().count("x") == 300_000 and log.read_text().endswith("done")


HELPED = (
    "import subprocess, sys; subprocess.run([sys.executable, '-c',"
    " 'import time; held = b\"x\" * (200 * 2**20); time.sleep(2)'], check=True)"
)
"""A child that holds little itself and starts a helper that holds 200 MiB for 2 s."""


def test_the_peak_counts_the_processes_the_child_starts(tmp_path: Path) -> None:
    returncode, _, rss = run_watched([sys.executable, "-c", HELPED], dict(os.environ), tmp_path / "child.log")
    assert returncode == 0, (tmp_path / "child.log").read_text()
    assert rss is not None and rss > 200


def _run(seconds: float, rss_mb: float, cells: float) -> dict[str, float]:
    return {"seconds": seconds, "rss_mb": rss_mb, "cells": cells, "events": 7_497.0}


def test_the_two_shard_rebuild_is_reported_against_the_one_server_warehouse_rebuild() -> None:
    report = Report(events=7_497, quick=True)
    runs = {
        REFERENCE: _run(6.0, 500.0, 900.0),
        WAREHOUSE: _run(10.0, 400.0, 900.0),
        TWO_SHARDS: _run(15.0, 300.0, 900.0),
    }
    add_figures(report, "s", runs)
    figures = {figure.name: figure for figure in report.figures}
    two = figures["warehouse, two shards: workforce-metrics rebuild"]
    assert (two.value, two.baseline, two.ratio) == (15.0, "warehouse: workforce-metrics rebuild", 1.5)
    memory = figures["warehouse, two shards: peak RSS"]
    assert (memory.value, memory.baseline, memory.ratio) == (300.0, "warehouse: peak RSS", 0.75)
    one = figures["warehouse: workforce-metrics rebuild"]
    assert (one.baseline, one.ratio) == ("reference: workforce-metrics rebuild", 10.0 / 6.0)


def test_a_two_shard_rebuild_that_published_other_cells_is_an_error_not_a_figure() -> None:
    report = Report(events=7_497, quick=True)
    runs = {
        REFERENCE: _run(6.0, 500.0, 900.0),
        WAREHOUSE: _run(10.0, 400.0, 900.0),
        TWO_SHARDS: _run(9.0, 300.0, 899.0),
    }
    with pytest.raises(CellCountMismatch, match="899 cells on 2 shards"):
        add_figures(report, "s", runs)
    assert not [figure for figure in report.figures if figure.name.startswith(TWO_SHARDS)]


def test_without_the_cluster_only_the_one_server_figures() -> None:
    report = Report(events=7_497, quick=True)
    add_figures(report, "s", {REFERENCE: _run(6.0, 500.0, 900.0), WAREHOUSE: _run(10.0, 400.0, 900.0)})
    assert [figure.name for figure in report.figures] == [
        "reference: workforce-metrics rebuild",
        "reference: peak RSS",
        "warehouse: workforce-metrics rebuild",
        "warehouse: peak RSS",
    ]
