"""Ed25519 signing of model snapshots (the manifest's JSON bytes are what is signed).

The trainer holds the private key and signs; scorers hold only the public key
and verify, so a scorer (or anyone with Redis access) cannot forge a model.
Keys come from settings (PEM or base64 of the raw 32 bytes). For local work,
`lazarus up` and `lazarus keys generate` keep a development pair in
``~/.config/lazarus/`` (mode 0600); production sets the keys explicitly.
"""

from __future__ import annotations

import base64
import binascii
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lazarus.errors import ConfigError
from lazarus.settings import Settings, env_name

DEV_KEY_DIR = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "lazarus"
DEV_PRIVATE = "dev-signing.key"
DEV_PUBLIC = "dev-signing.pub"


@dataclass(frozen=True)
class Signer:
    """The trainer's private key: signs manifests (64-byte Ed25519 signatures)."""

    key: Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.key.public_key())


@dataclass(frozen=True)
class Verifier:
    """A public key: checks signatures; `fingerprint()` (16 hex digits) names it in manifests."""

    key: Ed25519PublicKey

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def fingerprint(self) -> str:
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return raw.hex()[:16]


def generate() -> tuple[str, str]:
    """A new pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def parse_private(text: str, setting: str = "signing_private_key") -> Signer:
    """A signer from PEM (PKCS8) or base64 of the raw 32 bytes; ConfigError naming `setting`."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise ConfigError(
            f"{env_name(setting)} is not an Ed25519 private key (PEM or base64)"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{env_name(setting)} must be an Ed25519 key")
    return Signer(key)


def parse_public(text: str, setting: str = "signing_public_key") -> Verifier:
    """A verifier from PEM (SubjectPublicKeyInfo) or base64 of the raw 32 bytes; ConfigError
    naming `setting`."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise ConfigError(
            f"{env_name(setting)} is not an Ed25519 public key (PEM or base64)"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{env_name(setting)} must be an Ed25519 key")
    return Verifier(key)


def missing_key_hint(setting: str, directory: Path = DEV_KEY_DIR) -> str:
    """How to get the key `setting` names: the development key's file when it exists.

    >>> missing_key_hint("signing_public_key", Path("/nowhere"))
    '`lazarus keys generate` makes a pair; while `lazarus up` runs, commands use its key'
    """
    name = DEV_PRIVATE if setting == "signing_private_key" else DEV_PUBLIC
    path = directory / name
    if not path.exists():
        return "`lazarus keys generate` makes a pair; while `lazarus up` runs, commands use its key"
    return (
        f"the development key of `lazarus up` is {path}: "
        f'export {env_name(setting)}="$(cat {shlex.quote(str(path))})"'
    )


def signer_from(settings: Settings) -> Signer:
    """The trainer's signer, or ConfigError saying which setting to set."""
    if settings.signing_private_key is None:
        raise ConfigError(
            f"no snapshot signing key: set {env_name('signing_private_key')} "
            f"({missing_key_hint('signing_private_key')})"
        )
    return parse_private(settings.signing_private_key.get_secret_value())


def verifier_from(settings: Settings) -> Verifier:
    """The public key scorers and `lazarus models verify` check with."""
    if settings.signing_public_key:
        return parse_public(settings.signing_public_key)
    if settings.signing_private_key is not None:
        return signer_from(settings).verifier
    raise ConfigError(
        f"no snapshot verification key: set {env_name('signing_public_key')}, the trainer's "
        f"public key ({missing_key_hint('signing_public_key')})"
    )


def dev_pair(directory: Path = DEV_KEY_DIR) -> tuple[str, str]:
    """The local development pair, created once (private key file mode 0600)."""
    private_path, public_path = directory / DEV_PRIVATE, directory / DEV_PUBLIC
    if private_path.exists() and not public_path.exists():  # a crash between the two writes
        key = parse_private(private_path.read_text()).key.public_key()
        public_path.write_text(
            key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode()
        )
    if not private_path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        private, public = generate()
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(private)
        public_path.write_text(public)
    return private_path.read_text(), public_path.read_text()
