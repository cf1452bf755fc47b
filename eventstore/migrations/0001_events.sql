-- The event store. Rows are inserted by lentur_append() only and never change afterwards.
CREATE TABLE events (
    position        bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           text        NOT NULL,
    on_behalf_of    text,
    correlation_id  text        NOT NULL,
    causation_id    text,
    policy          jsonb,
    clock           text        NOT NULL,
    payload         jsonb       NOT NULL,
    content_hash    text        NOT NULL,
    prev_hash       text,
    hash            text        NOT NULL,
    chain_hash      text        NOT NULL,
    UNIQUE (stream_id, version)
);
CREATE INDEX events_type_position ON events (type, position);

CREATE FUNCTION lentur_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION lentur_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION lentur_refuse_change();

CREATE FUNCTION lentur_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE FUNCTION lentur_sha256(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(t, 'UTF8')), 'hex')
$$;

-- Appends a batch of units of work under one global lock, so positions are gap-free and become visible in
-- order (the lock is released only after commit). Each unit is all-or-nothing and fails on its own:
--   status 'ok'        appended
--   status 'duplicate' every event id already stored with the same content (idempotent retry)
--   status 'id_conflict'      an event id is stored with different content
--   status 'version_conflict' a stream's version is not what the unit expected
-- p_expected: -1 = any version; 0 = the stream must be empty; n = its last version must be n.
CREATE FUNCTION lentur_append(
    p_unit int[], p_expected bigint[], p_event_id uuid[], p_stream_id text[], p_type text[],
    p_schema_version int[], p_occurred_at timestamptz[], p_actor text[], p_on_behalf_of text[],
    p_correlation_id text[], p_causation_id text[], p_policy jsonb[], p_clock text[], p_payload jsonb[],
    p_content_hash text[]
) RETURNS TABLE (unit int, status text, event_id uuid, stream_id text, version int, "position" bigint,
                 recorded_at timestamptz, prev_hash text, hash text, chain_hash text, detail text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    n int := coalesce(array_length(p_unit, 1), 0);
    i int;
    j int;
    u int;
    first_i int;
    last_i int;
    head_pos bigint;
    head_chain text;
    cur_version int;
    cur_hash text;
    existing record;
    found_count int;
    bad text;
    new_version int;
    new_hash text;
    now_ts timestamptz;
    stream_versions jsonb;
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(7461626);
    SELECT e.position, e.chain_hash INTO head_pos, head_chain FROM events e ORDER BY e.position DESC LIMIT 1;
    head_pos := coalesce(head_pos, 0);
    now_ts := clock_timestamp();

    i := 1;
    WHILE i <= n LOOP
        u := p_unit[i];
        first_i := i;
        WHILE i <= n AND p_unit[i] = u LOOP
            i := i + 1;
        END LOOP;
        last_i := i - 1;

        -- idempotency by event id
        found_count := 0;
        bad := NULL;
        FOR j IN first_i..last_i LOOP
            SELECT e.content_hash INTO existing FROM events e WHERE e.event_id = p_event_id[j];
            IF FOUND THEN
                found_count := found_count + 1;
                IF existing.content_hash <> p_content_hash[j] THEN
                    bad := 'event ' || p_event_id[j] || ' is already stored with different content';
                END IF;
            END IF;
        END LOOP;
        IF bad IS NOT NULL OR (found_count > 0 AND found_count < last_i - first_i + 1) THEN
            RETURN QUERY SELECT u, 'id_conflict'::text, NULL::uuid, NULL::text, NULL::int, NULL::bigint,
                NULL::timestamptz, NULL::text, NULL::text, NULL::text,
                coalesce(bad, 'some events of this unit are stored, others are not');
            CONTINUE;
        END IF;
        IF found_count > 0 THEN
            RETURN QUERY SELECT u, 'duplicate'::text, e.event_id, e.stream_id, e.version, e.position,
                e.recorded_at, e.prev_hash, e.hash, e.chain_hash, NULL::text
                FROM events e WHERE e.event_id = ANY (p_event_id[first_i:last_i]) ORDER BY e.position;
            CONTINUE;
        END IF;

        -- optimistic concurrency: check each stream's expected version once per unit
        bad := NULL;
        stream_versions := '{}'::jsonb;
        FOR j IN first_i..last_i LOOP
            IF stream_versions ? p_stream_id[j] THEN
                CONTINUE;
            END IF;
            SELECT e.version INTO cur_version FROM events e
                WHERE e.stream_id = p_stream_id[j] ORDER BY e.version DESC LIMIT 1;
            cur_version := coalesce(cur_version, 0);
            stream_versions := stream_versions || jsonb_build_object(p_stream_id[j], cur_version);
            IF p_expected[j] >= 0 AND p_expected[j] <> cur_version THEN
                bad := format('stream %s is at version %s, expected %s', p_stream_id[j], cur_version, p_expected[j]);
                EXIT;
            END IF;
        END LOOP;
        IF bad IS NOT NULL THEN
            RETURN QUERY SELECT u, 'version_conflict'::text, NULL::uuid, NULL::text, NULL::int, NULL::bigint,
                NULL::timestamptz, NULL::text, NULL::text, NULL::text, bad;
            CONTINUE;
        END IF;

        FOR j IN first_i..last_i LOOP
            SELECT e.version, e.hash INTO cur_version, cur_hash FROM events e
                WHERE e.stream_id = p_stream_id[j] ORDER BY e.version DESC LIMIT 1;
            IF NOT FOUND THEN
                cur_version := 0;
                cur_hash := NULL;
            END IF;
            new_version := cur_version + 1;
            head_pos := head_pos + 1;
            new_hash := lentur_sha256(coalesce(cur_hash, '') || '|' || p_content_hash[j] || '|' || p_stream_id[j]
                || '|' || new_version || '|' || head_pos || '|' || lentur_ts(now_ts));
            head_chain := lentur_sha256(coalesce(head_chain, '') || '|' || new_hash || '|' || head_pos);
            INSERT INTO events (position, event_id, stream_id, version, type, schema_version, occurred_at,
                recorded_at, actor, on_behalf_of, correlation_id, causation_id, policy, clock, payload,
                content_hash, prev_hash, hash, chain_hash)
            VALUES (head_pos, p_event_id[j], p_stream_id[j], new_version, p_type[j], p_schema_version[j],
                p_occurred_at[j], now_ts, p_actor[j], p_on_behalf_of[j], p_correlation_id[j], p_causation_id[j],
                p_policy[j], p_clock[j], p_payload[j], p_content_hash[j], cur_hash, new_hash, head_chain);
            RETURN QUERY SELECT u, 'ok'::text, p_event_id[j], p_stream_id[j], new_version, head_pos, now_ts,
                cur_hash, new_hash, head_chain, NULL::text;
        END LOOP;
    END LOOP;
    PERFORM pg_notify('lentur_events', head_pos::text);
END $$;
