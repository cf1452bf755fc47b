-- Per-person data keys for crypto-shredding. Not events: destroying a key erases the personal data it
-- sealed while every event (which stores only ciphertext) keeps its hash.
CREATE TABLE subject_keys (
    kid           text PRIMARY KEY,
    nip           text NOT NULL,
    purpose       text NOT NULL,
    period        text NOT NULL,
    wrapped_key   bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    destroyed_at  timestamptz
);
CREATE INDEX subject_keys_period ON subject_keys (purpose, period) WHERE destroyed_at IS NULL;
