"""Every command line answers `--version` with the installed version, and so do the API documents (OpenAPI,
AsyncAPI); `--help` prints usage and writes nothing."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.grafana import generate as dashboards
from devtools import demo
from schemas.export import JSON_DIR
from services.common.cli import package_version
from services.ingest import cli as ingest_cli
from services.ingest.app import asyncapi_document
from services.ingest.brokers import Channels, make_adapter
from services.metrics import cli as metrics_cli
from services.metrics.openapi import OPENAPI
from services.sim import cli as sim_cli
from services.stack import cli as stack_cli

ROOT = Path(__file__).resolve().parents[2]
Main = Callable[[list[str]], int]
MAINS: dict[str, Main] = {
    "workforce-stack": stack_cli.main,
    "workforce-ingest": ingest_cli.main,
    "workforce-metrics": metrics_cli.main,
    "workforce-sim": sim_cli.main,
    "workforce-demo": demo.main,
    "python -m deploy.grafana.generate": dashboards.main,
}


def test_the_installed_version_is_the_one_in_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert package_version() == project["version"]


def test_the_openapi_and_asyncapi_documents_carry_the_package_version() -> None:
    adapter = make_adapter(  # nothing is connected: the document only describes the subscriber
        "nats://127.0.0.1:1", Channels("events", "dead.>", "EVENTS", "ingest", 10), clock=lambda: datetime.now(UTC)
    )
    asyncapi: dict[str, object] = asyncapi_document(adapter)
    assert asyncapi["info"] == {"title": "workforce-metrics ingest", "version": package_version()}
    assert OPENAPI["info"]["version"] == package_version()


@pytest.mark.parametrize(("prog", "main"), MAINS.items(), ids=list(MAINS))
def test_version_prints_the_package_version(prog: str, main: Main, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"{prog} {package_version()}\n"


@pytest.mark.parametrize(("prog", "main"), MAINS.items(), ids=list(MAINS))
def test_help_prints_usage_and_exits(prog: str, main: Main, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {prog} ")


def _snapshot(folder: Path) -> dict[Path, tuple[int, bytes]]:
    return {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize(
    ("module", "folder"), [("schemas.export", JSON_DIR), ("deploy.grafana.generate", dashboards.OUT)]
)
def test_help_of_a_generator_leaves_the_committed_files_alone(module: str, folder: Path) -> None:
    before = _snapshot(folder)
    assert before, f"{folder} holds the committed files"
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m {module} ")
    assert _snapshot(folder) == before


def test_a_rebuild_the_audit_holds_back_says_why_and_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from services.metrics import app
    from services.metrics.engine.audit import AuditReport

    def held(*_: object, **__: object) -> None:
        raise app.PublishHeld(AuditReport(passed=False, problem="still leaking after 30 rounds", leaks=["hires x"]))

    monkeypatch.setattr(app, "rebuild", held)
    assert metrics_cli.main(["rebuild"]) == 3
    err = capsys.readouterr().err
    assert "publish held back" in err and "still leaking after 30 rounds" in err and "hires x" in err
