"""Shared data for the policy tests: the sample directory, the shipped packs and a one-call evaluator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path

from contracts.common import Location, RequestKind, TravelPurpose
from contracts.directory import Person
from contracts.evaluation import Evaluation, RequestDraft, UsageSnapshot
from policy.bundled import bundled_packs
from policy.directory import DirectoryIndex, parse_directory_csv
from policy.evaluator import evaluate
from policy.packs import PackSet

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "deploy" / "data" / "directory-sample.csv"
PACKS_DIR = ROOT / "policy" / "packs"
TODAY = date(2025, 12, 22)


@lru_cache(maxsize=1)
def people() -> tuple[Person, ...]:
    return parse_directory_csv(SAMPLE_CSV.read_text(encoding="utf-8"), today=TODAY)


@lru_cache(maxsize=1)
def directory() -> DirectoryIndex:
    return DirectoryIndex(people())


@lru_cache(maxsize=1)
def packs() -> PackSet:
    return bundled_packs()


def person(nip: str) -> Person:
    found = directory().get(nip)
    assert found is not None, f"{nip} is not in the sample directory"
    return found


def judge(
    nip: str,
    kind: RequestKind | str,
    dates: Sequence[date],
    *,
    location: Location | None = None,
    usage: UsageSnapshot | None = None,
    packset: PackSet | None = None,
    index: DirectoryIndex | None = None,
    today: date = TODAY,
    travel_purpose: TravelPurpose | None = None,
    attachments: int = 0,
    extra_days: int = 0,
) -> Evaluation:
    index = index or directory()
    requester = index.get(nip)
    assert requester is not None, nip
    return evaluate(
        packs=packset or packs(),
        requester=requester,
        draft=RequestDraft(
            kind=RequestKind(kind),
            dates=list(dates),
            location=location,
            reason="uji",
            travel_purpose=travel_purpose,
            attachments=attachments,
            extra_days=extra_days,
        ),
        directory=index,
        usage=usage or UsageSnapshot(),
        today=today,
    )


# People from deploy/data/directory-sample.csv, by what the tests need them for.
KUTIM_STAFF = "199303062016011035"  # Wulan Putri, Bappeda Bidang 2, PNS
KUTIM_UNIT_HEAD = "198504112008081032"  # Rahmat Lestari, kepala Bappeda Bidang 2
KUTIM_OPD_HEAD = "198601072012061026"  # Teguh Andi, kepala Bappeda
KUTIM_PPK = "198003132002021001"  # Lestari Wulan, Bupati
KUTIM_VITAL = "197310191996061006"  # Teguh Citra, Dinkes Bidang 1
KUTIM_PPPK = "198608112011051009"  # Dewi Sari, PPPK, Dinkes
KUTIM_YOUNG = "199803272023092016"  # Nur Lestari, TMT 09/2023, kepala Disdik Bidang 1

BITUNG_VITAL = "199403062017081042"  # Teguh Budi, Dinkes Bidang 1
BITUNG_DIRECT = "197211241996071064"  # Budi Citra, Dukcapil Bidang 1 (5 people → cap 2)
BITUNG_SUPPORT = "197210051996052078"  # Yusuf Wulan, BKPSDM Bidang 1
BITUNG_PLH = "197205271994032069"  # Wulan Budi, Plh for the head of Dukcapil Bidang 2
BITUNG_PPPK_PW = "197801152000121075"  # Sari Citra, PPPK paruh waktu, BKPSDM

LUWU_DIRECT = "198207212007072100"  # Andi Eka, DPMPTSP Bidang 1
LUWU_SUPPORT_F = "197904082004042112"  # Joko Dewi, BKPSDM Bidang 1, perempuan (digit 15 = 2)
LUWU_PPPK_PW = "197601262000121111"  # Gita Rahmat, PPPK paruh waktu
LUWU_OPD_HEAD = "199811212023022109"  # Hendra Nur, kepala BKPSDM, TMT 02/2023

PESBAR_DIRECT = "197702022000101136"  # Citra Lestari, Disdukcapil (PPPK)
PESBAR_VITAL = "198512152010052125"  # Rahmat Eka, Dinkes
PESBAR_SUPPORT = "198603032008072147"  # Gita Joko, Setda Bidang 1
PESBAR_PPPK = "197702022000101136"

KENDARI_SUPPORT = "197604041998011188"  # Joko Rahmat, Diskominfo Bidang 2
KENDARI_VITAL = "197603131999112162"  # Kurnia Made, Dishub Bidang 1
KENDARI_PLH = "197001011996062169"  # Dewi Sari, Plh for the head of Dishub Bidang 2
KENDARI_PPPK = "199504132021101184"  # Wulan Fajar, PPPK, Diskominfo
KENDARI_YOUNG_PNS = "199710252021041187"  # Made Dewi, TMT 04/2021, kepala Diskominfo Bidang 2
KENDARI_DIRECT = "198402032007112172"  # Made Indah, DPMPTSP Bidang 1
