"""Supporting documents as sent: base64 decoded, size-checked and recognised by their content, not their name.

Pure: no I/O. Only PDF, JPEG and PNG are accepted (what a scanned certificate or a phone photo of one is).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from contracts.api import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, AttachmentIn
from services.kernel.problems import Problem

# (leading bytes, media type). JPEG: SOI marker then the first segment's marker byte.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
LABELS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


@dataclass(frozen=True)
class DecodedFile:
    name: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def size(self) -> int:
        return len(self.content)


def sniff(content: bytes) -> str | None:
    """The media type the bytes themselves declare, or None when they are none of PDF, JPEG or PNG."""
    for magic, media_type in SIGNATURES:
        if content.startswith(magic):
            return media_type
    return None


def decode_file(item: AttachmentIn, *, index: int = 1) -> DecodedFile:
    """One attachment decoded and judged by its content; a 422 Problem with a machine code otherwise."""
    where = f"Lampiran {index} ({item.name})"
    try:
        content = base64.b64decode(item.content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Problem(422, "attachment_not_base64", f"{where} tidak dikodekan base64 yang sah.") from exc
    if not content:
        raise Problem(422, "attachment_empty", f"{where} kosong.")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise Problem(
            422,
            "attachment_too_large",
            f"{where} berukuran {len(content):,} bita; paling besar {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.",
        )
    media_type = sniff(content)
    if media_type is None:
        raise Problem(
            422,
            "attachment_type_not_allowed",
            f"{where} bukan PDF, JPEG atau PNG menurut isinya (nama berkas tidak menentukan jenisnya).",
        )
    return DecodedFile(name=item.name, media_type=media_type, content=content)


def decode_files(items: Sequence[AttachmentIn]) -> list[DecodedFile]:
    if len(items) > MAX_ATTACHMENTS:
        raise Problem(
            422, "too_many_attachments", f"Paling banyak {MAX_ATTACHMENTS} lampiran; yang dikirim {len(items)}."
        )
    return [decode_file(item, index=i) for i, item in enumerate(items, start=1)]


def download_name(name: str, media_type: str) -> str:
    """The stored name with the extension its content calls for (a PNG sent as .pdf downloads as .png)."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    safe = "".join(ch for ch in stem if ch.isalnum() or ch in " -_")[:100].strip() or "lampiran"
    return safe + EXTENSIONS[media_type]
