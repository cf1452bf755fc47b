-- Duties of approved flexible days and piket rosters (read models, rebuildable from events).
CREATE TABLE rm_duties (
    duty_id          text PRIMARY KEY,
    subject          text NOT NULL,
    request_id       uuid,
    nip              text NOT NULL,
    region           text NOT NULL,
    opd_code         text NOT NULL,
    unit_code        text NOT NULL,
    day              date NOT NULL,
    kind             text NOT NULL,
    label            text NOT NULL,
    opens_at         timestamptz NOT NULL,
    closes_at        timestamptz NOT NULL,
    late_allowed     boolean NOT NULL,
    report_to_nip    text NOT NULL,
    status           text NOT NULL,           -- pending | done | late | missed
    done_at          timestamptz,
    task_id          text,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    citation         jsonb
);
CREATE INDEX rm_duties_unit_day ON rm_duties (region, unit_code, day);
CREATE INDEX rm_duties_request ON rm_duties (request_id);
CREATE INDEX rm_duties_open_tasks ON rm_duties (report_to_nip) WHERE status = 'missed' AND acknowledged_at IS NULL;
CREATE UNIQUE INDEX rm_duties_task ON rm_duties (task_id) WHERE task_id IS NOT NULL;

CREATE TABLE rm_piket (
    roster_id   uuid PRIMARY KEY,
    region      text NOT NULL,
    opd_code    text NOT NULL,
    unit_code   text NOT NULL,
    day         date NOT NULL,
    nips        text[] NOT NULL,
    set_by      text NOT NULL
);

-- Report attachments live outside the event store (events carry only their hash), sealed per person.
CREATE TABLE report_attachments (
    sha256      text PRIMARY KEY,
    nip         text NOT NULL,
    name        text NOT NULL,
    size        int NOT NULL,
    sealed      jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
