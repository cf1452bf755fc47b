"""The embedded stack's own clients reach Postgres through its Unix-domain socket, and so do its tools."""

from __future__ import annotations

import subprocess

import asyncpg

from deploy.infra import InfraAddresses, postgres_tool


async def test_the_stacks_connections_come_through_the_socket_not_tcp(infra: InfraAddresses) -> None:
    conn = await asyncpg.connect(infra.database_url)
    try:
        client = await conn.fetchrow(
            "SELECT client_addr, client_port FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
    finally:
        await conn.close()
    # a TCP client has an address and a port; a socket client has neither (port -1)
    assert client["client_addr"] is None and client["client_port"] == -1


async def test_pg_dump_reads_the_same_url_with_another_database_named_in_it(fresh_db: str) -> None:
    # fresh_db is the stack's URL with its last part replaced, as the backup and the benches name databases
    done = subprocess.run(
        [postgres_tool("pg_dump"), "--schema-only", "--table=events", fresh_db],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "CREATE TABLE public.events" in done.stdout
    assert "%2F" in fresh_db  # through the socket, as the stack's own clients
