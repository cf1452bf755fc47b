"""The directory parser: every bad row refused with its number and a reason; structure checked."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.common import Role
from policy.directory import DirectoryIndex, DirectoryInvalid, directory_sha256, nip_problem, parse_directory_csv
from tests.stack import SAMPLE_DIRECTORY

TODAY = date(2025, 12, 22)
HEADER = "nip,name,employee_type,region,opd_code,opd_name,opd_class,unit_code,unit_name,roles,acting_for"
PPK = "198003132002021001,Kepala Daerah,PNS,kendari,SETDA,Setda,support,PPK,Kepala Daerah,ppk,"
OPD_HEAD = "197110191996011004,Kepala Dinas,PNS,kendari,DINKES,Dinas Kesehatan,vital,DINKES-SEK,Sekretariat,opd_head,"
UNIT_HEAD = "199703102022031005,Kepala Bidang,PNS,kendari,DINKES,Dinas Kesehatan,vital,DINKES-U1,Bidang 1,unit_head,"
STAFF = "197310191996061006,Staf Satu,PNS,kendari,DINKES,Dinas Kesehatan,vital,DINKES-U1,Bidang 1,,"


def csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def refusal(text: str) -> list[tuple[int, str]]:
    with pytest.raises(DirectoryInvalid) as caught:
        parse_directory_csv(text, known_regions={"kendari", "bitung"}, today=TODAY)
    return [(e.row, e.reason) for e in caught.value.errors]


def test_the_sample_directory_parses_and_indexes() -> None:
    people = parse_directory_csv(SAMPLE_DIRECTORY.read_text(), today=TODAY)
    index = DirectoryIndex(people)
    assert len(people) == 191
    head = index.unit_head("kendari", "DISHUB-U2")
    assert head is not None and head.nip == "198110052005061165"
    assert [p.nip for p in index.acting_officials_for("198110052005061165")] == ["197001011996062169"]
    assert index.ppk("bitung") is not None
    # unit codes repeat across regions; lookups never mix them
    assert index.unit_size("kendari", "DINKES-U1") == 0 and index.unit_size("bitung", "DINKES-U1") == 5


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("12345,X,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,,", "18 digit"),
        ("199713452022031005,X,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,,", "tanggal lahir"),
        ("199703102022131005,X,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,,", "bulan TMT"),
        ("199703102022033005,X,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,,", "jenis kelamin"),
        ("199703102005031005,X,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,,", "tidak masuk akal"),
        ("197310191996061007,X,GURU,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,,", "employee_type"),
        ("197310191996061007,X,PNS,atlantis,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,,", "wilayah tidak dikenal"),
        ("197310191996061007,X,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,raja,", "peran tidak dikenal"),
        ("197310191996061007,X,PNS,kendari,DINKES,Dinkes,essential,DINKES-U1,Bidang 1,,", "opd_class"),
        (STAFF, "NIP ganda"),
    ],
)
def test_bad_rows_are_refused_with_their_row_number(row: str, reason: str) -> None:
    errors = refusal(csv(PPK, OPD_HEAD, UNIT_HEAD, STAFF, row))
    assert errors and errors[0][0] == 6 and reason in errors[0][1]


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    errors = refusal(csv(PPK, "1,X,PNS,kendari,A,A,vital,U,U,,", OPD_HEAD, "2,Y,PNS,kendari,A,A,vital,U,U,,"))
    assert [row for row, _ in errors] == [3, 5]


def test_structure_missing_heads_ppk_and_cycles() -> None:
    assert any("kepala unit" in r for _, r in refusal(csv(PPK, OPD_HEAD, STAFF)))
    assert any("tidak memiliki PPK" in r for _, r in refusal(csv(OPD_HEAD, UNIT_HEAD, STAFF)))
    cycle = csv(
        PPK,
        OPD_HEAD,
        "199703102022031005,A,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,unit_head,197310191996061006",
        "197310191996061006,B,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,,199703102022031005",
    )
    assert any("siklus" in r for _, r in refusal(cycle))
    assert any("kolom wajib" in r for _, r in refusal("nip,name\n1,x\n"))


def test_a_plt_in_a_vacant_post_holds_it_for_the_absent_holder() -> None:
    vacant = "199001012015011999"
    plt = f"197310191996061006,Plt Kepala,PNS,kendari,DINKES,Dinkes,vital,DINKES-U1,Bidang 1,unit_head,{vacant}"
    people = parse_directory_csv(csv(PPK, OPD_HEAD, plt), today=TODAY)
    holder = DirectoryIndex(people).unit_head("kendari", "DINKES-U1")
    assert holder is not None and holder.nip == vacant and holder.assignee_nip == "197310191996061006"
    assert Role.UNIT_HEAD in people[2].roles


def test_row_order_does_not_change_the_directory_hash() -> None:
    a = parse_directory_csv(csv(PPK, OPD_HEAD, UNIT_HEAD, STAFF), today=TODAY)
    b = parse_directory_csv(csv(STAFF, UNIT_HEAD, PPK, OPD_HEAD), today=TODAY)
    assert directory_sha256(a) == directory_sha256(b)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789", min_size=18, max_size=18))
def test_nip_check_never_crashes_and_accepts_only_plausible_dates(nip: str) -> None:
    problem = nip_problem(nip, today=TODAY)
    if problem is None:
        assert 1 <= int(nip[4:6]) <= 12 and nip[14] in "12" and 1 <= int(nip[12:14]) <= 12


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=30), min_size=1, max_size=12))
def test_arbitrary_rows_are_either_parsed_or_refused_with_a_row(cells: list[str]) -> None:
    text = HEADER + "\n" + ",".join(c.replace("\n", " ").replace(",", ";") for c in cells) + "\n"
    try:
        parse_directory_csv(text, known_regions={"kendari"}, today=TODAY)
    except DirectoryInvalid as invalid:
        assert all(e.row >= 1 and e.reason for e in invalid.errors)


def test_rank_position_and_service_start_are_read_in_any_order_after_the_required_columns() -> None:
    text = (
        HEADER
        + ",service_start,phone,position,rank,email\n"
        + "\n".join(
            [
                PPK + ',1999-03-01,,Bupati,"Pembina Utama, IV/e",',
                OPD_HEAD + ",,,,,",
                UNIT_HEAD + ",,,,,",
                STAFF + ',,0812,Perawat Ahli Muda,"Penata Muda Tingkat I, III/b",s@x.id',
            ]
        )
        + "\n"
    )
    people = {p.nip: p for p in parse_directory_csv(text, today=TODAY)}
    staff = people["197310191996061006"]
    assert (staff.rank, staff.position, staff.phone, staff.email) == (
        "Penata Muda Tingkat I, III/b",
        "Perawat Ahli Muda",
        "0812",
        "s@x.id",
    )
    assert people["198003132002021001"].service_start == date(1999, 3, 1)
    assert staff.service_start is None


def test_the_sample_directory_carries_rank_and_position() -> None:
    people = {p.nip: p for p in parse_directory_csv(SAMPLE_DIRECTORY.read_text(), today=TODAY)}
    assert people["198003132002021001"].rank == "Pembina Utama, IV/e"
    assert people["198003132002021001"].position == "Bupati"


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("2020-02-30", "bukan tanggal"),
        ("01-03-1999", "bukan tanggal"),
        ("20200101", "YYYY-MM-DD"),
        ("2026-01-05", "masa depan"),
    ],
)
def test_a_bad_service_start_is_refused_with_its_row_number(cell: str, reason: str) -> None:
    text = "\n".join([HEADER + ",service_start", PPK + ",", OPD_HEAD + ",", UNIT_HEAD + ",", STAFF + "," + cell]) + "\n"
    [(row, why)] = refusal(text)
    assert row == 5 and reason in why and "service_start" in why


def test_unknown_and_duplicated_columns_are_still_refused() -> None:
    assert "kolom tidak dikenal: golongan" in refusal(csv(PPK).replace("acting_for", "acting_for,golongan"))[0][1]
    assert "kolom ganda: rank" in refusal(csv(PPK).replace("acting_for", "acting_for,rank,rank"))[0][1]


def test_adding_the_new_columns_blank_keeps_the_directory_hash() -> None:
    plain = parse_directory_csv(csv(PPK), today=TODAY)
    widened = parse_directory_csv(HEADER + ",rank,position,service_start\n" + PPK + ",,,\n", today=TODAY)
    assert directory_sha256(plain) == directory_sha256(widened)
