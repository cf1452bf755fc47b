"""Indonesia's three time zones. They have fixed offsets and no daylight saving, so workflows can use
plain `timezone` objects (the workflow sandbox does not allow tz-database reads)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

OFFSET_HOURS = {"Asia/Jakarta": 7, "Asia/Pontianak": 7, "Asia/Makassar": 8, "Asia/Jayapura": 9}
LABELS = {7: "WIB", 8: "WITA", 9: "WIT"}


def fixed_zone(iana: str) -> timezone:
    try:
        hours = OFFSET_HOURS[iana]
    except KeyError as exc:
        raise ValueError(f"not an Indonesian time zone: {iana}") from exc
    return timezone(timedelta(hours=hours), LABELS[hours])


def zone_label(iana: str | None) -> str:
    return LABELS.get(OFFSET_HOURS.get(iana or "", 0), iana or "UTC")


def zone_label_for_offset(moment: datetime) -> str:
    """WIB/WITA/WIT for an aware datetime whose offset is one of Indonesia's zones."""
    offset = moment.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    return LABELS.get(hours, moment.strftime("%z"))
