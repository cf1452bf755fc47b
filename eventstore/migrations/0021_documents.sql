-- Official letters. The PDF bytes live here, outside the event store; the DocumentIssued event (on a
-- letters-<region>-<opd>-<year> stream whose version is the letter's sequence number) records its SHA-256
-- and number, so the audit chain covers every letter.

CREATE TABLE documents (
    doc_id            text PRIMARY KEY,              -- unguessable; the verification URL carries it
    request_id        uuid NOT NULL,
    round             int NOT NULL,
    kind              text NOT NULL,
    letters_stream    text NOT NULL,
    sequence          int NOT NULL,
    number            text NOT NULL,
    sha256            text NOT NULL,
    pdf               bytea NOT NULL,
    issued_on         date NOT NULL,
    holder_nip        text NOT NULL,
    holder_name       text NOT NULL,
    signer_nip        text NOT NULL,
    signer_name       text NOT NULL,
    signer_title      text NOT NULL,
    on_behalf_of      text,
    region            text NOT NULL,
    opd_code          text NOT NULL,
    rendered_at       timestamptz NOT NULL,
    -- set from the events (the letters projection), never by the renderer
    issued_event_id   uuid,
    issued_position   bigint,
    issued_at         timestamptz,
    revoked_position  bigint,
    revoked_at        timestamptz,
    revoke_reason     text,
    UNIQUE (request_id, round, kind)
);
CREATE INDEX documents_request ON documents (request_id) WHERE issued_position IS NOT NULL;

-- work for the letter issuer: issue on approval, revoke on a cancelled approval
CREATE TABLE letter_jobs (
    job_id           text PRIMARY KEY,               -- issue:<request>:<round> | revoke:<request>:<round>
    action           text NOT NULL,
    request_id       uuid NOT NULL,
    round            int NOT NULL,
    kind             text NOT NULL,
    event_id         uuid NOT NULL,                  -- the RequestApproved / RequestCancelled that caused it
    position         bigint NOT NULL,
    status           text NOT NULL DEFAULT 'pending',-- pending | sending | retry | done | failed
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL,
    done_at          timestamptz
);
CREATE INDEX letter_jobs_due ON letter_jobs (position) WHERE status IN ('pending', 'retry', 'sending');
CREATE INDEX letter_jobs_request ON letter_jobs (request_id);
