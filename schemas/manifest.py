"""The snapshot manifest: what a model snapshot is, what trained it, and how to check it.

The manifest is signed (Ed25519, over its JSON bytes) and names the sha256 of
the pickled trainer state and of the pickled model alone (what scorers load),
so both are checked before a single byte is unpickled.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from lazarus.schemas.base import Contract, Identifier


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
