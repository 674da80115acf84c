"""Memory of the delayed-label join with the 1M pending-key cap (issue #4: bounded; report peak RSS).

Feeds more features than the cap (no outcomes), so the buffer fills, then evicts the oldest.
Baseline in the same run: the process's RSS before the buffer exists.

    python -m bench.pending_memory [--features 1300000]
"""

from __future__ import annotations

import argparse
import itertools
import resource
from datetime import UTC, datetime
from pathlib import Path

from lazarus.producers.sensor_sim import SensorNetwork, SimConfig
from lazarus.schemas.topics import SENSOR_READINGS
from lazarus.trainer.learner import Learner
from lazarus.trainer.specs import habitat


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--features", type=int, default=1_300_000)
    args = ap.parse_args()
    spec = habitat()
    learner = Learner(spec)
    cap = spec.max_pending
    # One simulated second per tick: 1.3M readings span hours, far inside the 14-day TTL.
    stream = SensorNetwork(
        SimConfig(seed=2, fault_rate=0, interval_s=1.0), datetime(2026, 1, 1, tzinfo=UTC)
    )
    decode = SENSOR_READINGS.decode_many
    base = rss_mb()
    at_cap: float | None = None
    batch: list[bytes] = []
    for i, (_, raw, _) in enumerate(itertools.islice(stream, args.features)):
        batch.append(raw)
        if len(batch) == 5000:
            for j, event in enumerate(decode(batch)):
                learner.observe_features(event, i + j)  # type: ignore[arg-type]
            batch = []
            if at_cap is None and len(learner.state.join.entries) >= cap:
                at_cap = rss_mb()
    join = learner.state.join
    assert at_cap is not None, f"the buffer never reached its cap of {cap:,}"
    print(
        f"features fed {args.features:,}; cap {cap:,}; pending {len(join.entries):,}; "
        f"evicted {join.counters.evicted:,}"
    )
    print(
        f"RSS before the buffer (baseline) {base:.0f} MB; at the cap {at_cap:.0f} MB; "
        f"after {args.features - cap:,} more {rss_mb():.0f} MB; peak {peak_mb():.0f} MB"
    )
    print(
        f"per pending key: {(rss_mb() - base) * 1024 * 1024 / len(join.entries):.0f} bytes; "
        f"bounded: {'yes' if rss_mb() <= at_cap * 1.05 else 'NO'} (after the cap, RSS stays within 5 %)"
    )


if __name__ == "__main__":
    main()
