"""The backup file: a tar (gzip when the name ends in .gz or .tgz), the manifest first, written atomically."""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
from pathlib import Path

from deploy.backup.manifest import KNOWN_PARTS, MANIFEST, BackupRefused, Manifest, check_parts, read_manifest

_MAX_MANIFEST = 1 << 20


def _compressed(target: Path) -> bool:
    return target.name.endswith((".gz", ".tgz"))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_archive(target: Path, manifest: Manifest, parts: dict[str, Path]) -> int:
    """Write the file beside `target` under a temporary name, fsync it, then rename it into place.

    A crash at any moment leaves either the previous file or the complete new one under `target`.
    Returns the size written.
    """
    target = target.resolve()
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    data = manifest.to_bytes()
    try:
        with tarfile.open(partial, "w:gz" if _compressed(target) else "w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(manifest.created_at.timestamp())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
            for name, path in parts.items():
                member = tar.gettarinfo(str(path), arcname=name)
                member.uid = member.gid = 0
                member.uname = member.gname = ""
                member.mode = 0o600
                with path.open("rb") as f:
                    tar.addfile(member, f)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.chmod(0o600)
        os.replace(partial, target)
        _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return target.stat().st_size


def open_archive(path: Path, into: Path) -> tuple[Manifest, dict[str, Path]]:
    """Unpack the manifest and its parts into `into`, check every hash; raises BackupRefused naming a part."""
    if not path.is_file():
        raise BackupRefused(str(path), "berkas tidak ada")
    files: dict[str, Path] = {}
    manifest: Manifest | None = None
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                if not member.isfile() or member.name not in (MANIFEST, *KNOWN_PARTS) or member.name in files:
                    raise BackupRefused(member.name, "anggota arsip yang tidak diharapkan")
                if member.name == MANIFEST:
                    if member.size > _MAX_MANIFEST:
                        raise BackupRefused(MANIFEST, "terlalu besar")
                    handle = tar.extractfile(member)
                    assert handle is not None
                    manifest = read_manifest(handle.read())
                    continue
                tar.extract(member, into, filter="data")
                files[member.name] = into / member.name
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupRefused(path.name, f"arsip rusak atau terpotong ({exc})") from exc
    if manifest is None:
        raise BackupRefused(MANIFEST, "tidak ada di dalam berkas")
    check_parts(manifest, files)
    return manifest, files
