"""`workforce-ingest run | backfill FILE... | replay-dlq | asyncapi`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from services.common.logs import configure

from . import app
from .backfill import backfill, read_lines
from .brokers import make_adapter
from .errors import StoreSetupError
from .pipeline import Pipeline
from .pseudonymise import Pseudonymiser
from .settings import IngestSettings
from .writer import EventWriter


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
    configure(settings.log_level)
    try:
        return asyncio.run(app.serve(settings))
    except StoreSetupError as exc:
        print(f"workforce-ingest: {exc}", file=sys.stderr)
        return 2


def _backfill(args: argparse.Namespace) -> int:
    settings = _settings()
    configure(settings.log_level)
    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"workforce-ingest backfill: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    store = app.connect_store(settings)
    pipeline = Pipeline(
        EventWriter(store),
        Pseudonymiser(settings.pseudonym_key.get_secret_value().encode()),
        zone=settings.zone,
        broker="file",
        clock=app.utc_now,
        dead_letters=False,
    )
    total = sum(1 for p in paths for line in p.open("rb") if line.strip())
    with tqdm(total=total, unit="ev", desc="backfill", disable=args.quiet) as bar:
        summary = backfill(
            read_lines(paths, app.utc_now),
            pipeline,
            batch_size=settings.ingest_batch_size,
            progress=bar.update,
        )
    print(summary.line())
    store.close()
    return 0


def _replay(args: argparse.Namespace) -> int:
    settings = _settings()
    configure(settings.log_level)

    async def replay() -> int:
        adapter = make_adapter(settings.broker_url, app.channels_for(settings), clock=app.utc_now)
        try:
            return await adapter.replay_dead_letters(args.limit)
        finally:
            await adapter.close()

    moved = asyncio.run(replay())
    print(f"re-submitted {moved} dead-lettered messages")
    return 0


def _asyncapi(_: argparse.Namespace) -> int:
    settings = _settings()
    adapter = make_adapter(settings.broker_url, app.channels_for(settings), clock=app.utc_now)
    adapter.subscribe(_discard)
    print(json.dumps(app.asyncapi_document(adapter), indent=2, ensure_ascii=False))
    return 0


async def _discard(_: object) -> None:
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workforce-ingest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="consume the broker until SIGTERM").set_defaults(func=_run)
    back = commands.add_parser("backfill", help="store JSON Lines history through the same path")
    back.add_argument("files", nargs="+")
    back.add_argument("--quiet", action="store_true", help="no progress bar")
    back.set_defaults(func=_backfill)
    replay = commands.add_parser("replay-dlq", help="re-submit dead-lettered messages after a fix")
    replay.add_argument("--limit", type=int, default=None)
    replay.set_defaults(func=_replay)
    commands.add_parser("asyncapi", help="print the AsyncAPI document").set_defaults(func=_asyncapi)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
