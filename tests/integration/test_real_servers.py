"""The integration suite talks to a real ClickHouse 26 and a real NATS JetStream, never a stand-in."""

from __future__ import annotations

import nats

from services.common.clickhouse import ConnectClickHouse

from .servers import Servers


def test_clickhouse_is_version_26(store: ConnectClickHouse, servers: Servers) -> None:
    (version,) = store.query_rows("SELECT version()")[0]
    assert str(version).startswith("26."), f"{servers.how} ClickHouse answered version {version}"


async def test_nats_has_jetstream(servers: Servers) -> None:
    client = await nats.connect(servers.nats_url)
    try:
        info = await client.jetstream().account_info()
        assert info.limits is not None
    finally:
        await client.close()
