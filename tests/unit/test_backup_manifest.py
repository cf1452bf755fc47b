"""The backup file's own checks, without any server: hashes, the manifest's digest, atomic writing, versions."""

from __future__ import annotations

import json
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.backup.archive import open_archive, write_archive
from deploy.backup.manifest import (
    MANIFEST,
    PART_CLOCK,
    PART_STORE,
    PART_TEMPORAL,
    BackupRefused,
    Manifest,
    TemporalInfo,
    compatibility_problems,
    hash_file,
    read_manifest,
    vault_secret_id,
)

SECRET = "a-vault-secret-of-at-least-thirty-two-characters"


def parts(tmp_path: Path) -> dict[str, Path]:
    source = tmp_path / "source"
    source.mkdir()
    files = {PART_TEMPORAL: os.urandom(70_000), PART_STORE: os.urandom(50_000), PART_CLOCK: b'{"anchor": "x"}'}
    for name, data in files.items():
        (source / name).write_bytes(data)
    return {name: source / name for name in files}


def manifest_for(files: dict[str, Path], **changes: object) -> Manifest:
    base = Manifest(
        lentur_version="0.2.0",
        created_at=datetime(2026, 1, 5, 1, 0, tzinfo=UTC),
        store_head=1234,
        store_head_hash="ab" * 32,
        events=1234,
        requests_in_flight=7,
        postgres_version="17.2",
        temporal=TemporalInfo(server_version="1.27.1", schema_fingerprint="sha256:0123456789abcdef"),
        vault_secret_id=vault_secret_id(SECRET),
        audit_key=None,
        parts=[hash_file(path) for path in files.values()],
    )
    return base.model_copy(update=changes)


def flip_byte_of(archive: Path, member_name: str) -> None:
    with tarfile.open(archive) as tar:
        member = tar.getmember(member_name)
        offset = member.offset_data + member.size // 2
    with archive.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz"])
def test_a_written_backup_reads_back_with_every_part_intact(tmp_path: Path, suffix: str) -> None:
    files = parts(tmp_path)
    manifest = manifest_for(files)
    target = tmp_path / f"cadangan{suffix}"
    size = write_archive(target, manifest, files)
    assert size == target.stat().st_size
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    restored, unpacked = open_archive(target, tmp_path / "out")
    assert restored == manifest.sealed()
    for name, path in files.items():
        assert unpacked[name].read_bytes() == path.read_bytes()


@pytest.mark.parametrize("member", [MANIFEST, PART_TEMPORAL, PART_STORE, PART_CLOCK])
def test_one_flipped_byte_in_any_part_is_refused_naming_that_part(tmp_path: Path, member: str) -> None:
    files = parts(tmp_path)
    target = tmp_path / "cadangan.tar"
    write_archive(target, manifest_for(files), files)
    flip_byte_of(target, member)
    with pytest.raises(BackupRefused) as refused:
        open_archive(target, tmp_path / "out")
    assert refused.value.part == member


def test_an_edited_manifest_is_refused_even_when_it_still_parses(tmp_path: Path) -> None:
    files = parts(tmp_path)
    data = json.loads(manifest_for(files).to_bytes())
    data["store_head"] = 99
    with pytest.raises(BackupRefused) as refused:
        read_manifest(json.dumps(data).encode())
    assert refused.value.part == MANIFEST
    assert "digest" in refused.value.reason


def test_the_manifest_names_the_vault_secret_without_containing_it(tmp_path: Path) -> None:
    files = parts(tmp_path)
    text = manifest_for(files).to_bytes().decode()
    assert SECRET not in text
    assert vault_secret_id(SECRET) in text
    assert vault_secret_id(SECRET) != vault_secret_id(SECRET + "x")


def test_a_failed_write_leaves_the_previous_backup_under_its_name(tmp_path: Path) -> None:
    files = parts(tmp_path)
    target = tmp_path / "cadangan.tar"
    write_archive(target, manifest_for(files), files)
    before = target.read_bytes()
    manifest = manifest_for(files)
    files[PART_STORE].unlink()  # a part vanishes before it is written: the write fails half-way
    with pytest.raises(FileNotFoundError):
        write_archive(target, manifest, files)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_versions_and_secrets_that_do_not_fit_are_explained(tmp_path: Path) -> None:
    manifest = manifest_for(parts(tmp_path))
    fits = compatibility_problems(
        manifest, lentur_version="0.2.0", temporal_server_version="1.27.3", vault_id=vault_secret_id(SECRET)
    )
    assert fits == []
    newer_temporal = compatibility_problems(
        manifest, lentur_version="0.2.0", temporal_server_version="1.28.0", vault_id=vault_secret_id(SECRET)
    )
    assert [part for part, _ in newer_temporal] == [PART_TEMPORAL]
    assert "1.27.1" in newer_temporal[0][1]
    older_lentur = compatibility_problems(
        manifest, lentur_version="0.1.9", temporal_server_version="1.27.1", vault_id=vault_secret_id(SECRET)
    )
    assert [part for part, _ in older_lentur] == [PART_STORE]
    newer_lentur = compatibility_problems(
        manifest, lentur_version="0.3.0", temporal_server_version="1.27.1", vault_id=vault_secret_id(SECRET)
    )
    assert newer_lentur == []
    other_secret = compatibility_problems(
        manifest, lentur_version="0.2.0", temporal_server_version="1.27.1", vault_id=vault_secret_id("other")
    )
    assert [part for part, _ in other_secret] == ["vault"]
    assert manifest.vault_secret_id in other_secret[0][1]
