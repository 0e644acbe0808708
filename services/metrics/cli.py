"""`workforce-metrics run | rebuild | load-reference-wages FILE`."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pydantic import ValidationError

from services.common.cli import add_command, add_version
from services.common.logs import configure

from . import app
from .settings import MetricsSettings

REFERENCE_COLUMNS = ("region", "year", "annual_amount", "source")
SETTINGS_NOTE = "every command reads the environment variables that `workforce-metrics run --help` lists"


def _settings() -> MetricsSettings:
    try:
        return MetricsSettings()
    except ValidationError as exc:
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]).upper()
            print(f"workforce-metrics: setting {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(_: argparse.Namespace) -> int:
    settings = _settings()
    configure(settings.log_level, settings.log_format)
    try:
        return app.run(settings)
    except app.SettingsConflict as exc:
        print(f"workforce-metrics: {exc}", file=sys.stderr)
        return 2


def _rebuild(_: argparse.Namespace) -> int:
    settings = _settings()
    configure(settings.log_level, settings.log_format)
    try:
        report = app.rebuild(settings, progress=lambda line: print(line, file=sys.stderr))
    except app.SettingsConflict as exc:
        print(f"workforce-metrics: {exc}", file=sys.stderr)
        return 2
    except app.PublishHeld as exc:
        print(f"workforce-metrics: {exc}; nothing was published (docs/operations.md)", file=sys.stderr)
        for leak in exc.audit.leaks[:5]:
            print(f"  still too narrow: {leak}", file=sys.stderr)
        return 3
    if report is not None:
        print(
            f"rebuilt as of {report.as_of}: {report.events} events, {report.rows_written} rows in "
            f"{len(report.years_written)} years, {report.anomalies} anomalies, {report.seconds:.1f}s"
        )
    return 0


def parse_reference_wages(path: Path) -> list[tuple[str, int, float, str]]:
    """CSV with header region,year,annual_amount,source; every row must cite its source."""
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REFERENCE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (need {','.join(REFERENCE_COLUMNS)})")
        for number, record in enumerate(reader, start=2):
            try:
                year, amount = int(record["year"]), float(record["annual_amount"])
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
            if not record["source"].strip():
                raise ValueError(f"{path}:{number}: source is empty; cite where the wage was published")
            if amount <= 0 or not 1990 <= year <= 2100:
                raise ValueError(f"{path}:{number}: implausible year {year} or amount {amount}")
            rows.append((record["region"].strip(), year, amount, record["source"].strip()))
    return rows


def _load_wages(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        rows = parse_reference_wages(Path(args.file))
    except (OSError, ValueError) as exc:
        print(f"workforce-metrics load-reference-wages: {exc}", file=sys.stderr)
        return 2
    loaded = app.load_reference_wages(settings, rows)
    print(f"loaded {loaded} reference wages; the next refresh recomputes pay vs reference")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_version(argparse.ArgumentParser(prog="workforce-metrics", description=__doc__, epilog=SETTINGS_NOTE))
    commands = parser.add_subparsers(dest="command", required=True)
    add_command(commands, "run", "serve the API and keep indicators current", MetricsSettings).set_defaults(func=_run)
    add_command(commands, "rebuild", "recompute and republish every indicator", MetricsSettings).set_defaults(
        func=_rebuild
    )
    wages = add_command(commands, "load-reference-wages", "load region,year,annual_amount,source CSV", MetricsSettings)
    wages.add_argument("file")
    wages.set_defaults(func=_load_wages)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
