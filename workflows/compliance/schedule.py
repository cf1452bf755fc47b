"""The duties an approved request (or a piket roster) carries, as concrete moments in the region's zone. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.common import Citation, Tier
from contracts.evaluation import Obligation
from contracts.zones import fixed_zone, zone_label_for_offset

DutyKind = Literal["checkin", "activity_report", "performance_report"]
END_OF_DAY = time(23, 59, 59)


class Duty(BaseModel):
    model_config = ConfigDict(frozen=True)

    duty_id: str
    nip: str
    day: date
    kind: DutyKind
    label: str
    opens_at: datetime
    closes_at: datetime
    late_allowed: bool
    report_to_nip: str
    citation: Citation | None = None


def _at(day: date, moment: time, zone: str) -> datetime:
    return datetime.combine(day, moment, fixed_zone(zone))


def duties_for(
    *,
    subject: str,
    nip: str,
    days: Iterable[date],
    obligations: Iterable[Obligation],
    timezone: str,
    superiors: Mapping[Tier, str],
) -> list[Duty]:
    """Expand obligations into duties: one per check-in window per day, a daily report, a final report."""
    ordered = sorted(set(days))
    if not ordered:
        return []
    duties: list[Duty] = []

    def superior(tier: Tier) -> str:
        return superiors.get(tier) or next(iter(superiors.values()))

    for ob in obligations:
        to = superior(ob.report_to)
        if ob.kind in ("location_checkin", "e_presensi"):
            windows = ob.windows or ()
            for day in ordered:
                for w in windows:
                    duties.append(
                        Duty(
                            duty_id=f"{subject}:{nip}:{day.isoformat()}:{ob.kind}:{w.label}",
                            nip=nip,
                            day=day,
                            kind="checkin",
                            label=f"{'e-presensi' if ob.kind == 'e_presensi' else 'lokasi'} {w.label}",
                            opens_at=_at(day, w.start, timezone),
                            closes_at=_at(day, w.end, timezone),
                            late_allowed=False,
                            report_to_nip=to,
                            citation=ob.citation,
                        )
                    )
        elif ob.kind == "activity_report" and ob.cadence == "daily":
            for day in ordered:
                duties.append(
                    Duty(
                        duty_id=f"{subject}:{nip}:{day.isoformat()}:activity_report",
                        nip=nip,
                        day=day,
                        kind="activity_report",
                        label="laporan kegiatan harian",
                        opens_at=_at(day, time(0), timezone),
                        closes_at=_at(day, ob.deadline or END_OF_DAY, timezone),
                        late_allowed=True,
                        report_to_nip=to,
                        citation=ob.citation,
                    )
                )
        elif ob.kind in ("performance_report", "activity_report"):
            last = ordered[-1]
            due_day = last + timedelta(days=1)
            duties.append(
                Duty(
                    duty_id=f"{subject}:{nip}:{last.isoformat()}:performance_report",
                    nip=nip,
                    day=last,
                    kind="performance_report",
                    label="laporan kinerja",
                    opens_at=_at(ordered[0], time(0), timezone),
                    closes_at=_at(due_day, ob.deadline or END_OF_DAY, timezone),
                    late_allowed=True,
                    report_to_nip=to,
                    citation=ob.citation,
                )
            )
    return sorted(duties, key=lambda d: (d.closes_at, d.duty_id))


def open_checkin(duties: Iterable[Duty], nip: str, now: datetime) -> Duty | None:
    for duty in duties:
        if duty.kind == "checkin" and duty.nip == nip and duty.opens_at <= now < duty.closes_at:
            return duty
    return None


def _clock_text(moment: datetime) -> str:
    text = f"{moment:%H.%M}"
    return text + f".{moment:%S}" if moment.second else text


def describe_windows(duties: Iterable[Duty], day: date) -> str:
    """Human text of a day's check-in windows, e.g. 'lokasi pagi 07.30–09.00 WITA, lokasi sore 15.00–16.30 WITA'."""
    spans = sorted({(d.opens_at, d.closes_at, d.label) for d in duties if d.kind == "checkin" and d.day == day})
    return ", ".join(
        f"{label} {_clock_text(opens)}–{_clock_text(closes)} {zone_label_for_offset(opens)}"
        for opens, closes, label in spans
    )
