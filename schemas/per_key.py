"""Per-key models: one model per value of a key field, trained in shards by partition.

A contract with `per_key` set is trained as one model per value of `per_key.field` (a site,
a species), plus an optional pooled fallback that serves keys with fewer than
`per_key.min_history` learned events. Its state is kept per *shard*: the models of the keys
whose events arrive on one partition number of the inputs and outcomes (they are keyed by
subject, so a subject's events share a partition). Each shard is a registry line of its own,
`shard_line(model, partition)`, with signed versions stamped with that shard's trained-through
offsets, so trainers of one model scale as a consumer group and scorers route an input by its
partition to the shard that learned it. No river import here.

>>> shard_line("habitat_sites", 3)
'habitat_sites.shard3'
>>> shard_of("habitat_sites.shard3", "habitat_sites")
3
>>> shard_of("habitat_sites", "habitat_sites") is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lazarus.schemas.errors import ConfigError

SHARD = "shard"

Route = Literal["key", "fallback"]
"""Which model scored or was evaluated on an event: the key's own, or the pooled fallback."""


@dataclass(frozen=True)
class PerKey:
    """One model per value of `field`, a fallback for keys with little history.

    `field`: an input field whose value is constant for a subject (`site_id` for readings
    keyed by site), so a key's events stay on one partition; a field that varies within a
    subject still works, but each partition then grows its own model of the key.
    `min_history`: a key's own model serves once it has learned this many events; until then
    the fallback does (or, with no fallback, the key's own model from its first event).
    `fallback`: keep a pooled model per shard, learned from every event of the shard's keys."""

    field: str
    min_history: int = 50
    fallback: bool = True

    def __post_init__(self) -> None:
        if not self.field or not self.field.isidentifier():
            raise ConfigError(f"per_key.field must name an input field, not {self.field!r}")
        if self.min_history < 0:
            raise ConfigError(f"per_key.min_history must be 0 or more, not {self.min_history}")


def shard_line(model: str, partition: int) -> str:
    """The registry name of `model`'s shard for input partition `partition`."""
    return f"{model}.{SHARD}{partition}"


def split_shard(line: str) -> tuple[str, int] | None:
    """(model, partition) of any shard line; None for another name.

    >>> split_shard("habitat_sites.shard12"), split_shard("habitat.fresh")
    (('habitat_sites', 12), None)
    """
    model, dot, tail = line.rpartition(".")
    number = tail[len(SHARD) :]
    if not dot or not model or not tail.startswith(SHARD) or not number.isdigit():
        return None
    return model, int(number)


def shard_of(line: str, model: str) -> int | None:
    """The partition of a shard line of `model`; None for any other name."""
    head = f"{model}.{SHARD}"
    tail = line[len(head) :]
    if not line.startswith(head) or not tail.isdigit():
        return None
    return int(tail)
