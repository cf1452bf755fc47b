"""`lentur bench --only capacity`'s store and projection ceilings run against a real Postgres and report
rates that add up (a smoke test of the measuring code; the figures themselves are docs/CAPACITY.md's)."""

from __future__ import annotations

from deploy.bench.capacity import APPEND_BATCHES, append_ceiling, projection_ceiling
from deploy.infra import InfraAddresses


async def test_the_append_and_projection_ceilings_measure_every_batch_size(infra: InfraAddresses) -> None:
    admin_dsn = infra.database_url.rsplit("/", 1)[0] + "/postgres"
    appends = await append_ceiling(admin_dsn, 0.2)
    assert set(appends) == {str(b) for b in APPEND_BATCHES}
    for batch, row in appends.items():
        assert row["events_per_s"] > 0
        assert abs(row["events_per_s"] - row["calls_per_s"] * int(batch)) <= 0.1 * int(batch)
    projections = await projection_ceiling(admin_dsn, 20)
    assert set(projections) == {"read-models", "notifier"}
    for rows in projections.values():
        for row in rows.values():
            assert row["events"] == 20 * 7  # seven events per request history
            assert row["events_per_s"] > 0
