"""The schema fingerprint: a stable hash of what a model's features are made of.

A snapshot records the fingerprint of the code that trained it; a scorer
refuses a snapshot whose fingerprint differs from its own code's, so train and
serve can never disagree on features silently.
"""

from __future__ import annotations

import hashlib
import json

from lazarus.schemas.base import Event

FEATURES_REVISION = 1
"""Bump when `to_features()` changes meaning without changing names."""


def schema_fingerprint(*events: type[Event]) -> str:
    """sha256 over the event names, schema versions, and feature names in order.

    >>> from schemas.sensors import SensorReading
    >>> schema_fingerprint(SensorReading) == schema_fingerprint(SensorReading)
    True
    """
    parts = [
        {
            "event": cls.__name__,
            "schema_version": cls.model_fields["schema_version"].default,
            "features": list(getattr(cls, "FEATURE_SPEC", ())),
        }
        for cls in events
    ]
    blob = json.dumps({"revision": FEATURES_REVISION, "events": parts}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()
