"""The ids a join has recently joined or given up on, as 64-bit digests in a ring."""

from __future__ import annotations

import struct
from array import array
from hashlib import blake2b

_as_int64 = struct.Struct("<q").unpack
"""8 digest bytes as a signed little-endian int: `int.from_bytes(.., "little", signed=True)`,
in one C call."""


class RecentIds:
    """The last `capacity` ids seen, as 64-bit digests in a ring: a few bytes each in a snapshot.

    The lookup set is rebuilt on load rather than pickled.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._ring = array("q")
        self._next = 0
        self._set: set[int] = set()

    @staticmethod
    def _digest(event_id: str) -> int:
        """The first 8 bytes of the id's BLAKE2b-64 digest as a signed int (what snapshots hold)."""
        return _as_int64(blake2b(event_id.encode(), digest_size=8).digest())[0]  # type: ignore[no-any-return]

    def __contains__(self, event_id: str) -> bool:
        # `_digest` inlined: this runs once or twice per learned event.
        return _as_int64(blake2b(event_id.encode(), digest_size=8).digest())[0] in self._set

    def add(self, event_id: str) -> None:
        d = _as_int64(blake2b(event_id.encode(), digest_size=8).digest())[0]
        ring = self._ring
        if len(ring) < self.capacity:
            ring.append(d)
        else:
            self._set.discard(ring[self._next])
            ring[self._next] = d
            self._next = (self._next + 1) % self.capacity
        self._set.add(d)

    def __len__(self) -> int:
        return len(self._ring)

    def __getstate__(self) -> dict[str, object]:
        return {"capacity": self.capacity, "ring": self._ring.tobytes(), "next": self._next}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.capacity = int(state["capacity"])  # type: ignore[call-overload]
        self._ring = array("q")
        self._ring.frombytes(state["ring"])  # type: ignore[arg-type]
        self._next = int(state["next"])  # type: ignore[call-overload]
        self._set = set(self._ring)
