"""Check that the lock files agree with pyproject.toml: every pinned requirement at its pinned version, the
runtime lock without the `stack` extra. Exit 1 with what differs (then run `make lock`).

Standard library only: `make install` runs it before anything is installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_LOCK = ROOT / "requirements-dev.lock"
RUNTIME_LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s;#]+))?")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str | None]:
    """Name -> pinned version (None when not pinned with ==)."""
    found: dict[str, str | None] = {}
    for line in requirements:
        match = PIN.match(line)
        if match:
            found[normalize(match.group(1))] = match.group(2)
    return found


def locked(path: Path) -> dict[str, str | None]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line[0].isspace()]
    return pins([line for line in lines if not line.startswith(("#", "-"))])


def problems(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    name = normalize(project["name"])
    runtime = pins(project["dependencies"])
    extras = {extra: pins(reqs) for extra, reqs in project.get("optional-dependencies", {}).items()}
    dev = {**runtime, **extras.get("stack", {}), **extras.get("dev", {})}
    found = _missing(DEV_LOCK, locked(DEV_LOCK), dev, name)
    runtime_lock = locked(RUNTIME_LOCK)
    found += _missing(RUNTIME_LOCK, runtime_lock, runtime, name)
    stack_only = set(extras.get("stack", {})) - set(runtime)
    found += [f"{RUNTIME_LOCK.name}: holds {n}, from the stack extra" for n in sorted(stack_only & set(runtime_lock))]
    return found


def _missing(lock: Path, have: dict[str, str | None], wanted: dict[str, str | None], own: str) -> list[str]:
    out = []
    for req, version in sorted(wanted.items()):
        if req == own:
            continue
        if req not in have:
            out.append(f"{lock.name}: {req} is missing")
        elif version is not None and have[req] != version:
            out.append(f"{lock.name}: {req}=={have[req]}, pyproject.toml pins {version}")
    return out


def main() -> int:
    found = problems()
    for line in found:
        print(f"lock-check: {line}", file=sys.stderr)
    if found:
        print("lock-check: the lock files are older than pyproject.toml: run `make lock`", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
