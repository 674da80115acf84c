"""One-hot encoding whose snapshots depend only on what it learned.

river's `OneHotEncoder` keeps the categories it has seen as Python sets, and a set of strings
pickles in an order that depends on the process's string hashes (`PYTHONHASHSEED`) and on its
growth history: the same events would seal to different bytes in another process or after a
restart. This encoder is river's, pickled with each feature's categories sorted, so the same
state gives the same bytes (`check_replay_gives_the_same_digest`,
`check_resume_gives_the_same_digest`). It encodes exactly as river's does: a category seen
before and absent now is 0, an unseen one becomes a feature of its own.

>>> import pickle
>>> enc = OneHotEncoder()
>>> for x in ({"habitat": "reed"}, {"habitat": "bog"}):
...     enc.learn_one(x)
>>> again = pickle.loads(pickle.dumps(enc))
>>> again.transform_one({"habitat": "fen"}), again.__getstate__()["values"]
({'habitat_reed': 0, 'habitat_bog': 0, 'habitat_fen': 1}, {'habitat': ['bog', 'reed']})
"""

from __future__ import annotations

import collections
from typing import Any

from river import preprocessing


class OneHotEncoder(preprocessing.OneHotEncoder):
    """river's one-hot encoder with a canonical pickled state (categories sorted)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["values"] = {f: sorted(v, key=_order) for f, v in self.values.items()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        values = {f: set(v) for f, v in state["values"].items()}
        categories = state.get("categories")
        state["values"] = values if categories is not None else collections.defaultdict(set, values)
        self.__dict__.update(state)


def _order(value: Any) -> tuple[str, str]:
    """A total order over categories of any type (they are strings in records)."""
    return type(value).__name__, str(value)
