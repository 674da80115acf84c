"""Sealing and opening model snapshots: pickle, digest, sign; verify before unpickling.

sealed = seal(state, fields, signer, serving=state.model)  # trainer
manifest = verify(sealed, verifier)                         # anyone with the public key
manifest, state = unseal(sealed, verifier)                  # verify, then allowlisted unpickle

A snapshot has two pickled parts, each with its digest in the signed manifest:
`blob`, everything the trainer resumes from (model, pending joins, metrics), and
`model`, the model alone, which is all a scorer needs (kilobytes, not the
megabytes of a full join buffer).
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import platform
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from lazarus import __version__
from lazarus.errors import SnapshotRejected
from lazarus.registry.canonical import canonical_dumps
from lazarus.registry.safe_pickle import safe_loads
from lazarus.registry.signing import Signer, Verifier
from lazarus.schemas.manifest import SnapshotManifest

PICKLE_PROTOCOL = 5


@dataclass(frozen=True)
class SealedSnapshot:
    """What the store holds: the manifest's JSON bytes, their signature, the pickled state."""

    manifest: bytes
    signature: bytes
    blob: bytes
    digest: str | None = None
    """sha256 of `blob` when the sealer already computed it (hashing megabytes twice is waste)."""
    model: bytes = b""
    """The pickled model alone (empty in snapshots sealed without a serving part)."""

    @functools.cached_property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.blob).hexdigest()


@functools.cache
def environment() -> dict[str, str]:
    from importlib.metadata import version

    return {"python": platform.python_version(), "river": version("river"), "lazarus": __version__}


def seal(
    state: Any, fields: dict[str, Any], signer: Signer, *, serving: Any = None
) -> tuple[SealedSnapshot, SnapshotManifest]:
    """Pickle `state` (and `serving`, the model scorers load), add their digests and the
    signer to `fields`, sign the manifest.

    `fields` are the manifest's other fields (`SnapshotManifest`: model, version, metrics,
    trained-through offsets...). Returns what the store keeps and the validated manifest;
    raises pydantic's ValidationError if `fields` do not make a manifest."""
    blob = pickle.dumps(state, protocol=PICKLE_PROTOCOL)
    digest = hashlib.sha256(blob).hexdigest()
    # The model's bytes are canonical: the same events give the same model_sha256 (#13).
    model = b"" if serving is None else canonical_dumps(serving, PICKLE_PROTOCOL)
    manifest = SnapshotManifest.model_validate(
        {
            **fields,
            "blob_sha256": digest,
            "blob_bytes": len(blob),
            "model_sha256": hashlib.sha256(model).hexdigest() if model else None,
            "model_bytes": len(model) if model else None,
            "signer": signer.verifier.fingerprint(),
        }
    )
    raw = manifest.model_dump_json().encode()
    return SealedSnapshot(raw, signer.sign(raw), blob, digest, model), manifest


def verify(
    sealed: SealedSnapshot,
    verifier: Verifier,
    *,
    model: str | None = None,
    version: int | None = None,
    part: Literal["state", "model", "both"] = "state",
) -> SnapshotManifest:
    """Check signature, the digest of `part` and (when given) that it is the model and version
    it is stored as; never unpickles. Raises SnapshotRejected with the reason."""
    if not verifier.verify(sealed.signature, sealed.manifest):
        raise SnapshotRejected(
            "signature does not verify with the configured public key (forged, tampered, or another key)"
        )
    try:
        manifest = SnapshotManifest.model_validate_json(sealed.manifest)
    except ValidationError as exc:
        raise SnapshotRejected(
            f"manifest is signed but malformed: {exc.errors()[0]['msg']}"
        ) from exc
    if (
        part in ("state", "both")
        and hashlib.sha256(sealed.blob).hexdigest() != manifest.blob_sha256
    ):
        # never a cached digest: the bytes in hand are what counts
        raise SnapshotRejected(
            "state digest does not match the signed manifest (blob tampered or truncated)"
        )
    if part in ("model", "both") and manifest.model_sha256 is not None:
        if hashlib.sha256(sealed.model).hexdigest() != manifest.model_sha256:
            raise SnapshotRejected(
                "model digest does not match the signed manifest (model tampered or truncated)"
            )
    elif part == "model":
        raise SnapshotRejected("snapshot has no separate model part (sealed by an older trainer)")
    # A signed snapshot copied to another key is a rollback or a substitution, not a forgery.
    if model is not None and manifest.model != model:
        raise SnapshotRejected(f"stored as {model!r} but signed as {manifest.model!r}")
    if version is not None and manifest.version != version:
        raise SnapshotRejected(f"stored as v{version} but signed as v{manifest.version}")
    return manifest


def unseal(
    sealed: SealedSnapshot,
    verifier: Verifier,
    *,
    model: str | None = None,
    version: int | None = None,
    modules: Iterable[str] = (),
) -> tuple[SnapshotManifest, Any]:
    """`verify` the state part, then unpickle it with the allowlist (`safe_pickle`, plus what
    `modules`, the trainer's LAZARUS_SNAPSHOT_MODULES, define): the manifest and the trainer's
    state. Raises SnapshotRejected with the reason."""
    manifest = verify(sealed, verifier, model=model, version=version)
    return manifest, safe_loads(sealed.blob, modules)
