"""Ed25519 signatures over the head of the global chain (checkpoints).

A checkpoint says "the global chain at position N has hash H", signed. Once an inspector holds a checkpoint
(in the log, in a bundle they exported, or published elsewhere), an operator who rewrites history — even
recomputing every hash with the same formulas — cannot make the chain at N hash to H again.

Pure: no database, no network. Loading the key from settings or a file is at the bottom.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

if TYPE_CHECKING:
    from runtime.settings import Settings

log = structlog.get_logger(__name__)

ALGORITHM = "ed25519"
KEY_FILE = "audit-signing-key.pem"


def statement(up_to_position: int, chain_hash: str) -> bytes:
    """The exact bytes a checkpoint signs; the prefix keeps these signatures from meaning anything else."""
    return f"lentur-checkpoint|{up_to_position}|{chain_hash}".encode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public_key_b64: str) -> str:
    """A short, stable name for a public key: the first 16 hex digits of SHA-256 over its 32 raw bytes."""
    return hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:16]


def _decode_key_text(text: str) -> bytes:
    text = text.strip()
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise ValueError("key is neither PEM, hex nor base64") from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 key has 32 bytes, this one has {len(raw)}")
    return raw


def parse_public_key(text: str) -> str:
    """A public key given as PEM, hex or base64 (32 raw bytes) → base64 of the raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return base64.b64encode(_raw_public(key)).decode()
    return base64.b64encode(Ed25519PublicKey.from_public_bytes(_decode_key_text(text)).public_bytes_raw()).decode()


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A private key given as PEM (PKCS#8) or as its 32-byte seed in hex or base64."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return key
    return Ed25519PrivateKey.from_private_bytes(_decode_key_text(text))


def private_key_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def signature_valid(public_key_b64: str, up_to_position: int, chain_hash: str, signature_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature_b64), statement(up_to_position, chain_hash))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


@dataclass(frozen=True)
class Signature:
    up_to_position: int
    chain_hash: str
    key_id: str
    public_key: str
    signature: str
    algorithm: str = ALGORITHM


class CheckpointSigner:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = base64.b64encode(_raw_public(private_key.public_key())).decode()
        self.key_id = key_id_of(self.public_key)

    def sign(self, up_to_position: int, chain_hash: str) -> Signature:
        signature = self._key.sign(statement(up_to_position, chain_hash))
        return Signature(
            up_to_position=up_to_position,
            chain_hash=chain_hash,
            key_id=self.key_id,
            public_key=self.public_key,
            signature=base64.b64encode(signature).decode(),
        )

    def sign_bytes(self, data: bytes) -> str:
        """A detached signature over arbitrary bytes (a bundle's manifest)."""
        return base64.b64encode(self._key.sign(b"lentur-bundle|" + data)).decode()


def bundle_signature_valid(public_key_b64: str, data: bytes, signature_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature_b64), b"lentur-bundle|" + data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


# -- where the key comes from ---------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = private_key_pem(generate_private_key()).encode()
        try:
            # O_EXCL: when several processes start at once, one writes and the others read its key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    return parse_private_key(path.read_text())


def signer_from_settings(settings: Settings) -> CheckpointSigner:
    """The configured key. Without one: in development a key kept under the state directory (created on
    first use, shared by every process of `lentur up`); in tests a key derived from the JWT secret, so the
    in-process components agree without writing files."""
    if settings.audit_signing_key is not None:
        return CheckpointSigner(parse_private_key(settings.audit_signing_key.get_secret_value()))
    if settings.env == "production":  # the settings validator refuses this already; never sign with a stray key
        raise RuntimeError("LENTUR_AUDIT_SIGNING_KEY is required in production")
    if settings.env == "test":
        seed = hashlib.sha256(b"lentur-audit-test-key|" + settings.jwt_secret.get_secret_value().encode()).digest()
        return CheckpointSigner(Ed25519PrivateKey.from_private_bytes(seed))
    path = settings.state_dir / KEY_FILE
    signer = CheckpointSigner(_load_or_create(path))
    log.warning(
        "audit_signing_key_from_state_dir",
        path=str(path),
        key_id=signer.key_id,
        detail="set LENTUR_AUDIT_SIGNING_KEY; a key on the service's own disk proves little to an inspector",
    )
    return signer


def trusted_keys_from_settings(settings: Settings, *extra: str) -> dict[str, str]:
    """key_id -> public key (base64) for every key an inspector told us to trust."""
    keys = [parse_public_key(k) for k in (*settings.audit_trusted_keys, *extra)]
    return {key_id_of(k): k for k in keys}
