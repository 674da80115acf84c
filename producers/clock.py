"""The simulated clock: how far event time moves per event, so that delayed outcomes can join.

A simulator stamps its events with simulated time, and the feed sends each with its event
time as its Kafka timestamp. The trainer's join clock is the newest feature time: features
whose outcome has not come within the model's pending TTL (14 days of event time) expire.
The feed releases an outcome `label_delay` wall seconds after its event, so simulated time
must not run far ahead of the wall clock meanwhile. With a rate (`--rate`), simulated time
therefore advances `1 / rate` per event, in step with the wall clock: a label delay of 5 s is
5 s of event time too, and the Kafka timestamps stay near the broker's clock (which a broker
may require: Kafka's `log.message.timestamp.after.max.ms`). Without a rate, simulated time
advances by the configured interval, and the feed also releases each outcome as soon as the
stream's event time reaches the outcome's own (see `producers.feed`).
"""

from __future__ import annotations


def step_seconds(rate: float | None, events_per_step: int, unpaced: float) -> float:
    """Simulated seconds between two steps of a simulator that emits `events_per_step` events
    per step (one reading per sensor, one assay): `events_per_step / rate` when paced at `rate`
    events per second, else `unpaced`.

    >>> step_seconds(200.0, 60, 600.0)
    0.3
    >>> step_seconds(None, 60, 600.0)
    600.0
    """
    if rate is None:
        return unpaced
    return events_per_step / rate
