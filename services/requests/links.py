"""A personal trip abroad and the leave that covers its working days name each other (either side may)."""

from __future__ import annotations

from datetime import date

from contracts.api import SubmitRequestIn
from contracts.common import RequestKind
from policy.calendar import format_tanggal, is_working_day
from services.kernel.container import Container
from services.kernel.problems import Problem

LIVE = ("PENDING", "RETURNED", "APPROVED")


def _trip_working_days(dates: list[date]) -> list[date]:
    return sorted(d for d in set(dates) if is_working_day(d))


async def check_link(c: Container, requester_nip: str, body: SubmitRequestIn) -> None:
    """The linked request is the same requester's, still live, the other half of the pair (a trip abroad for
    leave, leave for a trip), and the leave covers every working day of the trip."""
    row = await c.reads.request(body.linked_request_id) if body.linked_request_id else None
    if row is None or row["requester_nip"] != requester_nip:
        raise Problem(
            422, "linked_request_invalid", "Pengajuan yang ditautkan tidak ditemukan di antara pengajuan Anda."
        )
    if row["status"] not in LIVE:
        raise Problem(
            422, "linked_request_invalid", f"Pengajuan yang ditautkan sudah berakhir (status {row['status']})."
        )
    linked_kind = RequestKind(row["kind"])
    if body.kind.is_travel_abroad:
        if not linked_kind.is_leave:
            raise Problem(
                422, "linked_request_invalid", "Izin ke luar negeri hanya dapat ditautkan dengan pengajuan cuti."
            )
        trip, leave = list(body.dates), list(row["dates"])
    elif body.kind.is_leave:
        if not linked_kind.is_travel_abroad:
            raise Problem(422, "linked_request_invalid", "Cuti hanya dapat ditautkan dengan izin ke luar negeri.")
        trip, leave = list(row["dates"]), list(body.dates)
    else:
        raise Problem(422, "linked_request_invalid", "Hanya izin ke luar negeri dan cuti yang dapat saling ditautkan.")
    uncovered = [d for d in _trip_working_days(trip) if d not in set(leave)]
    if uncovered:
        raise Problem(
            422,
            "linked_leave_incomplete",
            "Cuti yang ditautkan tidak mencakup hari kerja perjalanan: "
            + ", ".join(format_tanggal(d) for d in uncovered)
            + ".",
        )
