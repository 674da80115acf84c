"""The snapshot manifest: what a model snapshot is, what trained it, and how to check it.

The manifest is signed (Ed25519, over its JSON bytes) and names the sha256 of
the pickled trainer state and of the pickled model alone (what scorers load),
so both are checked before a single byte is unpickled. It also names the module
prefixes, beyond river's and Lazarus's, whose classes and functions the model may
reference (`snapshot_modules`, the trainer's `LAZARUS_SNAPSHOT_MODULES`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, Field, SerializerFunctionWrapHandler, model_serializer

from lazarus.schemas.base import Contract, Identifier

ModulePrefix = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        description="a dotted module name: itself and the modules under it",
    ),
]


class JoinReport(Contract):
    """The delayed-label join, as of the snapshot."""

    pending: int = Field(ge=0, description="features waiting for their outcome")
    joined: int = Field(ge=0)
    expired: int = Field(ge=0, description="features whose outcome never came within the TTL")
    evicted: int = Field(ge=0, description="features dropped because the buffer was full")
    unmatched: int = Field(
        ge=0,
        description="outcomes given up on: their features never came within the TTL, or had gone",
    )
    features_gone: int = Field(
        0,
        ge=0,
        description="of unmatched: outcomes whose features had expired, been evicted or dead-lettered",
    )
    waiting_outcomes: int = Field(
        0, ge=0, description="outcomes that came before their features, waiting for them"
    )
    early_joined: int = Field(
        0, ge=0, description="outcomes that came first and were joined when their features came"
    )
    duplicate_outcomes: int = Field(ge=0)
    duplicate_features: int = Field(ge=0)
    label_latency_mean_s: float | None = Field(None, description="outcome time minus feature time")
    label_latency_max_s: float | None = None


class SnapshotManifest(Contract):
    model: Identifier
    version: int = Field(ge=1)
    created_at: AwareDatetime
    n_learned: int = Field(ge=0)
    metrics: dict[str, float | None] = Field(description="prequential metrics since the start")
    rolling_metrics: dict[str, float | None] = Field(description="over the last `window` events")
    segment_metrics: dict[str, dict[str, dict[str, float | None]]] = Field(
        default_factory=dict, description="segment field -> value -> metric -> value"
    )
    trained_through: dict[str, int] = Field(
        description="'topic:partition' -> the next offset to read (Kafka's committed-offset "
        "convention): everything before it is in the model"
    )
    join: JoinReport
    invalid_events: int = Field(ge=0, description="inputs sent to the dead-letter topic")
    model_failures: int = Field(
        0, ge=0, description="events left out: the model raised on them or they made it non-finite"
    )
    schema_fingerprint: str = Field(min_length=64, max_length=64)
    environment: dict[str, str] = Field(description="python, river and lazarus versions")
    pipeline: str = Field(description="the river pipeline, as river prints it")
    blob_sha256: str = Field(min_length=64, max_length=64)
    blob_bytes: int = Field(ge=0)
    model_sha256: str | None = Field(
        None,
        min_length=64,
        max_length=64,
        description="sha256 of the pickled model alone: the part scorers load",
    )
    model_bytes: int | None = Field(None, ge=0)
    signer: str = Field(description="first 16 hex digits of the public key that signs it")
    snapshot_modules: tuple[ModulePrefix, ...] = Field(
        (),
        description="module prefixes whose own classes and functions the model may reference, "
        "beyond river's and Lazarus's (the trainer's LAZARUS_SNAPSHOT_MODULES); scorers load "
        "it only if their own setting allows every one",
    )

    @model_serializer(mode="wrap")
    def _without_empty_modules(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Absent when empty: a manifest without modules reads as it did (older scorers, whose
        # manifest forbids unknown fields, still open one that needs none).
        data: dict[str, Any] = handler(self)
        if not self.snapshot_modules:
            data.pop("snapshot_modules", None)
        return data
