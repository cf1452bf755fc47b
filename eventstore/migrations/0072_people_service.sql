-- The directory's optional pangkat/golongan, jabatan and start of continuous service (the leave form and
-- the service-length rules read them).
ALTER TABLE rm_people ADD COLUMN rank text;
ALTER TABLE rm_people ADD COLUMN position text;
ALTER TABLE rm_people ADD COLUMN service_start date;
