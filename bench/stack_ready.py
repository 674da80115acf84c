"""How long until the embedded stack is ready (target, issue #2: under 10 s).

Baseline: the bare Tansu broker answering a metadata request. Then the whole
stack (broker, Redis check, 7 topics created and visible), with the local
Redis and with the embedded redis-server fallback.

    python -m bench.stack_ready [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics

from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.ports import free_port
from lazarus.embedded.stack import Stack
from lazarus.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bare, local, fallback = [], [], []
    for _ in range(args.runs):
        broker = EmbeddedBroker(free_port())
        bare.append(broker.start())
        broker.stop()
        with Stack(Settings(embedded_broker_port=free_port())) as stack:
            assert stack.info is not None
            local.append(stack.info.ready_seconds)
        dead = f"redis://127.0.0.1:{free_port()}/0"
        with Stack(Settings(embedded_broker_port=free_port(), redis_url=dead)) as stack:
            assert stack.info is not None and stack.info.redis_embedded
            fallback.append(stack.info.ready_seconds)

    def row(name: str, xs: list[float]) -> str:
        return f"{name:<44} median {statistics.median(xs):6.3f}s  max {max(xs):6.3f}s"

    print(row("bare broker to metadata (baseline)", bare))
    print(row("stack: broker + local Redis + topics", local))
    print(row("stack: broker + embedded redis-server + topics", fallback))
    worst = max(local + fallback)
    print(
        f"worst stack start {worst:.3f}s = {worst / statistics.median(bare):.1f}x the bare broker; "
        f"target < 10 s: {'met' if worst < 10 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
