"""Consumer group names, in one place: `{topic_prefix}lazarus.{role}.{model}`.

The topic prefix namespaces groups as it namespaces topics, so environments that
share a cluster (staging beside production, or test runs) never share a group.
"""

from __future__ import annotations

from lazarus.schemas.models import BUILTIN


def group_name(prefix: str, role: str, model: str) -> str:
    """The consumer group of `role` (trainer, scorer, quality) for `model`, under `prefix`.

    >>> group_name("", "scorer", "habitat")
    'lazarus.scorer.habitat'
    >>> group_name("staging.", "trainer", "habitat")
    'staging.lazarus.trainer.habitat'
    """
    return f"{prefix}lazarus.{role}.{model}"


def known_groups(prefix: str) -> dict[str, tuple[str, ...]]:
    """The groups of the built-in models' trainers and scorers, with the topics each reads."""
    groups: dict[str, tuple[str, ...]] = {}
    for model, contract in BUILTIN.items():
        inputs = tuple(t.full(prefix) for t in contract.inputs)
        groups[group_name(prefix, "trainer", model)] = (*inputs, contract.outcomes.full(prefix))
        groups[group_name(prefix, "scorer", model)] = inputs
    return groups
