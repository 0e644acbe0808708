"""Detached child processes: spawn in a new session, pid files, ownership checks, stop with escalation.

Liveness, command lines, descendants, signals and memory go through psutil (the `[stack]` extra), not /proc.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import psutil

from services.stack.errors import StackError

_GONE: Final = frozenset({psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD})
_PEAK: Final = "VmHWM"
# /proc/<pid>/status names (the callers' vocabulary) -> fields of psutil's memory_info()
_PSUTIL_FIELDS: Final = {"VmRSS": "rss", "VmSize": "vms"}


def spawn(argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` (absolute executable path first) detached in its own session; return its pid.

    stdin is /dev/null; stdout and stderr go to ``log_path`` (truncated), so a failure can be shown
    from the log's tail. posix_spawn leaves no Popen object whose finalizer would warn while the
    child outlives the caller.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    environment = dict(os.environ if env is None else env)
    return os.posix_spawn(argv[0], list(argv), environment, file_actions=file_actions, setsid=True)


def write_pid(pid_path: Path, pid: int) -> None:
    """Write the pid file atomically."""
    tmp = pid_path.with_suffix(".pid.tmp")
    tmp.write_text(f"{pid}\n", encoding="ascii")
    tmp.replace(pid_path)


def read_pid(pid_path: Path) -> int | None:
    try:
        return int(pid_path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def is_alive(pid: int) -> bool:
    """True when ``pid`` runs (a zombie child of ours is reaped and counts as gone)."""
    with contextlib.suppress(ChildProcessError):  # not our child: init reaps it
        os.waitpid(pid, os.WNOHANG)
    try:
        return psutil.Process(pid).status() not in _GONE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def command_line(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def memory_bytes(pid: int, field: str) -> int | None:
    """A memory figure of ``pid`` in bytes, or None when it cannot be read.

    ``field`` keeps the names of /proc/<pid>/status: ``VmRSS`` (resident set), ``VmSize`` (virtual size), read
    through psutil on any platform; ``VmHWM`` (peak resident set) where the platform keeps one (Linux, Windows).
    """
    try:
        process = psutil.Process(pid)
        if field == _PEAK:
            return _peak_rss(process)
        name = _PSUTIL_FIELDS.get(field)
        return None if name is None else int(getattr(process.memory_info(), name))
    except psutil.Error:
        return None


def _peak_rss(process: psutil.Process) -> int | None:
    peak = getattr(process.memory_info(), "peak_wset", None)  # Windows
    if peak is not None:
        return int(peak)
    # psutil has no peak on Linux: the kernel's high-water mark, VmHWM of /proc/<pid>/status
    try:
        status = Path(f"/proc/{process.pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    lines = [line.split() for line in status.splitlines() if line.startswith(f"{_PEAK}:")]
    return int(lines[0][1]) * 1024 if lines else None


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid``, or None when it cannot be read."""
    return memory_bytes(pid, "VmRSS")


def owned_pid(pid_path: Path, markers: Sequence[str]) -> int | None:
    """The pid in ``pid_path`` if that process runs and its command line holds every marker.

    A pid file naming a dead process, or a pid reused by an unrelated process, is removed.
    """
    pid = read_pid(pid_path)
    if pid is None:
        pid_path.unlink(missing_ok=True)
        return None
    if is_alive(pid) and all(marker in command_line(pid) for marker in markers):
        return pid
    pid_path.unlink(missing_ok=True)
    return None


def stop(pid: int, timeout_s: float) -> bool:
    """Terminate ``pid`` and its descendants, wait up to ``timeout_s``, then kill the survivors and wait again.

    True if every one stopped politely; StackError if one survives the kill.
    """
    try:
        leader = psutil.Process(pid)
        family = [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return True
    _send(family, psutil.Process.terminate)
    _, alive = psutil.wait_procs(family, timeout=timeout_s)
    if not alive:
        return True
    _send(alive, psutil.Process.kill)
    _, survivors = psutil.wait_procs(alive, timeout=timeout_s)
    if survivors:
        pids = ", ".join(str(p.pid) for p in survivors)
        raise StackError(f"process {pids} survived SIGKILL for {timeout_s:.0f} s")
    return False


def _send(processes: Sequence[psutil.Process], action: Callable[[psutil.Process], None]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            action(process)


def log_tail(log_path: Path, lines: int = 30, skip: Sequence[str] = ("<Trace>", "<Debug>")) -> str:
    """The last ``lines`` lines of a log, leaving out lines holding any of ``skip`` (verbose levels)."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {log_path})"
    kept = [line for line in text.splitlines() if not any(noise in line for noise in skip)]
    return "\n".join(kept[-lines:])
