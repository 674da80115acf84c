"""Consumer group names, in one place: `{topic_prefix}lazarus.{role}.{model}`.

The topic prefix namespaces groups as it namespaces topics, so environments that
share a cluster (staging beside production, or test runs) never share a group.
"""

from __future__ import annotations


def group_name(prefix: str, role: str, model: str) -> str:
    """>>> group_name("", "scorer", "habitat")
    'lazarus.scorer.habitat'
    """
    return f"{prefix}lazarus.{role}.{model}"


def known_groups(prefix: str) -> dict[str, tuple[str, ...]]:
    """The groups of the built-in models' trainers and scorers, with the topics each reads."""
    from lazarus.roles import MODELS  # the built-in models and their topics (no river import)

    groups: dict[str, tuple[str, ...]] = {}
    for model, (inputs, outcomes) in MODELS.items():
        groups[group_name(prefix, "trainer", model)] = (inputs.full(prefix), outcomes.full(prefix))
        groups[group_name(prefix, "scorer", model)] = (inputs.full(prefix),)
    return groups
