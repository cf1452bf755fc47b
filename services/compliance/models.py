"""HTTP shapes of duties, check-ins, reports and piket rosters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.common import CleanStr, LongText, Nip, ShortText


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckInIn(Body):
    text: ShortText | None = Field(default=None, description="coarse place, e.g. 'Masamba, rumah'")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class AttachmentIn(Body):
    name: ShortText
    content_base64: Annotated[str, StringConstraints(max_length=3_000_000)]


class ReportIn(Body):
    kind: Literal["activity", "performance"] = "activity"
    day: date | None = None
    text: LongText
    attachment: AttachmentIn | None = None


class AcknowledgeIn(Body):
    comment: Annotated[CleanStr, StringConstraints(max_length=2000)] | None = None


class PiketIn(Body):
    day: date
    nips: Annotated[list[Nip], Field(min_length=1, max_length=200)]
    unit_code: ShortText | None = None


class DutyOut(BaseModel):
    duty_id: str
    subject: str
    request_id: UUID | None
    nip: str
    unit_code: str
    day: date
    kind: str
    label: str
    opens_at: datetime
    closes_at: datetime
    status: str
    done_at: datetime | None
    task_id: str | None
    acknowledged_at: datetime | None
    report_to_nip: str


class DutyResultOut(BaseModel):
    duty: DutyOut
    late: bool


class DutyListOut(BaseModel):
    items: list[DutyOut]


class PiketOut(BaseModel):
    id: UUID
    day: date
    unit_code: str
    nips: list[str]
    timezone: str
