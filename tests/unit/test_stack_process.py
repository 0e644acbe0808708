from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.stack.ports import wait_until
from services.stack.process import (
    command_line,
    is_alive,
    memory_bytes,
    owned_pid,
    read_pid,
    rss_bytes,
    spawn,
    stop,
    write_pid,
)

SLEEPER = "import time; time.sleep(120)"
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(120)"
)


@pytest.fixture
def spawned() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        stop(pid, timeout_s=2)


def test_spawned_process_is_detached_logged_and_stopped(tmp_path: Path, spawned: list[int]) -> None:
    log = tmp_path / "child.log"
    pid = spawn([sys.executable, "-c", "import os; print(os.getsid(0), flush=True); " + SLEEPER], log)
    spawned.append(pid)

    assert wait_until(lambda: log.read_text().strip() != "", timeout_s=10)
    assert int(log.read_text()) == pid  # leader of its own session
    assert stop(pid, timeout_s=5)
    assert not is_alive(pid)


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path, spawned: list[int]) -> None:
    log = tmp_path / "child.log"
    pid = spawn([sys.executable, "-c", STUBBORN], log)
    spawned.append(pid)
    assert wait_until(lambda: "ready" in log.read_text(), timeout_s=10)

    assert not stop(pid, timeout_s=0.3)
    assert not is_alive(pid)


def test_owned_pid_needs_every_marker_in_the_command_line(tmp_path: Path, spawned: list[int]) -> None:
    pid_path = tmp_path / "x.pid"
    pid = spawn([sys.executable, "-c", SLEEPER, "--marker", str(tmp_path)], tmp_path / "x.log")
    spawned.append(pid)
    write_pid(pid_path, pid)
    # under load /proc/<pid>/cmdline can still show the spawning interpreter for a moment
    assert wait_until(lambda: "--marker" in command_line(pid), timeout_s=10)

    assert owned_pid(pid_path, ["--marker", str(tmp_path)]) == pid
    assert owned_pid(pid_path, ["--marker", "/elsewhere"]) is None
    assert not pid_path.exists()  # a pid that is not ours is dropped


def test_a_pid_file_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    pid_path = tmp_path / "x.pid"
    pid = spawn([sys.executable, "-c", "pass"], tmp_path / "x.log")
    write_pid(pid_path, pid)
    assert wait_until(lambda: not is_alive(pid), timeout_s=10)

    assert read_pid(pid_path) == pid
    assert owned_pid(pid_path, []) is None
    assert not pid_path.exists()


def test_unreadable_pid_file_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / "x.pid").write_text("garbage")

    assert read_pid(tmp_path / "x.pid") is None
    assert read_pid(tmp_path / "missing.pid") is None


def test_memory_is_read_from_proc_status_in_bytes_and_none_when_unreadable() -> None:
    rss, peak = rss_bytes(os.getpid()), memory_bytes(os.getpid(), "VmHWM")
    assert rss is not None and peak is not None and 0 < rss <= peak
    assert rss % 1024 == 0  # /proc reports kB
    assert memory_bytes(os.getpid(), "NoSuchField") is None
    assert memory_bytes(2**22 + 1, "VmRSS") is None  # above the kernel's pid limit: no such process
