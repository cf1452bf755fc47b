-- Supporting documents of leave requests and of the outside consideration a CLTN needs, sealed under the
-- person's key like every personal datum: destroying the key erases the file. Not events: the log holds only
-- each file's SHA-256 (LeaveAttachmentsStored, ExternalApprovalRecorded).
CREATE TABLE leave_files (
    file_id     uuid PRIMARY KEY,
    request_id  uuid NOT NULL,
    sha256      text NOT NULL,
    media_type  text NOT NULL,
    size        int NOT NULL,
    sealed      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX leave_files_request ON leave_files (request_id);
