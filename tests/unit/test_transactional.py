"""Exactly-once bookkeeping without a broker: which inputs an aborted transaction reads again
one at a time, which input's output was refused, and the counts an abort puts back."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any, cast

import pytest
from confluent_kafka import KafkaError, KafkaException, Message

from lazarus.kafka.transactional import TransactionalConsumer
from lazarus.kafka.txn_calls import bounded, txn_call
from lazarus.scorer.delivery import Counters, producer_options
from lazarus.scorer.shadow import ShadowScorer
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
    tc._isolate(_refused().error())
    assert tc._single_until == {("in", 0): 13, ("in", 1): 5}
    assert tc._refused == {}


def test_an_aborted_batch_of_one_names_its_input_and_why() -> None:
    tc = _consumer()
    tc._starts = {("in", 1): 7}
    tc._nexts = {("in", 1): 8}
    tc._isolate(_refused().error())
    assert tc._single_until == {}
    msg = Message(topic="in", partition=1, offset=7, value=b"x")
    refused = tc.refused_reason(msg)
    assert refused is not None and refused[1] == 1
    reason = refused[0]
    assert "refused its output for good" in reason
    assert "Broker: Message size too large" in reason or "MSG_SIZE_TOO_LARGE" in reason, reason
    assert tc.refused_reason(msg) is None, "dead-lettered once, then forgotten"


def test_an_abort_puts_back_the_counts_of_the_transaction() -> None:
    letters = SimpleNamespace(count=2, by_origin={"in": 2}, discard_refused=lambda: None)
    shadow = ShadowScorer("shadow")
    shadow.published[("m.fresh", "challenger")] = 10
    app = SimpleNamespace(
        scored=10,
        in_by_topic={"in": 12},
        dead_letters=letters,
        scoring=SimpleNamespace(shadow=shadow),
    )
    counts = Counters(cast(Any, app))
    counts.keep()
    app.scored, letters.count = 25, 3
    app.in_by_topic["in"] = 28
    letters.by_origin["in"] = 3
    shadow.published[("m.fresh", "challenger")] = 25
    shadow.published[("m", "baseline")] = 15
    shadow.failed = 1
    assert counts.restore() is None, "no dead letter was refused for good"
    assert (app.scored, app.in_by_topic, letters.count, letters.by_origin) == (
        10,
        {"in": 12},
        2,
        {"in": 2},
    )
    assert shadow.published == {("m.fresh", "challenger"): 10, ("m", "baseline"): 0}
    assert shadow.failed == 0


def test_only_exactly_once_producers_are_transactional_each_with_its_own_id() -> None:
    assert producer_options(Settings(), "lazarus.scorer.habitat") == {}
    eos = Settings(scorer_delivery="exactly-once")
    one, two = (producer_options(eos, "lazarus.scorer.habitat") for _ in range(2))
    assert one["transactional.id"].startswith("lazarus.scorer.habitat.")
    assert one["transactional.id"] != two["transactional.id"]
    assert one["transaction.timeout.ms"] == 10_000


def _failing(*errors: KafkaError) -> Any:
    """A transactional call that fails with `errors`, one per call, then succeeds."""
    left = list(errors)

    def call() -> None:
        if left:
            raise KafkaException(left.pop(0))

    return call


def test_a_call_that_cannot_succeed_is_handed_back_for_an_abort() -> None:
    # Seen on a 3-node cluster losing a partition leader: messages timed out while
    # send_offsets was being retried, then EndTxn answered INVALID_TXN_STATE.
    invalid = KafkaError(KafkaError.INVALID_TXN_STATE)
    assert txn_call(_failing(invalid), "commit") is invalid


def test_retriable_failures_are_retried_and_fatal_ones_raise() -> None:
    busy = KafkaError(KafkaError.CONCURRENT_TRANSACTIONS, retriable=True)
    assert txn_call(_failing(busy, busy), "send offsets") is None
    fenced = KafkaError(KafkaError._FENCED, fatal=True)
    with pytest.raises(KafkaException):
        txn_call(_failing(fenced), "commit")


def test_a_call_blocked_past_its_bound_gives_the_producer_up() -> None:
    # librdkafka #5456: send_offsets_to_transaction can block past its own timeout.
    release = threading.Event()
    with pytest.raises(KafkaException) as raised:
        bounded(lambda: release.wait(30), "send offsets", 0.2)
    release.set()
    assert raised.value.args[0].fatal(), "fatal: the caller replaces the producer"
    assert "did not return" in raised.value.args[0].str()
    bounded(lambda: None, "commit", 5)  # a call that returns in time is just run
