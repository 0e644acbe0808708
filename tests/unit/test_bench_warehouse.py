"""bench.warehouse's child runs: a child that logs more than a pipe holds still ends and is measured."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.warehouse import run_watched

CHATTY = "import sys; sys.stderr.write('x' * 300_000); sys.stdout.write('done'); sys.exit(3)"


def test_a_child_that_logs_more_than_a_pipe_holds_ends_and_its_log_is_kept(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    returncode, seconds, _ = run_watched([sys.executable, "-c", CHATTY], dict(os.environ), log)
    assert returncode == 3 and seconds < 30
    assert log.read_text().count("x") == 300_000 and log.read_text().endswith("done")
