"""Health at a glance: one overall state (ok, degraded, failing) and the reasons for it.

Pure: `assess` takes what `lazarus status` and the dashboard already gather (role heartbeats,
consumer lag with its history, the current versions' ages, whether each model's inputs flow)
and returns a `Health`. The thresholds are the named constants below; where a rule of
deploy/prometheus/alerts.yml watches the same thing, the constant is that rule's number (named
beside it), so the banner and the alerts agree. Refusals and learning are judged over the
alerts' windows from the times roles beat (`last_refused_at`, `last_learned_at`,
`last_read_at`); dead letters over the dashboard's window of heartbeats, or, for the one-shot
`lazarus status`, since the role started (the reason says so).

>>> h = assess(HealthInput(groups=(GroupLagFigure("lazarus.trainer.habitat", 4000, 700.0),)))
>>> h.state, h.reasons[0].code
('failing', 'lag_seconds')
>>> assess(HealthInput()).state
'ok'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lazarus.health_facts import CountWindow, GroupLagFigure, HealthInput, RoleBeat

__all__ = [
    "CountWindow",
    "GroupLagFigure",
    "Health",
    "HealthInput",
    "Reason",
    "RoleBeat",
    "State",
    "assess",
]

State = Literal["ok", "degraded", "failing"]
"""ok: nothing to do; degraded: serving or learning falls behind (act today); failing: data is
refused or lost, or work stopped (act now)."""

LAG_SECONDS_DEGRADED = 120.0
"""A group whose oldest unconsumed message is older (s) is behind (alerts.yml
LazarusLagSecondsHigh)."""
LAG_SECONDS_FAILING = 600.0
"""... and this far behind (s) it is failing."""
LAG_GROWTH_MESSAGES = 1000
"""Lag troughs this many messages higher than earlier: the group falls behind (alerts.yml
LazarusLagGrowing)."""
LAG_GROWTH_SPAN_S = 120.0
"""Lag history must span this long (s) before growth is judged."""
LAG_TROUGH_S = 60.0
"""Growth compares the lowest lag of the newest and the oldest this many seconds of history
(the trough, not the value: a trainer's lag is a sawtooth that drops at every snapshot)."""
MODEL_STALE_S = 900.0
"""A current version older than this (s) while its inputs flow is stale (alerts.yml
LazarusModelStale)."""
JOIN_EXPIRED_SHARE = 0.5
"""Over this share of what leaves a trainer's label join leaves it without an outcome
(alerts.yml LazarusTrainerJoinsExpiring)."""
JOIN_MIN_LEFT = 100
"""... judged once this many features have left the join."""
NOT_LEARNING_S = 900.0
"""A trainer that read events in this many seconds and learned none in them learns nothing
(alerts.yml LazarusTrainerNotLearning: 15 minutes)."""
REFUSED_WINDOW_S = 600.0
"""A scorer that refused a snapshot version in this many seconds is refusing (alerts.yml
LazarusScorerRefusingVersions: 10 minutes)."""
DEAD_LETTER_SHARE = 0.05
"""Over this share of a role's inputs dead-lettered is a spike (alerts.yml
LazarusDeadLetterRateHigh)."""
DEAD_LETTER_WINDOW_S = 600.0
"""The dashboard judges the share over this many seconds of heartbeats (alerts.yml
LazarusDeadLetterRateHigh: 10 minutes)."""
DEAD_LETTER_MIN_INPUTS = 100
"""... judged once the role read this many inputs (in the window, or since start)."""
HEARTBEAT_STALE_BEATS = 3.0
"""A heartbeat older than this many heartbeat intervals is gone stale (its key lives 5)."""

_RANK: dict[State, int] = {"ok": 0, "degraded": 1, "failing": 2}


@dataclass(frozen=True)
class Reason:
    """Why health is not ok: a stable `code`, the `state` this reason alone gives, the thing
    it is about (`subject`: a group, model or role) and one line for an operator."""

    code: str
    state: State
    subject: str
    text: str


@dataclass(frozen=True)
class Health:
    state: State
    reasons: tuple[Reason, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """`{"state": ..., "reasons": [{"code", "state", "subject", "text"}, ...]}`."""
        return {
            "state": self.state,
            "reasons": [
                {"code": r.code, "state": r.state, "subject": r.subject, "text": r.text}
                for r in self.reasons
            ],
        }


def assess(seen: HealthInput) -> Health:
    """The overall state (the worst of the reasons, ok with none) and the reasons, worst
    first."""
    reasons = [
        *lag_reasons(seen.groups, seen.lag_history),
        *model_reasons(seen.model_ages, seen.flowing),
        *role_reasons(seen.roles, seen.expected, seen.heartbeat_s),
    ]
    reasons.sort(key=lambda r: -_RANK[r.state])
    state: State = reasons[0].state if reasons else "ok"
    return Health(state, tuple(reasons))


def lag_reasons(
    groups: Iterable[GroupLagFigure],
    history: Mapping[str, Sequence[tuple[float, int | None]]],
) -> list[Reason]:
    """Groups too far behind in seconds, and groups whose lag grows."""
    out = []
    for g in groups:
        age = g.lag_seconds
        if g.committed and age is not None and age > LAG_SECONDS_DEGRADED:
            state: State = "failing" if age > LAG_SECONDS_FAILING else "degraded"
            out.append(
                Reason(
                    "lag_seconds",
                    state,
                    g.group,
                    f"{g.group} is {_duration(age)} behind (its oldest unconsumed message)",
                )
            )
    for group, points in history.items():
        grew = lag_growth(points)
        if grew is not None and grew > LAG_GROWTH_MESSAGES:
            out.append(
                Reason(
                    "lag_growing",
                    "degraded",
                    group,
                    f"{group} falls behind: its lag grew by {grew:,} messages",
                )
            )
    return out


def lag_growth(points: Sequence[tuple[float, int | None]]) -> int | None:
    """How much the lag's trough grew: the lowest lag of the newest `LAG_TROUGH_S` minus
    that of the oldest; None while the history spans less than `LAG_GROWTH_SPAN_S`.

    >>> lag_growth([(0.0, 10), (60.0, 500), (130.0, 2000), (150.0, 1800)])
    1790
    >>> lag_growth([(0.0, 10), (30.0, 5000)]) is None
    True
    """
    known = [(at, lag) for at, lag in points if lag is not None]
    if len(known) < 2 or known[-1][0] - known[0][0] < LAG_GROWTH_SPAN_S:
        return None
    first, last = known[0][0], known[-1][0]
    early = min(lag for at, lag in known if at <= first + LAG_TROUGH_S)
    late = min(lag for at, lag in known if at >= last - LAG_TROUGH_S)
    return late - early


def model_reasons(
    ages: Mapping[str, float | None], flowing: Mapping[str, bool | None]
) -> list[Reason]:
    """Models whose current version is older than `MODEL_STALE_S` while their inputs flow."""
    return [
        Reason(
            "model_stale",
            "degraded",
            model,
            f"{model}: the current version is {_duration(age)} old while its inputs flow",
        )
        for model, age in ages.items()
        if age is not None and age > MODEL_STALE_S and flowing.get(model)
    ]


def role_reasons(
    roles: Sequence[RoleBeat], expected: Iterable[str], heartbeat_s: float
) -> list[Reason]:
    """Roles missing or gone quiet, scorers that refused a version in `REFUSED_WINDOW_S`,
    trainers not learning, and roles dead-lettering over `DEAD_LETTER_SHARE` of their
    inputs."""
    out = _missing(roles, expected, heartbeat_s)
    for r in roles:
        who = f"{r.role} ({r.instance})" if r.instance else r.role
        out += _refusing(r, who)
        out += _trainer(r, who)
        out += _dead_letters(r, who)
    return out


def _refusing(r: RoleBeat, who: str) -> list[Reason]:
    if r.refused_age_s is None or r.refused_age_s > REFUSED_WINDOW_S:
        return []
    serving = f"v{r.model_version}" if r.model_version else "nothing"
    return [
        Reason(
            "scorer_refusing",
            "failing",
            r.role,
            f"{who} refused a snapshot version {_duration(r.refused_age_s)} ago (in the last "
            f"{_duration(REFUSED_WINDOW_S)}): it keeps serving {serving}",
        )
    ]


def _dead_letters(r: RoleBeat, who: str) -> list[Reason]:
    """Over the role's recent window when known (the dashboard), else since it started."""
    if r.window is not None:
        events, dead = r.window.events_in, r.window.dead_lettered
        over = f"in the last {_duration(r.window.span_s)}"
    else:
        events, dead = r.events_in or 0, r.dead_lettered or 0
        over = "since start"
    if events < DEAD_LETTER_MIN_INPUTS or dead <= DEAD_LETTER_SHARE * events:
        return []
    return [
        Reason(
            "dead_letters",
            "degraded",
            r.role,
            f"{who} dead-lettered {dead:,} of {events:,} inputs ({dead / events:.0%}) {over}",
        )
    ]


def _missing(
    roles: Sequence[RoleBeat], expected: Iterable[str], heartbeat_s: float
) -> list[Reason]:
    out = []
    alive = {r.role for r in roles if r.state not in ("stopped", "failed")}
    for name in dict.fromkeys(expected):
        if name not in alive:
            out.append(Reason("role_missing", "failing", name, f"{name} sends no heartbeat"))
    for r in roles:
        who = f"{r.role} ({r.instance})" if r.instance else r.role
        if r.state in ("stopped", "failed"):
            if r.role not in alive and r.role not in expected:
                out.append(Reason("role_missing", "failing", r.role, f"{who} {r.state}"))
        elif r.beat_age_s is not None and r.beat_age_s > HEARTBEAT_STALE_BEATS * heartbeat_s:
            out.append(
                Reason(
                    "heartbeat_stale",
                    "failing",
                    r.role,
                    f"{who} last sent a heartbeat {_duration(r.beat_age_s)} ago",
                )
            )
    return out


def _trainer(r: RoleBeat, who: str) -> list[Reason]:
    if not r.role.startswith("trainer:"):
        return []
    if _not_learning(r):
        return [
            Reason(
                "trainer_not_learning",
                "degraded",
                r.role,
                f"{who} learned nothing for {_duration(NOT_LEARNING_S)} while reading events"
                + (" (nothing since it started)" if r.learned_age_s is None else ""),
            )
        ]
    learned = r.n_learned or 0
    gone = (r.unjoined_expired or 0) + (r.unjoined_evicted or 0)
    if gone >= JOIN_MIN_LEFT and gone > JOIN_EXPIRED_SHARE * (gone + learned):
        return [
            Reason(
                "joins_expiring",
                "degraded",
                r.role,
                f"{who}: {gone / (gone + learned):.0%} of features left the label join "
                "without their outcome (expired or evicted)",
            )
        ]
    return []


def _not_learning(r: RoleBeat) -> bool:
    """Read in the last `NOT_LEARNING_S` and learned nothing in them: the last learned event is
    older, or none was learned by a trainer up that long.

    >>> _not_learning(RoleBeat("trainer:m", read_age_s=1.0, learned_age_s=901.0))
    True
    >>> _not_learning(RoleBeat("trainer:m", read_age_s=1.0, uptime_s=60.0))
    False
    """
    if r.read_age_s is None or r.read_age_s > NOT_LEARNING_S:
        return False
    if r.learned_age_s is None:
        return r.uptime_s is not None and r.uptime_s > NOT_LEARNING_S
    return r.learned_age_s > NOT_LEARNING_S


def _duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3.5 h`.

    >>> _duration(45.2), _duration(720), _duration(12600)
    ('45 s', '12 min', '3.5 h')
    """
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
