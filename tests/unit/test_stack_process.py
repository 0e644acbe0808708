from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from services.stack.errors import StackError
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
# prints the pid of a child it starts, then sleeps: a process with a descendant
PARENT = (
    "import subprocess, sys, time; "
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "print(child.pid, flush=True); time.sleep(120)"
)
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


def test_memory_is_read_in_bytes_and_none_when_unreadable() -> None:
    rss, peak = rss_bytes(os.getpid()), memory_bytes(os.getpid(), "VmHWM")
    assert rss is not None and peak is not None and 0 < rss <= peak
    assert rss % 1024 == 0  # whole pages
    assert memory_bytes(os.getpid(), "NoSuchField") is None
    assert memory_bytes(2**22 + 1, "VmRSS") is None  # above the kernel's pid limit: no such process


def test_memory_names_map_to_psutil_figures() -> None:
    size = memory_bytes(os.getpid(), "VmSize")
    rss = rss_bytes(os.getpid())
    assert size is not None and rss is not None and rss <= size
    assert abs(rss - psutil.Process().memory_info().rss) < 64 * 2**20  # the same figure, read moments apart


def test_stop_ends_the_children_of_the_process_too(tmp_path: Path, spawned: list[int]) -> None:
    log = tmp_path / "parent.log"
    pid = spawn([sys.executable, "-c", PARENT], log)
    spawned.append(pid)
    assert wait_until(lambda: log.read_text().strip() != "", timeout_s=10)
    child = int(log.read_text())
    assert is_alive(child)

    assert stop(pid, timeout_s=5)
    assert wait_until(lambda: not is_alive(child), timeout_s=5)


def test_stopping_a_gone_process_is_a_polite_no_op(tmp_path: Path) -> None:
    pid = spawn([sys.executable, "-c", "pass"], tmp_path / "x.log")
    assert wait_until(lambda: not is_alive(pid), timeout_s=10)

    assert stop(pid, timeout_s=1)
    assert command_line(pid) == []


def test_a_process_surviving_the_kill_is_an_error(
    tmp_path: Path, spawned: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = spawn([sys.executable, "-c", SLEEPER], tmp_path / "x.log")
    spawned.append(pid)

    def nobody_exits(procs: list[psutil.Process], timeout: float) -> tuple[list[psutil.Process], list[psutil.Process]]:
        return [], list(procs)

    monkeypatch.setattr(psutil, "wait_procs", nobody_exits)
    with pytest.raises(StackError, match=f"process {pid} survived SIGKILL"):
        stop(pid, timeout_s=0.1)
    monkeypatch.undo()
    assert wait_until(lambda: not is_alive(pid), timeout_s=10)  # it was killed all the same


def test_a_running_process_that_is_not_our_child_is_alive() -> None:
    assert is_alive(1)
