"""The librdkafka options Lazarus's delivery guarantees rest on, which LAZARUS_KAFKA_OPTIONS
may not change.

Every other option a user sets wins over Lazarus's defaults (`lazarus.kafka.config`): the
producers' ``linger.ms`` and ``compression.type``, the scorer's ``fetch.wait.max.ms``, the
group timeouts. These do not, because changing them breaks a promise the docs make:

- an idempotent producer (``enable.idempotence``, ``acks``): no duplicate or reordered output
  on retry, and the exactly-once scorer's transactions need it;
- store-after-ack (``enable.auto.offset.store``): an input's offset is stored only once its
  outputs are acknowledged, so a crash re-scores and never skips;
- ``auto.offset.reset=earliest``: a new group reads every input there is, none is left out;
- ``isolation.level=read_committed``: aborted transactions are never read;
- the options each role sets for itself (its group, its transactional id, its commit mode).

Pure: `guarantee_problem(key, value)` says why an option is refused, or None.
"""

from __future__ import annotations

from typing import Any

ALIASES: dict[str, str] = {
    "request.required.acks": "acks",
    "queue.buffering.max.ms": "linger.ms",
    "compression.codec": "compression.type",
}
"""librdkafka's other names for an option (alias -> the name Lazarus uses): a user's option is
judged, and wins over Lazarus's defaults, by the option it names, whichever name it uses."""


def option_name(key: str) -> str:
    """The name Lazarus uses for librdkafka option `key` (`ALIASES`).

    >>> option_name("queue.buffering.max.ms"), option_name("linger.ms")
    ('linger.ms', 'linger.ms')
    """
    return ALIASES.get(key, key)


NEEDED: dict[str, tuple[tuple[str, ...], str]] = {
    "enable.idempotence": (
        ("true", "t", "1"),
        "an idempotent producer never duplicates on retry",
    ),
    "acks": (("all", "-1"), "an idempotent producer waits for every in-sync replica"),
    "enable.auto.offset.store": (
        ("false",),
        "offsets are stored only once outputs are acknowledged (at least once)",
    ),
    "auto.offset.reset": (
        ("earliest", "smallest", "beginning"),
        "a new group reads every input from the start",
    ),
    "isolation.level": (("read_committed",), "aborted transactions must never be read"),
}
"""option -> (the values that keep the guarantee, spelled as librdkafka takes them; why)."""

SET_BY_ROLE: dict[str, str] = {
    "group.id": "each role names its own group (LAZARUS_TOPIC_PREFIX namespaces them)",
    "transactional.id": "each exactly-once scorer makes a unique one",
    "transaction.timeout.ms": "the exactly-once scorer sets it with its recovery time",
    "enable.auto.commit": "each role commits as its guarantee needs",
    "enable.partition.eof": "the trainer needs partition ends; the others must not see them",
    "group.instance.id": (
        "one static member id for every consumer of every role and worker would fence them "
        "from each other"
    ),
}
"""Options each role sets for itself -> why a user may not set them."""


def guarantee_problem(key: str, value: Any) -> str | None:
    """Why setting librdkafka option `key` to `value` in LAZARUS_KAFKA_OPTIONS breaks a
    guarantee, or None when it does not. Booleans and numbers compare as librdkafka reads them.

    >>> guarantee_problem("linger.ms", 0) is None
    True
    >>> guarantee_problem("acks", -1) is None
    True
    >>> guarantee_problem("acks", "1")
    'Lazarus needs acks=all: an idempotent producer waits for every in-sync replica'
    >>> guarantee_problem("request.required.acks", 1)
    'Lazarus needs acks=all: an idempotent producer waits for every in-sync replica'
    >>> guarantee_problem("group.id", "mine")
    'set by Lazarus: each role names its own group (LAZARUS_TOPIC_PREFIX namespaces them)'
    """
    key = option_name(key)
    if key in SET_BY_ROLE:
        return f"set by Lazarus: {SET_BY_ROLE[key]}"
    if key not in NEEDED:
        return None
    allowed, why = NEEDED[key]
    if str(value).lower() in allowed:  # True -> "true", -1 -> "-1"
        return None
    return f"Lazarus needs {key}={allowed[0]}: {why}"
