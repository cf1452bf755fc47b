"""Inputs and outputs of the compliance workflow."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from contracts.events import Sealed
from workflows.compliance.schedule import Duty


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


def compliance_workflow_id(subject: str) -> str:
    return "compliance-" + subject.replace(":", "-")


class ComplianceInput(Model):
    subject: str
    request_id: UUID | None = None
    region: str
    opd_code: str
    unit_code: str
    timezone: str
    participants: list[str]
    duties: list[Duty]
    location_precision_decimals: int | None = None
    late_grace: timedelta = timedelta(days=7)
    correlation_id: str
    policy: dict[str, Any] | None = None
    clock_offset_seconds: float = 0.0
    clock_mode: Literal["real", "simulated"] = "real"


class CheckInCommand(Model):
    actor: str
    location: Sealed | None = None


class ReportCommand(Model):
    actor: str
    report_kind: Literal["activity", "performance"]
    day: date | None = None
    text: Sealed | None = None
    attachment_sha256: str | None = None
    attachment_name: str | None = None
    attachment_bytes: int | None = None


class DutyOutcome(Model):
    duty_id: str
    status: str
    late: bool
    last_position: int


class DutyState(Model):
    duty: Duty
    status: Literal["pending", "done", "late", "missed"]
    task_id: str | None = None
