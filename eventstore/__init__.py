"""The append-only, hash-chained event store on Postgres."""
