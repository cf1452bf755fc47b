"""HTTP shapes of duties, check-ins, reports and piket rosters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.common import CleanStr, Day, LongText, Nip, ShortText


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckInIn(Body):
    """Where the ASN works now: coarse text and/or coordinates (rounded to what the pack needs before storing).

    Accepts the flat form `{text, lat, lon}` and the nested form `{location: {text, lat, lon}}` or
    `{location: "text"}`; `latitude`/`longitude` are read as `lat`/`lon`.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    text: ShortText | None = Field(default=None, description="coarse place, e.g. 'Masamba, rumah'")
    lat: float | None = Field(default=None, ge=-90, le=90, validation_alias=AliasChoices("lat", "latitude"))
    lon: float | None = Field(default=None, ge=-180, le=180, validation_alias=AliasChoices("lon", "longitude"))

    @model_validator(mode="before")
    @classmethod
    def _flatten_location(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "location" not in data:
            return data
        data = dict(data)
        location = data.pop("location")
        if isinstance(location, str):
            data.setdefault("text", location)
        elif isinstance(location, dict):
            for key, value in location.items():
                if key == "country":
                    continue
                data.setdefault(key, value)
        elif location is not None:
            raise ValueError("location harus teks atau objek {text, lat, lon}")
        return data


class AttachmentIn(Body):
    name: ShortText
    content_base64: Annotated[str, StringConstraints(max_length=3_000_000)]


class ReportIn(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["activity", "performance"] = Field(
        default="activity", validation_alias=AliasChoices("kind", "type", "report_kind")
    )
    day: Day | None = Field(default=None, validation_alias=AliasChoices("day", "date"))
    text: LongText = Field(validation_alias=AliasChoices("text", "content", "report", "body", "summary"))
    attachment: AttachmentIn | None = None


class AcknowledgeIn(Body):
    comment: Annotated[CleanStr, StringConstraints(max_length=2000)] | None = None


class PiketIn(Body):
    day: Day
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


class PiketOut(BaseModel):
    id: UUID
    day: date
    unit_code: str
    nips: list[str]
    timezone: str
    supersedes: UUID | None = Field(default=None, description="the earlier roster of this unit and day it replaces")
