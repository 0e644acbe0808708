"""Detached child processes: spawn in a new session, pid files, ownership checks, stop with escalation."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.stack.errors import StackError
from services.stack.ports import wait_until


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
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) not in ("Z", "X", "")


def _state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[0]


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def memory_bytes(pid: int, field: str) -> int | None:
    """A memory line of /proc/<pid>/status (``VmRSS``, ``VmHWM``, ...) in bytes, or None when it cannot be read."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return None


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` from /proc, or None when it cannot be read."""
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
    """SIGTERM, wait up to ``timeout_s``, then SIGKILL and wait again; True if it stopped politely."""
    if not _signal(pid, signal.SIGTERM):
        return True
    if wait_until(lambda: not is_alive(pid), timeout_s):
        return True
    _signal(pid, signal.SIGKILL)
    if not wait_until(lambda: not is_alive(pid), timeout_s):
        raise StackError(f"process {pid} survived SIGKILL for {timeout_s:.0f} s")
    return False


def _signal(pid: int, signum: signal.Signals) -> bool:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def log_tail(log_path: Path, lines: int = 30, skip: Sequence[str] = ("<Trace>", "<Debug>")) -> str:
    """The last ``lines`` lines of a log, leaving out lines holding any of ``skip`` (verbose levels)."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {log_path})"
    kept = [line for line in text.splitlines() if not any(noise in line for noise in skip)]
    return "\n".join(kept[-lines:])
