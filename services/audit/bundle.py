"""The audit bundle: one zip file an inspector can verify on a machine with no database and no network.

    manifest.json    what is inside, the range, the anchors, the SHA-256 of every other file
    manifest.sig     the manifest signed with the service's checkpoint key (a convenience; trust comes
                     from the checkpoints inside)
    events.jsonl     one stored event per line in position order, exactly as stored (timestamps as the
                     canonical text the hashes cover); events the exporter may not show are *redacted*:
                     their hashes stay, their content is left out
    keys.json        the public keys that signed the checkpoints in the bundle
    packs/*.yaml     the text of every policy pack the events were judged by
    BACA-SAYA.txt    how to verify, in Bahasa Indonesia

A range [from, to] is anchored at both ends: the bundle starts right after the last signed checkpoint
before `from` (or at the first event), so the chain hash before `from` is itself checked against a
signature, and it runs on to the first checkpoint that covers `to`. Events outside the range are redacted.

This module is pure (files and hashes only); importing it loads no database or network client.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from contracts.canonical import canonical_bytes, loads
from services.audit.signing import bundle_signature_valid, key_id_of
from services.audit.verify import CHECKPOINT_TYPE, ChainVerifier, VerifyReport

FORMAT = "lentur-audit-bundle/1"
MANIFEST = "manifest.json"
MANIFEST_SIGNATURE = "manifest.sig"
EVENTS = "events.jsonl"
KEYS = "keys.json"
README = "BACA-SAYA.txt"

# What a redacted event keeps: everything the chains need, nothing of what the event says.
SKELETON_FIELDS = (
    "position",
    "stream_id",
    "version",
    "type",
    "recorded_at",
    "content_hash",
    "prev_hash",
    "hash",
    "chain_hash",
)

README_TEXT = """Bundel audit Lentur
===================

Berkas ini memuat peristiwa (event) dari log audit Lentur beserta hash berantai, checkpoint bertanda
tangan Ed25519, kunci publik penandatangan, dan teks paket kebijakan yang dirujuk.

Verifikasi tanpa basis data dan tanpa jaringan:

    lentur audit verify --bundle {name} --trust <kunci-publik-pemda>

`--trust` menerima kunci publik (base64, hex atau PEM) yang diumumkan pemda; tanpa itu, tanda tangan
tetap diperiksa tetapi kunci dari bundel ini sendiri tidak dianggap tepercaya.

Peristiwa di luar rentang yang diminta, atau milik wilayah lain, disamarkan (redacted): isinya tidak
disertakan, tetapi hash-nya tetap ada sehingga rantai tetap dapat diverifikasi dari awal sampai akhir.
"""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def skeleton(event: Mapping[str, Any]) -> dict[str, Any]:
    return {**{name: event[name] for name in SKELETON_FIELDS}, "redacted": True}


def pack_file_name(pack_id: str, version: str) -> str:
    return f"packs/{pack_id}@{version}.yaml"


@dataclass
class PackText:
    pack_id: str
    version: str
    sha256: str
    text: str


class BundleWriter:
    """Writes a bundle as events arrive (a large range never sits in memory), then the rest on close."""

    def __init__(self, target: IO[bytes]) -> None:
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self._events = self._zip.open(EVENTS, "w")
        self._digest = hashlib.sha256()
        self.count = 0
        self.redacted = 0

    def add(self, events: Iterable[Mapping[str, Any]]) -> None:
        chunk = bytearray()
        for event in events:
            chunk += canonical_bytes(event)
            chunk += b"\n"
            self.count += 1
            if event.get("redacted"):
                self.redacted += 1
        self._digest.update(chunk)
        self._events.write(chunk)

    def close(
        self,
        manifest: Mapping[str, Any],
        *,
        packs: Iterable[PackText],
        keys: Mapping[str, str],
        sign: Callable[[bytes], dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Finish the file; returns the manifest as written."""
        self._events.close()
        zf = self._zip
        final = {**manifest, "format": FORMAT}
        final["events"] = {
            "file": EVENTS,
            "count": self.count,
            "redacted": self.redacted,
            "sha256": self._digest.hexdigest(),
        }
        pack_entries = []
        for pack in packs:
            data = pack.text.encode()
            name = pack_file_name(pack.pack_id, pack.version)
            zf.writestr(name, data)
            pack_entries.append(
                {"pack_id": pack.pack_id, "version": pack.version, "sha256": sha256_bytes(data), "file": name}
            )
        final["packs"] = pack_entries
        keys_data = canonical_bytes([{"key_id": k, "public_key": v} for k, v in sorted(keys.items())])
        zf.writestr(KEYS, keys_data)
        final["keys"] = {"file": KEYS, "sha256": sha256_bytes(keys_data)}
        zf.writestr(README, README_TEXT.format(name=final.get("file_name", "bundel.zip")).encode())
        manifest_bytes = canonical_bytes(final)
        zf.writestr(MANIFEST, manifest_bytes)
        if sign is not None:
            zf.writestr(MANIFEST_SIGNATURE, canonical_bytes(sign(manifest_bytes)))
        zf.close()
        return final


# -- reading and verifying -------------------------------------------------------------------------------


@dataclass
class BundleReport:
    """The chain report plus what only a bundle has: file integrity, anchors, packs, keys."""

    chain: VerifyReport
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    range: dict[str, Any] = field(default_factory=dict)
    anchored_start: bool = False
    anchored_end: bool = False
    packs_checked: int = 0
    manifest_signed_by: str | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems

    def as_dict(self) -> dict[str, Any]:
        chain = self.chain.as_dict()
        return {
            **chain,
            "ok": self.ok,
            "reason": chain["reason"] or (self.problems[0] if self.problems else None),
            "problems": self.problems,
            "warnings": [*chain["warnings"], *self.warnings],
            "range": self.range,
            "anchored_start": self.anchored_start,
            "anchored_end": self.anchored_end,
            "packs_checked": self.packs_checked,
            "manifest_signed_by": self.manifest_signed_by,
        }


def iter_events(zf: zipfile.ZipFile, digest: Any) -> Iterator[dict[str, Any]]:
    with zf.open(EVENTS) as lines:
        for line in lines:
            digest.update(line)
            yield loads(line)


def verify_bundle(path: Path | str | IO[bytes], *, trusted_keys: Mapping[str, str] | None = None) -> BundleReport:
    """Check everything in a bundle. With `trusted_keys` empty or None, the bundle's own keys are used and
    reported as not trusted (a signature proves nothing until its key is matched with the published one)."""
    with zipfile.ZipFile(path) as zf:
        manifest = loads(zf.read(MANIFEST))
        report = BundleReport(chain=VerifyReport())
        if manifest.get("format") != FORMAT:
            report.problems.append(f"format bundel tidak dikenal: {manifest.get('format')!r}")
            return report
        anchor = manifest["anchor"]
        report.range = dict(manifest["range"])
        start = int(anchor["start_position"])
        verifier = ChainVerifier(
            start_position=start,
            start_chain_hash=anchor["start_chain_hash"],
            trust_stream_starts=start > 0,
            trusted_keys=dict(trusted_keys) if trusted_keys else None,
        )
        signed: set[int] = set()
        referenced: dict[tuple[str, str], str] = {}
        published: dict[tuple[str, str], str] = {}
        digest = hashlib.sha256()
        for event in iter_events(zf, digest):
            before = verifier.report.checkpoints_checked
            verifier.feed(event)
            if event.get("redacted"):
                continue
            if event["type"] == CHECKPOINT_TYPE and verifier.report.checkpoints_checked > before:
                signed.add(int(event["payload"]["up_to_position"]))
            policy = event.get("policy")
            if policy:
                referenced[(policy["id"], policy["version"])] = policy["sha256"]
            if event["type"] == "PolicyPackPublished":
                p = event["payload"]
                published[(p["pack_id"], p["version"])] = p["sha256"]
        chain = verifier.finish()
        report.chain = chain
        events_meta = manifest["events"]
        if digest.hexdigest() != events_meta["sha256"]:
            report.problems.append("events.jsonl tidak cocok dengan hash di manifest")
        if chain.events_checked != events_meta["count"]:
            report.problems.append("jumlah peristiwa tidak cocok dengan manifest")
        if int(anchor["end_position"]) != chain.head_position:
            report.problems.append("peristiwa terakhir tidak sama dengan yang disebut manifest")

        keys_bytes = zf.read(KEYS)
        if sha256_bytes(keys_bytes) != manifest["keys"]["sha256"]:
            report.problems.append("keys.json tidak cocok dengan hash di manifest")
        bundle_keys = {k["key_id"]: k["public_key"] for k in loads(keys_bytes)}
        for key_id, public_key in bundle_keys.items():
            if key_id_of(public_key) != key_id:
                report.problems.append(f"key_id {key_id} bukan milik kunci publiknya")

        _check_packs(zf, manifest, report, referenced, published)
        _check_manifest_signature(zf, report, bundle_keys, trusted_keys)

        report.anchored_start = start == 0 or start in signed
        to = int(manifest["range"]["to"])
        report.anchored_end = any(u >= to for u in signed)
        if not report.anchored_start:
            report.warnings.append(f"awal rentang (posisi {start}) tidak dijangkarkan oleh checkpoint bertanda tangan")
        if not report.anchored_end:
            report.warnings.append(f"akhir rentang (posisi {to}) belum dicakup checkpoint bertanda tangan")
        return report


def _check_packs(
    zf: zipfile.ZipFile,
    manifest: Mapping[str, Any],
    report: BundleReport,
    referenced: Mapping[tuple[str, str], str],
    published: Mapping[tuple[str, str], str],
) -> None:
    included: dict[tuple[str, str], str] = {}
    for entry in manifest.get("packs", []):
        data = zf.read(entry["file"])
        actual = sha256_bytes(data)
        if actual != entry["sha256"]:
            report.problems.append(f"teks paket {entry['pack_id']}@{entry['version']} tidak cocok dengan manifest")
            continue
        key = (entry["pack_id"], entry["version"])
        for source, expected in (("dirujuk peristiwa", referenced.get(key)), ("diterbitkan", published.get(key))):
            if expected is not None and expected != actual:
                report.problems.append(f"teks paket {key[0]}@{key[1]} tidak sama dengan yang {source}")
        included[key] = actual
        report.packs_checked += 1
    missing = sorted(f"{k[0]}@{k[1]}" for k in referenced if k not in included)
    if missing:
        report.warnings.append("teks paket tidak tersedia di bundel: " + ", ".join(missing))


def _check_manifest_signature(
    zf: zipfile.ZipFile,
    report: BundleReport,
    bundle_keys: Mapping[str, str],
    trusted_keys: Mapping[str, str] | None,
) -> None:
    if MANIFEST_SIGNATURE not in zf.namelist():
        return
    sig = loads(zf.read(MANIFEST_SIGNATURE))
    public_key = sig.get("public_key", "")
    if not bundle_signature_valid(public_key, zf.read(MANIFEST), sig.get("signature", "")):
        report.problems.append("tanda tangan manifest tidak sah")
        return
    key_id = key_id_of(public_key)
    if trusted_keys and trusted_keys.get(key_id) != public_key:
        report.warnings.append(f"manifest ditandatangani kunci {key_id} yang tidak ada di daftar tepercaya")
    report.manifest_signed_by = key_id
