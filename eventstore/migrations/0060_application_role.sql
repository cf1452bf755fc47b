-- The application's database role. Migrations run as the schema owner; the API, worker and projector log
-- in as a member of `lentur_app`, which may read everything, append events and maintain the read models,
-- but can never change or remove an event: not even with the append-only trigger disabled, because the
-- table's privileges themselves refuse it. The role owns nothing, so it cannot alter or drop a table either.
--
-- Production creates its login once, e.g.  CREATE ROLE lentur_api LOGIN PASSWORD '…' IN ROLE lentur_app;
-- Roles are shared by every database of a cluster, hence the guarded creation.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lentur_app') THEN
        CREATE ROLE lentur_app NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;  -- created meanwhile by a migration of another database
END $$;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO lentur_app', current_database());
END $$;
GRANT USAGE ON SCHEMA public TO lentur_app;

GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO lentur_app;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO lentur_app;

-- The log: read and append (through lentur_append) only.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON events FROM lentur_app;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON events FROM PUBLIC;
-- Only the owner records migrations.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM lentur_app;

-- Tables that later migrations create (as the same owner) are open to the app the same way; a migration that
-- adds another append-only table revokes on it as above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO lentur_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO lentur_app;
