"""Exactly-once bookkeeping without a broker: which inputs an aborted transaction reads again
one at a time, which input's output was refused, and the counts an abort puts back."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from confluent_kafka import KafkaError, Message

from lazarus.kafka.transactional import TransactionalConsumer
from lazarus.scorer.delivery import Counters, producer_options
from lazarus.settings import Settings


def _consumer() -> TransactionalConsumer:
    return TransactionalConsumer({}, producer=lambda: cast(Any, None))


def _refused() -> Message:
    err = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
    return Message(topic="scores", value=b"{}", error=err)


def test_an_aborted_batch_of_many_is_read_again_one_input_per_transaction() -> None:
    tc = _consumer()
    tc._starts = {("in", 0): 10, ("in", 1): 4}
    tc._nexts = {("in", 0): 13, ("in", 1): 5}
    tc._isolate(_refused())
    assert tc._single_until == {("in", 0): 13, ("in", 1): 5}
    assert tc._refused == {}


def test_an_aborted_batch_of_one_names_its_input_and_why() -> None:
    tc = _consumer()
    tc._starts = {("in", 1): 7}
    tc._nexts = {("in", 1): 8}
    tc._isolate(_refused())
    assert tc._single_until == {}
    msg = Message(topic="in", partition=1, offset=7, value=b"x")
    reason = tc.refused_reason(msg)
    assert reason is not None and "refused its output for good" in reason
    assert "Broker: Message size too large" in reason or "MSG_SIZE_TOO_LARGE" in reason, reason
    assert tc.refused_reason(msg) is None, "dead-lettered once, then forgotten"


def test_an_abort_puts_back_the_counts_of_the_transaction() -> None:
    letters = SimpleNamespace(count=2, by_origin={"in": 2})
    app = SimpleNamespace(scored=10, in_by_topic={"in": 12}, dead_letters=letters)
    counts = Counters(cast(Any, app))
    counts.keep()
    app.scored, letters.count = 25, 3
    app.in_by_topic["in"] = 28
    letters.by_origin["in"] = 3
    counts.restore()
    assert (app.scored, app.in_by_topic, letters.count, letters.by_origin) == (
        10,
        {"in": 12},
        2,
        {"in": 2},
    )


def test_only_exactly_once_producers_are_transactional_each_with_its_own_id() -> None:
    assert producer_options(Settings(), "lazarus.scorer.habitat") == {}
    eos = Settings(scorer_delivery="exactly-once")
    one, two = (producer_options(eos, "lazarus.scorer.habitat") for _ in range(2))
    assert one["transactional.id"].startswith("lazarus.scorer.habitat.")
    assert one["transactional.id"] != two["transactional.id"]
    assert one["transaction.timeout.ms"] == 10_000
