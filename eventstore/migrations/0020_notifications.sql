-- Notifications. Unlike the rm_* tables these are effects, not disposable read models: a rebuild must never
-- mail anyone twice, so rows are keyed by the event that caused them and written in the same transaction
-- as the notifier's checkpoint.

-- who was told what (the in-app list is read from here)
CREATE TABLE notifications (
    id             uuid PRIMARY KEY,                 -- uuid5(event id, recipient, kind)
    event_id       uuid NOT NULL,
    position       bigint NOT NULL,
    recipient_nip  text NOT NULL,
    region         text,
    kind           text NOT NULL,
    request_id     uuid,
    task_id        text,                             -- for task notices: a mail about a decided task is dropped
    title          text NOT NULL,
    body           text NOT NULL,
    link           text,
    created_at     timestamptz NOT NULL,             -- the event's time
    read_at        timestamptz,
    UNIQUE (event_id, recipient_nip, kind)
);
CREATE INDEX notifications_recipient ON notifications (recipient_nip, created_at DESC, position DESC);
CREATE INDEX notifications_unread ON notifications (recipient_nip) WHERE read_at IS NULL;

-- the delivery outbox: one row per notification and outside channel, worked by the delivery loop
CREATE TABLE notification_deliveries (
    id               uuid PRIMARY KEY,               -- uuid5(notification id, channel)
    notification_id  uuid NOT NULL REFERENCES notifications (id),
    recipient_nip    text NOT NULL,
    region           text,
    channel          text NOT NULL,                  -- email | webhook
    address          text,                           -- the mailbox, or the phone handed to the gateway
    digest           boolean NOT NULL DEFAULT false, -- held for the recipient's daily digest
    status           text NOT NULL DEFAULT 'pending',-- pending | sending | retry | sent | failed | skipped
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    last_error       text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    UNIQUE (notification_id, channel)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'retry', 'sending');
CREATE INDEX notification_deliveries_status ON notification_deliveries (region, status, created_at DESC);

-- the latest NotificationPreferencesSet per person, folded by the notifier in event order
CREATE TABLE notification_preferences (
    nip        text PRIMARY KEY,
    email      boolean NOT NULL,
    webhook    boolean NOT NULL,
    digest     boolean NOT NULL,
    position   bigint NOT NULL
);
