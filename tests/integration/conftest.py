"""Fixtures shared by the integration tests of the audit log."""

from tests.integration.audit_log import tampered, template  # noqa: F401 - fixtures are found by name
