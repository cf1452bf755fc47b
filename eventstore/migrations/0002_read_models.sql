-- Read models. Every table here is derived from events and can be dropped and rebuilt at any time
-- (`lentur projections rebuild`); none of them is a source of truth.

CREATE TABLE projection_checkpoints (
    name      text PRIMARY KEY,
    position  bigint NOT NULL DEFAULT 0
);

CREATE TABLE relay_cursor (
    name      text PRIMARY KEY,
    position  bigint NOT NULL DEFAULT 0
);

CREATE TABLE rm_people (
    nip            text PRIMARY KEY,
    name           text NOT NULL,
    employee_type  text NOT NULL,
    region         text NOT NULL,
    opd_code       text NOT NULL,
    opd_name       text NOT NULL,
    opd_class      text NOT NULL,
    unit_code      text NOT NULL,
    unit_name      text NOT NULL,
    roles          text[] NOT NULL,
    acting_for     text,
    email          text,
    phone          text
);
CREATE INDEX rm_people_unit ON rm_people (region, unit_code);

CREATE TABLE rm_directory (
    id             int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    sha256         text NOT NULL,
    position       bigint NOT NULL
);

CREATE TABLE rm_requests (
    request_id       uuid PRIMARY KEY,
    requester_nip    text NOT NULL,
    requester_name   text NOT NULL,
    region           text NOT NULL,
    opd_code         text NOT NULL,
    unit_code        text NOT NULL,
    kind             text NOT NULL,
    dates            date[] NOT NULL,
    country          text,
    personal         jsonb,
    status           text NOT NULL,
    round            int NOT NULL,
    current_step     int,
    current_tier     text,
    current_task_id  text,
    timezone         text,
    route            jsonb NOT NULL DEFAULT '[]',
    policy           jsonb,
    citations        jsonb NOT NULL DEFAULT '[]',
    caps             jsonb NOT NULL DEFAULT '[]',
    leave_debit      jsonb,
    obligations      jsonb NOT NULL DEFAULT '[]',
    decisions        jsonb NOT NULL DEFAULT '[]',
    refusal          jsonb,
    clock            text NOT NULL,
    submitted_at     timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          int NOT NULL,
    last_position    bigint NOT NULL
);
CREATE INDEX rm_requests_requester ON rm_requests (requester_nip, submitted_at DESC);
CREATE INDEX rm_requests_region ON rm_requests (region, submitted_at DESC);

CREATE TABLE rm_tasks (
    task_id          text PRIMARY KEY,
    request_id       uuid NOT NULL,
    region           text NOT NULL,
    opd_code         text NOT NULL,
    unit_code        text NOT NULL,
    requester_nip    text NOT NULL,
    kind             text NOT NULL,
    dates            date[] NOT NULL,
    round            int NOT NULL,
    step             int NOT NULL,
    tier             text NOT NULL,
    action           text NOT NULL,
    assignee_nip     text NOT NULL,
    escalated_to     text,
    status           text NOT NULL,           -- open | decided | closed
    assigned_at      timestamptz NOT NULL,
    remind_at        timestamptz,
    escalate_at      timestamptz,
    reminders        int NOT NULL DEFAULT 0,
    decision         text,
    actor            text,
    on_behalf_of     text,
    decided_at       timestamptz
);
CREATE INDEX rm_tasks_open_assignee ON rm_tasks (assignee_nip, assigned_at) WHERE status = 'open';
CREATE INDEX rm_tasks_open_escalated ON rm_tasks (escalated_to, assigned_at) WHERE status = 'open';
CREATE INDEX rm_tasks_request ON rm_tasks (request_id);

-- approved people away per unit and day (what the inbox and the OPD board show)
CREATE TABLE rm_unit_day (
    region      text NOT NULL,
    unit_code   text NOT NULL,
    day         date NOT NULL,
    kind        text NOT NULL,
    request_id  uuid NOT NULL,
    nip         text NOT NULL,
    PRIMARY KEY (request_id, day)
);
CREATE INDEX rm_unit_day_unit ON rm_unit_day (region, unit_code, day);

-- counted resources (unit caps, annual leave) as the quota streams say
CREATE TABLE rm_quotas (
    quota       text PRIMARY KEY,
    used        int NOT NULL,
    "limit"     int NOT NULL,
    position    bigint NOT NULL
);

CREATE TABLE rm_leave (
    nip         text NOT NULL,
    year        int NOT NULL,
    request_id  uuid NOT NULL,
    days        int NOT NULL,
    state       text NOT NULL,                -- reserved | consumed
    PRIMARY KEY (nip, year, request_id)
);

CREATE TABLE rm_delegations (
    delegation_id  uuid PRIMARY KEY,
    holder_nip     text NOT NULL,
    delegate_nip   text NOT NULL,
    tiers          text[] NOT NULL,
    valid_from     timestamptz NOT NULL,
    valid_to       timestamptz NOT NULL,
    revoked        boolean NOT NULL DEFAULT false
);
CREATE INDEX rm_delegations_delegate ON rm_delegations (delegate_nip);

CREATE TABLE rm_policy_packs (
    pack_id     text NOT NULL,
    version     text NOT NULL,
    sha256      text NOT NULL,
    region      text,
    text        text NOT NULL,
    position    bigint NOT NULL,
    PRIMARY KEY (pack_id, version)
);

-- the inspector's index over the log
CREATE TABLE rm_audit_index (
    position       bigint PRIMARY KEY,
    stream_id      text NOT NULL,
    type           text NOT NULL,
    actor          text NOT NULL,
    on_behalf_of   text,
    request_id     uuid,
    region         text,
    opd_code       text,
    subject_nip    text,
    occurred_at    timestamptz NOT NULL
);
CREATE INDEX rm_audit_subject ON rm_audit_index (subject_nip, position);
CREATE INDEX rm_audit_actor ON rm_audit_index (actor, position);
CREATE INDEX rm_audit_region ON rm_audit_index (region, opd_code, occurred_at);
