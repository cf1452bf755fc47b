-- Permission to travel abroad: its purpose (dinas / pribadi) and the leave request a personal trip is linked
-- with; a piket roster replaced by a later one for the same unit and day.

ALTER TABLE rm_requests ADD COLUMN travel_purpose text;
ALTER TABLE rm_requests ADD COLUMN linked_request_id uuid;
CREATE INDEX rm_requests_linked ON rm_requests (linked_request_id) WHERE linked_request_id IS NOT NULL;

ALTER TABLE rm_piket ADD COLUMN superseded_by uuid;
CREATE INDEX rm_piket_unit_day ON rm_piket (region, unit_code, day) WHERE superseded_by IS NULL;
