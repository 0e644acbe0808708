"""`workforce-ingest run | backfill FILE... | replay-dlq | rekey --worker-ids FILE | asyncapi`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from services.common.cli import add_command, add_version
from services.common.logs import configure

from . import app
from .errors import StoreSetupError
from .settings import IngestSettings

SETTINGS_NOTE = "every command reads the environment variables that `workforce-ingest run --help` lists"


def _settings() -> IngestSettings:
    try:
        return IngestSettings()  # type: ignore[call-arg,unused-ignore]  # required values come from the environment
    except ValidationError as exc:
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]).upper()
            print(f"workforce-ingest: setting {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(_: argparse.Namespace) -> int:
    settings = _settings()
    configure(settings.log_level, settings.log_format)
    try:
        return asyncio.run(app.serve(settings))
    except StoreSetupError as exc:
        print(f"workforce-ingest: {exc}", file=sys.stderr)
        return 2


def _backfill(args: argparse.Namespace) -> int:
    settings = _settings()
    configure(settings.log_level, settings.log_format)
    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"workforce-ingest backfill: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    total = sum(1 for p in paths for line in p.open("rb") if line.strip())
    with tqdm(total=total, unit="ev", desc="backfill", disable=args.quiet) as bar:
        summary = app.backfill_files(settings, paths, progress=bar.update)
    print(summary.line())
    return 0


def _replay(args: argparse.Namespace) -> int:
    settings = _settings()
    configure(settings.log_level, settings.log_format)
    moved = asyncio.run(app.replay_dead_letters(settings, args.limit))
    print(f"re-submitted {moved} dead-lettered messages")
    return 0


def _rekey(args: argparse.Namespace) -> int:
    settings = _settings()
    configure(settings.log_level, settings.log_format)
    if not settings.previous_keys:
        print("workforce-ingest rekey: PSEUDONYM_KEYS_PREVIOUS names no key to re-key from", file=sys.stderr)
        return 2
    path = Path(args.worker_ids)
    if not path.is_file():
        print(f"workforce-ingest rekey: no such file: {path}", file=sys.stderr)
        return 2
    with path.open(encoding="utf-8") as lines:
        done = app.rekey_workers(settings, lines)
    print("\n".join(done.lines()))
    return 0


def _asyncapi(_: argparse.Namespace) -> int:
    print(json.dumps(app.asyncapi_for(_settings()), indent=2, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_version(argparse.ArgumentParser(prog="workforce-ingest", description=__doc__, epilog=SETTINGS_NOTE))
    commands = parser.add_subparsers(dest="command", required=True)
    add_command(commands, "run", "consume the broker until SIGTERM", IngestSettings).set_defaults(func=_run)
    back = add_command(commands, "backfill", "store JSON Lines history through the same path", IngestSettings)
    back.add_argument("files", nargs="+")
    back.add_argument("--quiet", action="store_true", help="no progress bar")
    back.set_defaults(func=_backfill)
    replay = add_command(commands, "replay-dlq", "re-submit dead-lettered messages after a fix", IngestSettings)
    replay.add_argument("--limit", type=int, default=None)
    replay.set_defaults(func=_replay)
    rekeying = add_command(
        commands,
        "rekey",
        "re-key stored worker keys from PSEUDONYM_KEYS_PREVIOUS to PSEUDONYM_KEY (docs/operations.md)",
        IngestSettings,
    )
    rekeying.add_argument("--worker-ids", required=True, help="clear worker ids, one a line (UTF-8)")
    rekeying.set_defaults(func=_rekey)
    add_command(commands, "asyncapi", "print the AsyncAPI document", IngestSettings).set_defaults(func=_asyncapi)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
