"""Interim routing used until the pack-driven evaluator lands: Kendari's rule for every region.

UNIT_HEAD -> OPD_HEAD, plus PPK for WFA abroad or CUTI_TAHUNAN (SE Wali Kota Kendari 100.3.4.3/4526/2025).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from contracts.common import Citation, PolicyRef, RequestKind, Role, Tier
from contracts.directory import Person
from contracts.evaluation import Evaluation, Refusal, RequestDraft, RouteStep, UsageSnapshot
from policy.directory import DirectoryIndex, PostHolder

_TEXT = "interim: kendari rule"
_REF = PolicyRef(id="interim", version="0", sha256=hashlib.sha256(_TEXT.encode()).hexdigest())


def _cite(rule: str, clause: str) -> Citation:
    return Citation(
        pack_id="interim",
        pack_version="0",
        rule_id=rule,
        source="SE Wali Kota Kendari No. 100.3.4.3/4526 Tahun 2025",
        clause=clause,
    )


def evaluate(
    *,
    packs: Any,
    requester: Person,
    draft: RequestDraft,
    directory: DirectoryIndex,
    usage: UsageSnapshot,
    today: date,
) -> Evaluation:
    if any(d < today for d in draft.dates):
        refusal = Refusal(
            code="past_date",
            message="Tanggal yang diajukan sudah lewat.",
            citations=(_cite("past", "Pengajuan untuk tanggal yang sudah lewat tidak dapat diproses."),),
        )
        return Evaluation(
            policy=_REF,
            timezone="Asia/Makassar",
            outcome="refused",
            refusal=refusal,
            citations=refusal.citations,
        )
    tiers = [Tier.UNIT_HEAD, Tier.OPD_HEAD]
    abroad = draft.location is not None and draft.location.abroad
    if (draft.kind == RequestKind.WFA and abroad) or draft.kind == RequestKind.CUTI_TAHUNAN:
        tiers.append(Tier.PPK)
    if requester.has_role(Role.UNIT_HEAD):
        tiers = [t for t in tiers if t != Tier.UNIT_HEAD]
    if requester.has_role(Role.OPD_HEAD):
        tiers = [t for t in tiers if t not in (Tier.UNIT_HEAD, Tier.OPD_HEAD)]
    steps = []
    for tier in tiers:
        holder: PostHolder | None
        if tier == Tier.UNIT_HEAD:
            holder = directory.unit_head(requester.region, requester.unit_code)
        elif tier == Tier.OPD_HEAD:
            holder = directory.opd_head(requester.region, requester.opd_code)
        else:
            holder = directory.ppk(requester.region)
        if holder is None or requester.nip in (holder.nip, holder.assignee_nip):
            continue
        steps.append(
            RouteStep(
                tier=tier,
                approver_nip=holder.assignee_nip,
                approver_name=holder.name,
                on_behalf_of=holder.nip if holder.acting else None,
                citation=_cite(f"route.{tier.value.lower()}", f"Persetujuan berjenjang: {tier.value}"),
            )
        )
    if not steps:
        refusal = Refusal(code="no_approver", message="Tidak ada pejabat yang berwenang menyetujui.", citations=())
        return Evaluation(policy=_REF, timezone="Asia/Makassar", outcome="refused", refusal=refusal)
    return Evaluation(
        policy=_REF,
        timezone="Asia/Makassar",
        outcome="allowed",
        route=tuple(steps),
        citations=tuple(s.citation for s in steps),
        working_days=len(draft.dates),
    )
