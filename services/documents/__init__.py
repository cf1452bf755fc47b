"""Official letters: surat izin cuti and letters of permission, numbered, signed, and verifiable by anyone."""
