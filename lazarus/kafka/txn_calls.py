"""One call of a transactional producer, and which failed deliveries refused their record.

`txn_call` turns librdkafka's transactional error classes (retriable, abortable, fatal) into
what `lazarus.kafka.transactional` does next: retry, abort, or give the producer up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from lazarus.errors import ServiceUnavailable
from lazarus.kafka.producer import retriable

log = logging.getLogger("lazarus.kafka")

TXN_CALL_TIMEOUT_S = 15.0
"""The timeout librdkafka gets for one transactional call (a coordinator's failover, when a
broker dies, takes about 10 s)."""
STUCK_MARGIN_S = 10.0
"""How long past its own timeout a call may block before the producer is given up."""
TXN_RETRY_FOR_S = 120.0
"""How long retriable failures of a transactional call are retried (a coordinator moving, a
broker lost) before ServiceUnavailable (the worker is restarted)."""

_NOT_REFUSALS = frozenset(
    {KafkaError._STATE, KafkaError._FENCED, KafkaError._FATAL, KafkaError._PURGE_QUEUE,
     KafkaError._PURGE_INFLIGHT}
)  # fmt: skip


def bounded(call: Callable[[], Any], what: str, seconds: float) -> None:
    """Run `call` in a thread, waiting at most `seconds` for it. A call still blocked then
    raises a fatal KafkaException: the producer is given up (the caller replaces it), and the
    thread is left to return whenever librdkafka lets it. librdkafka 2.16 can block
    `send_offsets_to_transaction` past its own timeout when the group coordinator's broker
    died (confluentinc/librdkafka#5456, #5511: seen here on a 3-node cluster, for minutes)."""
    done = threading.Event()
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the caller's thread
            raised.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=f"txn-{what}", daemon=True).start()
    if not done.wait(seconds):
        text = f"transaction {what} did not return in {seconds:.0f} s (librdkafka #5456)"
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, text, fatal=True))
    if raised:
        raise raised[0]


def is_refusal(err: object) -> bool:
    """Whether a failed delivery refused the record itself for good (too large, invalid,
    not authorized), rather than failing because the transaction already had."""
    return isinstance(err, KafkaError) and not retriable(err) and err.code() not in _NOT_REFUSALS


def txn_call(
    call: Callable[[], Any], what: str, retry_for: float = TXN_RETRY_FOR_S
) -> KafkaError | None:
    """Run one transactional call. None when it succeeded. Retriable failures are retried for
    `retry_for` s (then ServiceUnavailable). Any other failure that leaves the producer usable
    is returned: the transaction must be aborted. This includes failures librdkafka does not
    mark `txn_requires_abort()`, such as INVALID_TXN_STATE after messages timed out while a
    call was being retried, seen when a partition leader died mid-transaction. A fatal error
    (this producer is fenced; or the call is stuck, see `bounded`) is re-raised as
    KafkaException."""
    deadline = time.monotonic() + retry_for
    while True:
        try:
            bounded(call, what, min(retry_for, TXN_CALL_TIMEOUT_S) + STUCK_MARGIN_S)
            return None
        except KafkaException as exc:
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if err is None or err.fatal():
                raise
            if err.txn_requires_abort() or not err.retriable():
                return err
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"transaction {what} failed for {retry_for:.0f} s: {err.str()}"
                ) from exc
            log.warning("transaction %s: %s; retrying", what, err.str())
