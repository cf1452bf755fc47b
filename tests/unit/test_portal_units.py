"""The portal's pure parts: the request form, the form options, the staffing rule, sessions and CSRF."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import Response
from starlette.datastructures import FormData
from starlette.requests import Request

from contracts.common import EmployeeType
from contracts.directory import Person
from contracts.evaluation import UsageSnapshot
from contracts.policy_pack import StaffingMinimum
from policy.bundled import bundled_packs
from policy.directory import DirectoryIndex, parse_directory_csv
from policy.packs import PackSet
from runtime.clock import Clock
from runtime.settings import Settings
from services.kernel.auth import TokenService
from services.kernel.problems import Problem
from services.portal.board import board_for_day, chart_data, public_view, unit_staffed
from services.portal.forms import parse_request_form
from services.portal.identity import DevIdentityProvider, UnconfiguredProvider, identity_provider
from services.portal.options import form_options
from services.portal.session import PRESESSION_COOKIE, csrf_token_for, csrf_valid, start_session
from services.portal.web import safe_next
from tests.stack import SAMPLE_DIRECTORY

PORTAL = Path(__file__).resolve().parents[2] / "services" / "portal"
NOW = datetime.fromisoformat("2025-12-22T09:00:00+08:00")


def _person(employee_type: str = "PNS", region: str = "kendari", nip: str = "199505042021012163") -> Person:
    return Person(
        nip=nip,
        name="Putri Teguh",
        employee_type=EmployeeType(employee_type),
        region=region,
        opd_code="DISHUB",
        opd_name="Dinas Perhubungan",
        opd_class="vital",
        unit_code="DISHUB-U1",
        unit_name="Bidang 1",
    )


class _Packs:
    async def packs(self) -> PackSet:
        return bundled_packs()


class _Reads:
    """The read models the form options consult, filled from the sample directory and empty usage."""

    async def directory(self) -> DirectoryIndex:
        return DirectoryIndex(parse_directory_csv(SAMPLE_DIRECTORY.read_text(), today=date(2025, 12, 22)))

    async def usage_for(self, person: Person, days: list[date]) -> UsageSnapshot:
        return UsageSnapshot()


def _container() -> Any:
    settings = Settings(env="test")
    return SimpleNamespace(
        clock=Clock(NOW),
        settings=settings,
        tokens=TokenService(settings.jwt_secret.get_secret_value(), 3600),
        policy=_Packs(),
        reads=_Reads(),
    )


def _form(**fields: str | list[str]) -> FormData:
    items: list[tuple[str, str]] = []
    for key, value in fields.items():
        items += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
    return FormData(items)


def _request(cookies: str = "", scheme: str = "http") -> Request:
    headers = [(b"host", b"portal.example")] + ([(b"cookie", cookies.encode())] if cookies else [])
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "scheme": scheme})


async def test_form_options_are_what_the_evaluator_allows() -> None:
    senior = await form_options(_container(), _person("PNS", nip="197809212003122164"))
    junior = await form_options(_container(), _person("PNS"))
    pppk_pw = await form_options(_container(), _person("PPPK_PW"))
    assert [k.kind.value for k in pppk_pw.kinds] == [
        "WFH",
        "WFA",
        "CUTI_TAHUNAN",
        "CUTI_SAKIT",
        "CUTI_MELAHIRKAN",
        "IZIN_LUAR_NEGERI",
    ]
    trip = pppk_pw.option("IZIN_LUAR_NEGERI")
    assert trip is not None and trip.needs_location and trip.needs_purpose
    assert "CUTI_BESAR" in [k.kind.value for k in senior.kinds]
    assert "CUTI_BESAR" not in [k.kind.value for k in junior.kinds]  # fewer than 5 years since the NIP's TMT
    wfa = senior.option("WFA")
    assert wfa is not None and wfa.needs_location
    days = [d.isoformat() for w in wfa.windows for d in w.days()]
    assert {"2025-12-29", "2025-12-30", "2025-12-31"} <= set(days)
    assert not {"2025-12-25", "2025-12-26", "2025-12-27", "2025-12-28"} & set(days)  # holiday, cuti bersama, weekend
    assert senior.today == date(2025, 12, 22) and senior.timezone == "Asia/Makassar"
    assert (await form_options(_container(), _person(region="pesisir-barat"))).timezone == "Asia/Jakarta"
    luwu = await form_options(_container(), _person(region="luwu-utara"))
    luwu_wfh = {d.isoformat() for w in (luwu.option("WFH").windows if luwu.option("WFH") else ()) for d in w.days()}
    assert "2025-12-30" not in luwu_wfh  # Luwu Utara's window is WFA only


async def test_the_form_becomes_the_apis_body_or_says_what_is_wrong() -> None:
    options = await form_options(_container(), _person())
    ok = parse_request_form(
        _form(
            jenis="WFA",
            tanggal=["2025-12-30", "2025-12-29"],
            lokasi="Kuala Lumpur",
            negara="MY",
            alasan="Keluarga",
        ),
        options,
    )
    assert ok.ok and ok.body is not None
    assert ok.body.dates == [date(2025, 12, 29), date(2025, 12, 30)]
    assert ok.body.location is not None and ok.body.location.abroad

    empty = parse_request_form(_form(jenis="WFA", tanggal="2025-12-29"), options)
    assert set(empty.errors) == {"lokasi", "alasan"} and empty.mistakes == {}  # empty, not wrong: no nagging

    outside = parse_request_form(_form(jenis="WFH", tanggal="2026-01-05", alasan="x"), options)
    assert "di luar rentang" in outside.mistakes["tanggal"]

    unreachable = parse_request_form(_form(jenis="CUTI_SAKIT", mulai="2025-12-22", alasan="x"), options)
    assert set(unreachable.errors) == {"alamat_cuti", "telepon_cuti"} and unreachable.body is None
    bad_phone = parse_request_form(
        _form(jenis="CUTI_SAKIT", mulai="2025-12-22", alasan="x", alamat_cuti="Jl. A", telepon_cuti="telepon saya"),
        options,
    )
    assert "Nomor telepon" in bad_phone.mistakes["telepon_cuti"]
    leave = parse_request_form(
        _form(
            jenis="CUTI_SAKIT",
            mulai="2025-12-22",
            sampai="2025-12-24",
            alasan="x",
            alamat_cuti="Jl. Pattimura 2, Sangatta",
            telepon_cuti="0812 555 0000",
        ),
        options,
    )
    assert leave.body is not None and len(leave.body.dates) == 3
    assert leave.body.leave is not None and leave.body.leave.address == "Jl. Pattimura 2, Sangatta"
    sick = options.option("CUTI_SAKIT")
    assert sick is not None and [d.document for d in sick.documents] == ["surat keterangan dokter"]
    assert sick.documents[0].when == "wajib bila lebih dari 1 hari" and "Pasal 320" in sick.documents[0].clause
    backwards = parse_request_form(
        _form(jenis="CUTI_SAKIT", mulai="2025-12-24", sampai="2025-12-22", alasan="x"), options
    )
    assert "sebelum" in backwards.errors["sampai"]
    senior = await form_options(_container(), _person(nip="197809212003122164"))
    too_long = parse_request_form(
        _form(jenis="CUTI_BESAR", mulai="2025-01-01", sampai="2025-06-30", alasan="x"), senior
    )
    assert "92 hari" in too_long.errors["sampai"]

    pppk = await form_options(_container(), _person("PPPK"))
    refused = parse_request_form(_form(jenis="CUTI_BESAR", mulai="2025-12-29", alasan="x"), pppk)
    assert "jenis" in refused.errors and refused.body is None


def test_a_unit_is_flagged_when_fewer_are_on_site_than_its_pack_expects() -> None:
    half = StaffingMinimum(
        id="x.half", basis=("se",), clause="separuh", opd_class="direct_service", min_on_site_ratio=0.5
    )
    one = StaffingMinimum(id="x.one", basis=("se",), clause="satu", opd_class="vital", min_on_site_headcount=1)
    assert unit_staffed(None, 5, 5) is None
    assert unit_staffed(half, 5, 2) is True
    assert unit_staffed(half, 5, 3) is False
    assert unit_staffed(half, 4, 2) is True
    assert unit_staffed(one, 5, 4) is True and unit_staffed(one, 5, 5) is False

    def person(nip: str, unit: str, opd_class: str = "direct_service") -> dict[str, str]:
        return {
            "nip": nip,
            "name": f"P{nip}",
            "opd_code": "DPM",
            "opd_name": "DPMPTSP",
            "opd_class": opd_class,
            "unit_code": unit,
            "unit_name": unit,
        }

    people = [person("1", "U1"), person("2", "U1"), person("3", "U1"), person("4", "U2")]
    away = [{"nip": "1", "kind": "WFH"}, {"nip": "2", "kind": "CUTI_TAHUNAN"}]
    (opd,) = board_for_day(people, away, lambda opd_class: half)
    u1 = opd.units[0]
    assert u1.counts == {"WFO": 1, "WFH": 1, "WFA": 0, "CUTI": 1, "LUAR_NEGERI": 0} and u1.staffed is False
    assert u1.people["CUTI"] == ["P2"]
    assert [u.unit_code for u in opd.understaffed] == ["U1"]
    assert opd.totals["WFO"] == 2


def test_the_public_board_never_breaks_down_a_unit_small_enough_to_point_at_someone() -> None:
    def person(nip: str, unit: str) -> dict[str, str]:
        return {"nip": nip, "name": f"Nama {nip}", "opd_code": "DPM", "opd_name": "DPMPTSP", "opd_class": "vital"} | {
            "unit_code": unit,
            "unit_name": unit,
        }

    people = [person(str(i), "BESAR") for i in range(6)] + [person("9", "KEPALA")]
    away = [{"nip": "0", "kind": "WFH"}, {"nip": "9", "kind": "WFA"}]
    one = StaffingMinimum(id="x.one", basis=("se",), clause="satu", opd_class="vital", min_on_site_headcount=1)
    (inside,) = board_for_day(people, away, lambda _: one)
    assert inside.units[1].staffed is False  # the head is away: the internal board says so
    (public,) = public_view([inside])
    big, head = public.units
    assert not big.suppressed and big.staffed is True
    assert big.counts == {"WFO": 5, "WFH": 1, "WFA": 0, "CUTI": 0, "LUAR_NEGERI": 0}
    assert head.suppressed and head.size == 1 and head.staffed is None and sum(head.counts.values()) == 0
    # totals and the chart are sums over what is shown, so nothing can be subtracted back to the head
    assert public.totals == {"WFO": 5, "WFH": 1, "WFA": 0, "CUTI": 0, "LUAR_NEGERI": 0} and public.understaffed == []
    assert [series["data"] for series in chart_data([public])["series"]] == [[5], [1], [0], [0], [0]]
    assert all(not names for u in public.units for names in u.people.values())
    assert inside.units[1].counts["WFA"] == 1  # the internal board is untouched


async def test_only_dev_settings_offer_the_nip_picker() -> None:
    assert isinstance(identity_provider(Settings(env="test", dev_auth=True)), DevIdentityProvider)
    assert isinstance(identity_provider(Settings(env="test", dev_auth=False)), UnconfiguredProvider)
    with pytest.raises(ValueError, match="DEV_AUTH must be off"):
        Settings(env="production", dev_auth=True)
    with pytest.raises(Problem) as refused:
        await UnconfiguredProvider().finish(_request(), {"nip": "199505042021012163"})
    assert refused.value.code == "identity_provider_unconfigured"


def test_csrf_tokens_are_bound_to_the_browsers_session() -> None:
    c = _container()
    mine = _request(f"lentur_session=token-a; {PRESESSION_COOKIE}=ignored")
    assert csrf_valid(c, mine, csrf_token_for(c, "token-a"))
    assert not csrf_valid(c, mine, csrf_token_for(c, "token-b"))
    assert not csrf_valid(c, mine, None)
    assert not csrf_valid(c, _request(), csrf_token_for(c, ""))  # no cookie at all: nothing to bind to
    before_sign_in = _request(f"{PRESESSION_COOKIE}=pre-1")
    assert csrf_valid(c, before_sign_in, csrf_token_for(c, "pre-1"))


def test_the_session_cookie_is_httponly_lax_and_secure_over_https() -> None:
    c = _container()
    for scheme, secure in (("http", False), ("https", True)):
        response = Response()
        start_session(c, _request(scheme=scheme), response, "199505042021012163")
        cookie = next(v for k, v in response.raw_headers if k == b"set-cookie" and v.startswith(b"lentur_session"))
        text = cookie.decode().lower()
        assert "httponly" in text and "samesite=lax" in text
        assert ("secure" in text) is secure
        token = cookie.decode().split(";")[0].split("=", 1)[1]
        assert c.tokens.subject(token) == "199505042021012163"  # the same JWT the API accepts as Bearer


def test_sign_in_only_returns_to_paths_on_this_site() -> None:
    assert safe_next("/kotak-masuk?jenis=WFH") == "/kotak-masuk?jenis=WFH"
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example", None, ""):
        assert safe_next(hostile) == "/"


def test_the_portals_own_assets_stay_small() -> None:
    static = PORTAL / "static"
    own = [p for p in static.rglob("*") if p.is_file() and "vendor" not in p.parts]
    assert own, "no assets found"
    assert sum(p.stat().st_size for p in own) < 100 * 1024
    for template in (PORTAL / "templates").glob("*.html"):
        text = template.read_text()
        assert "style=" not in text and "<style" not in text, template.name  # CSP: style-src 'self'
        assert "<script>" not in text and " on" + "click=" not in text, template.name  # CSP: script-src 'self'


def test_a_granted_trip_abroad_shows_on_the_board_over_the_leave_that_covers_it() -> None:
    people = [
        {"nip": n, "name": f"Nama {n}", "opd_code": "BKD", "opd_name": "BKPSDM", "opd_class": "support"}
        | {"unit_code": "U1", "unit_name": "Bidang 1"}
        for n in ("1", "2", "3")
    ]
    # "1" is abroad on a working day with leave for it; "2" is abroad over a weekend; "3" is on leave only
    away = [
        {"nip": "1", "kind": "CUTI_TAHUNAN"},
        {"nip": "1", "kind": "IZIN_LUAR_NEGERI"},
        {"nip": "2", "kind": "IZIN_LUAR_NEGERI"},
        {"nip": "3", "kind": "CUTI_TAHUNAN"},
    ]
    (opd,) = board_for_day(people, away, lambda _: None)
    (unit,) = opd.units
    assert unit.counts == {"WFO": 0, "WFH": 0, "WFA": 0, "CUTI": 1, "LUAR_NEGERI": 2}
    assert unit.people["LUAR_NEGERI"] == ["Nama 1", "Nama 2"] and unit.away == 3
