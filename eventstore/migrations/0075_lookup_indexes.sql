-- Lookups on an approval's path that no index served, so each read its whole table however large it had grown
-- (tests/integration/test_reads_at_scale.py):
-- the notifier reads the people a batch names together with whoever stands in for them (a Plt/Plh) ...
CREATE INDEX rm_people_acting_for ON rm_people (acting_for) WHERE acting_for IS NOT NULL;
-- ... and the delegations those people granted;
CREATE INDEX rm_delegations_holder ON rm_delegations (holder_nip) WHERE NOT revoked;
-- the read models load a request's leave rows by request (the key begins with the person and year).
CREATE INDEX rm_leave_request ON rm_leave (request_id);
