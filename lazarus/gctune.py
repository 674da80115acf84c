"""Garbage-collector settings for long-running stream workers.

Workers allocate millions of short-lived objects (decoded events, feature dicts)
while holding large long-lived state (models, join buffers). CPython's default
thresholds then run full collections that re-walk that state every few
thousand events. Our hot objects form no reference cycles, so collections are
made rarer, and what exists at start-up is moved out of the collector's sight.
"""

from __future__ import annotations

import gc

STREAM_THRESHOLDS = (50_000, 20, 50)


def tune_for_streaming() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*STREAM_THRESHOLDS)
