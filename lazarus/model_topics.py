"""The topics one model needs, created if missing: what a spec-file model's roles do at start.

The built-in models' topics are declared once (`lazarus.schemas.topics`) and made by `lazarus
topics create` or `lazarus up`. A model from a spec file has topics of its own
(`<model>.records.v1`, `.outcomes.v1`, `.scores.v1`), which no declaration lists: its trainer,
scorers and quality monitor create them (and the shared dead-letter and prequential topics) when
they are missing, with the settings' partitions and replication factor. Creating is
idempotent: a topic that exists is left as it is.
"""

from __future__ import annotations

from lazarus.kafka.admin import ensure_topics, wait_for_broker
from lazarus.kafka.config import client_config
from lazarus.schemas.contract import ModelContract
from lazarus.schemas.topics import DEAD_LETTERS, DRIFT, PREQUENTIAL, SHADOW_SCORES
from lazarus.settings import Settings


def model_topics(contract: ModelContract, prefix: str = "") -> list[str]:
    """Full names of every topic `contract`'s roles read or write, under `prefix`.

    >>> from lazarus.schemas.models import HABITAT
    >>> model_topics(HABITAT)[:3]
    ['habitat.sensor_readings.v1', 'habitat.occupancy_outcomes.v1', 'habitat.scores.v1']
    """
    topics = [*contract.inputs, contract.outcomes]
    if contract.scores is not None:
        topics.append(contract.scores)
    return [t.full(prefix) for t in (*topics, DEAD_LETTERS, PREQUENTIAL, SHADOW_SCORES, DRIFT)]


def ensure_model_topics(
    settings: Settings, contract: ModelContract, timeout: float
) -> dict[str, bool]:
    """Create the missing topics of `contract` ({full name: created now}). Waits up to
    `timeout` seconds for the broker; raises ServiceUnavailable naming its setting."""
    conf = client_config(settings, quiet=True)
    wait_for_broker(conf, timeout)
    return ensure_topics(
        conf,
        model_topics(contract, settings.topic_prefix),
        settings.topic_partitions,
        settings.topic_replication_factor,
    )
