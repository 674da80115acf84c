"""The pump (`trainer.feed`) in a second process, so decoding overlaps with learning.

Parent side: `ProcessFeed(plan).start()`, `wait_ready()`, then `receive(timeout)`
batches, then `stop()`. The child is `python -m lazarus.trainer.feed_process FD`: it
reads its `FeedPlan` as a pickle on stdin and writes length-prefixed pickled
batches to FD from a sender thread, so it goes on decoding while the learner is
busy. It exits when the pipe breaks or its parent is gone (checked on every
poll), so a `kill -9` of the trainer leaves no orphan. It holds nothing a
snapshot needs: when it dies the learner starts another from its own offsets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import IO

from lazarus.kafka.outage import OutageLog
from lazarus.trainer.feed import FeedBatch, FeedPlan, FeedStopped, Pump

log = logging.getLogger(__name__)

STOP_WAIT_S = 5.0
QUEUED_BATCHES = 16
"""Decoded batches waiting for the learner (at most this many x `batch` items)."""


class ProcessFeed:
    def __init__(self, plan: FeedPlan) -> None:
        self.plan = plan
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def start(self) -> None:
        read, write = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "lazarus.trainer.feed_process", str(write)],
                stdin=subprocess.PIPE,
                pass_fds=(write,),
            )
        finally:
            os.close(write)
        self._conn = Connection(read, writable=False)
        stdin: IO[bytes] | None = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(pickle.dumps(self.plan, protocol=5))
            stdin.close()
        except BrokenPipeError:
            pass  # it died at once: wait_ready() says how
        log.debug("decoding process %d started", self._proc.pid)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def wait_ready(self, timeout: float) -> None:
        """Wait for the child's first (empty) batch: it has its plan and its assignment."""
        assert self._conn is not None and self._proc is not None, "start() first"
        deadline = time.monotonic() + timeout
        while self._proc.poll() is None and time.monotonic() < deadline:
            if self._conn.poll(0.05):
                self.receive(0)
                return
        if self._proc.poll() is not None:
            raise FeedStopped(f"the decoding process failed to start ({self._exit_reason()})")
        raise FeedStopped(f"the decoding process did not start within {timeout:.0f}s")

    def receive(self, timeout: float) -> FeedBatch | None:
        """The next batch, or None if none came within `timeout`; FeedStopped if the child died."""
        assert self._conn is not None and self._proc is not None, "start() first"
        if not self._conn.poll(timeout):
            if self._proc.poll() is not None:
                raise FeedStopped(self._exit_reason())
            return None
        try:
            items, counts, stats = pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError) as exc:
            raise FeedStopped(self._exit_reason()) from exc
        return FeedBatch(items, counts, stats)

    def _exit_reason(self) -> str:
        assert self._proc is not None
        try:
            code = self._proc.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            return "its pipe closed but it is still running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self) -> None:
        """Stop the child (it is stateless: whatever it held is read again next time)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the child -------------------------------------------------------------------------------


def run(plan: FeedPlan, conn: Connection) -> int:
    pump = Pump(plan)
    sender = _Sender(conn)
    sender.put(pickle.dumps(([], {}, None), protocol=5))  # "assigned": wait_ready() waits for it
    outage = OutageLog()
    try:
        while os.getppid() == plan.parent and sender.is_alive():
            batch, errors = pump.step(plan.poll_s)
            outage(errors)
            items = batch.items
            if not (items or batch.counts or batch.stats):
                continue
            # The merge releases in bursts (a partition's data arriving unblocks many others):
            # chunks keep the learner's steps short, so its snapshots stay on time.
            for start in range(0, max(len(items), 1), plan.batch):
                chunk = items[start : start + plan.batch]
                last = start + plan.batch >= len(items)
                meta = (batch.counts, batch.stats) if last else ({}, None)
                sender.put(pickle.dumps((chunk, *meta), protocol=5))
    finally:
        sender.close()
        pump.close()
    return 0


class _Sender:
    """Writes batches to the learner from a thread, so decoding goes on while the learner is
    busy with a large release. The queue is bounded: a slow learner slows decoding."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self._broken = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-sender", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            try:
                self._conn.send_bytes(data)
            except OSError:  # the learner stopped listening: it is stopping or gone
                self._broken.set()
                return

    def is_alive(self) -> bool:
        return not self._broken.is_set()

    def put(self, data: bytes) -> None:
        while not self._broken.is_set():
            try:
                self._queue.put(data, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if not self._broken.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=0.5)


def main(argv: list[str]) -> int:
    from lazarus.gctune import tune_for_streaming
    from lazarus.logs import setup_logging

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the learner, which stops us
    plan: FeedPlan = pickle.load(sys.stdin.buffer)
    setup_logging(plan.log_level, role=f"{plan.role} decoder")
    conn = Connection(int(argv[1]), readable=False)
    tune_for_streaming()
    return run(plan, conn)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
