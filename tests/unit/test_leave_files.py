"""Supporting documents are judged by their bytes: PDF, JPEG or PNG, at most 2 MB each, at most five."""

from __future__ import annotations

import base64

import pytest

from contracts.api import AttachmentIn
from services.kernel.problems import Problem
from services.leave.files import decode_file, decode_files, download_name, sniff

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def attach(name: str, content: bytes) -> AttachmentIn:
    return AttachmentIn(name=name, content_base64=base64.b64encode(content).decode())


def refused(*items: AttachmentIn) -> str:
    with pytest.raises(Problem) as caught:
        decode_files(list(items))
    assert caught.value.status == 422
    return caught.value.code


def test_the_content_decides_the_type_not_the_name() -> None:
    assert sniff(PDF) == "application/pdf" and sniff(PNG) == "image/png" and sniff(JPEG) == "image/jpeg"
    renamed = decode_file(attach("surat-dokter.pdf", PNG))
    assert renamed.media_type == "image/png"
    assert download_name(renamed.name, renamed.media_type) == "surat-dokter.png"


@pytest.mark.parametrize(
    "content",
    [b"GIF89a" + b"\x00" * 10, b"<html><script>alert(1)</script>", b"PK\x03\x04 a zip", b" %PDF-1.4 late"],
)
def test_anything_else_is_refused_whatever_it_is_called(content: bytes) -> None:
    assert refused(attach("surat.pdf", content)) == "attachment_type_not_allowed"


def test_size_count_and_encoding_limits_each_have_a_code() -> None:
    assert decode_file(attach("besar.pdf", PDF + b"\x00" * (2 * 1024 * 1024 - len(PDF)))).size == 2 * 1024 * 1024
    assert refused(attach("terlalu-besar.pdf", PDF + b"\x00" * (2 * 1024 * 1024))) == "attachment_too_large"
    assert refused(*(attach(f"{i}.pdf", PDF) for i in range(6))) == "too_many_attachments"
    assert len(decode_files([attach(f"{i}.pdf", PDF) for i in range(5)])) == 5
    assert refused(AttachmentIn(name="x.pdf", content_base64="not base64!")) == "attachment_not_base64"
    assert refused(attach("kosong.pdf", b"")) == "attachment_empty"
