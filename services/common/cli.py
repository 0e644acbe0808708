"""What every command line of the project shares: ``--version`` from the installed distribution's metadata."""

from __future__ import annotations

import argparse
from importlib.metadata import version
from typing import Final

DISTRIBUTION: Final = "workforce-metrics"


def package_version() -> str:
    """The installed version of the project (``[project] version`` in pyproject.toml)."""
    return version(DISTRIBUTION)


def add_version(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give ``parser`` a ``--version`` option printing ``<prog> <version>`` and exiting 0."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return parser
