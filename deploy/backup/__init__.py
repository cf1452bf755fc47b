"""`lentur backup` and `lentur restore`: the one-machine stack in one file, and back.

The file is a tar holding a manifest and the parts it names (Temporal's SQLite database, the event store's
`pg_dump`, the simulated clock when there is one). docs/BACKUP.md explains the order and what is lost.
"""
