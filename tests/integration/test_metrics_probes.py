"""The metrics service's probe port (METRICS_HEALTH_PORT) as a real process over a real ClickHouse: /health and
/ready answer there as on the API port, /ready follows ClickHouse while /health does not ask it, and the port
closes with the service."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from services.common.clickhouse import ConnectClickHouse
from services.stack.ports import free_port

from .harness import http_status, start_metrics_process, stop_process, wait_for
from .servers import Servers
from .test_metrics_service import AS_OF, _Relay, _simulated, _store_events


def _probe(port: int, path: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())


async def test_the_probe_port_answers_health_and_ready_and_ready_follows_clickhouse(
    servers: Servers, store: ConnectClickHouse, database: str
) -> None:
    _store_events(store, _simulated(workers=10))
    relay = _Relay(servers.clickhouse_url)
    port, probes = free_port(), free_port()
    env = {"METRICS_HEALTH_PORT": str(probes), "METRICS_AS_OF": AS_OF.isoformat(), "METRICS_K": "1"}
    proc = start_metrics_process(relay.url, database, port, **env)
    try:
        await wait_for(lambda: http_status(port, "/ready") == 200, timeout=120, what="metrics /ready")
        await wait_for(lambda: _probe(probes, "/ready")[0] == 200, timeout=10, what="/ready on the probe port")
        status, body = _probe(probes, "/health")
        assert status == 200 and body["detail"].startswith("event loop ran "), body
        assert _probe(probes, "/ready")[1] == {"status": "ready", "detail": "indicators published"}
        assert _probe(probes, "/indicators")[0] == 404  # the API is not served here

        relay.close()  # ClickHouse unreachable from now on
        await wait_for(lambda: _probe(probes, "/ready")[0] == 503, timeout=15, what="/ready 503 on the probe port")
        assert _probe(probes, "/ready")[1] == {"status": "not ready", "detail": "clickhouse=down"}
        assert _probe(probes, "/health")[0] == 200 and http_status(port, "/health") == 200
    finally:
        relay.close()
        assert await stop_process(proc) == 0
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", probes)) != 0  # closed with the service
