"""``workforce-sim generate --out FILE.jsonl [--workers N] [--start-year Y] [--end DATE] [--seed S]``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from typing import IO

from services.common.cli import add_version
from services.sim.generate import Event, SimConfig, generate

PROGRESS_EVERY = 250_000


def _parser() -> argparse.ArgumentParser:
    parser = add_version(
        argparse.ArgumentParser(prog="workforce-sim", description="Simulated union social-worker events.")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write events as JSON Lines")
    gen.add_argument("--out", required=True, help="output file (JSON Lines, UTF-8); '-' for stdout")
    gen.add_argument("--workers", type=int, default=SimConfig.workers, help="target headcount at the end")
    gen.add_argument("--start-year", type=int, default=SimConfig.start_year, help="first simulated year")
    gen.add_argument("--end", type=date.fromisoformat, default=SimConfig.end, help="last simulated day")
    gen.add_argument("--seed", type=int, default=SimConfig.seed)
    gen.add_argument(
        "--scenario",
        choices=("seed", "none"),
        default="seed",
        help="'seed' overlays the program's published facts (default)",
    )
    gen.add_argument("--stats", action="store_true", help="print counts by event type")
    gen.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def write_events(events: Iterable[Event], out: IO[str], progress: IO[str] | None = None) -> Counter[str]:
    """Write one JSON object per line; returns the counts by event type."""
    counts: Counter[str] = Counter()
    started = time.monotonic()
    for n, event in enumerate(events, 1):
        out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        counts[event["event_type"]] += 1
        if progress is not None and n % PROGRESS_EVERY == 0:
            rate = n / max(time.monotonic() - started, 1e-9)
            print(f"{n:,} events ({rate:,.0f}/s)", file=progress, flush=True)
    return counts


def _print_stats(counts: Counter[str], seconds: float, stream: IO[str]) -> None:
    total = sum(counts.values())
    for event_type, count in sorted(counts.items()):
        print(f"{event_type:28} {count:>12,}", file=stream)
    print(f"{'total':28} {total:>12,}  ({seconds:.1f} s, {total / max(seconds, 1e-9):,.0f} events/s)", file=stream)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = SimConfig(args.workers, args.start_year, args.end, args.seed, args.scenario == "seed")
    progress = None if args.quiet else sys.stderr
    started = time.monotonic()
    events = generate(config, warn=_warn)
    if args.out == "-":
        counts = write_events(events, sys.stdout, progress)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as out:
            counts = write_events(events, out, progress)
    if args.stats:
        _print_stats(counts, time.monotonic() - started, sys.stderr if args.out == "-" else sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
