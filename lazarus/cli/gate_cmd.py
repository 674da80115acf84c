"""`lazarus models gate MODEL`: where each challenger stands against the promotion policy, and
the rollback guard's state, as the quality monitor last judged them. Reads only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from lazarus import redisconn
from lazarus.cli.context import CliContext, pass_cli, print_json
from lazarus.cli.json_gate import GateReport
from lazarus.cli.model_arg import given_contract, resolve_model
from lazarus.errors import ConfigError
from lazarus.registry.lineup import Lineup
from lazarus.schemas.lifecycle import Lifecycle

NOT_JUDGED = "not judged yet: is the quality monitor (`lazarus quality MODEL`) running?"
_GUARD_KEYS = ("state", "reason", "served", "events", "comparison")
_STANDING_KEYS = ("events", "not_honest", "state", "reason", "comparison")


def gather(lineup: Lineup, model: str, lifecycle: Lifecycle | None) -> dict[str, Any]:
    """The gate report of `model` in `GateReport`'s shape: the lineup as Redis holds it now,
    each challenger's standing and the guard's from the quality monitor's last report (policy
    from that report, else from `lifecycle`). Raises the Redis client's errors."""
    store, report = lineup.store, lineup.record(model, "gate")
    champion = lineup.champion(model)
    policy = report.get("policy") or _policy(lifecycle)
    promotion = (policy or {}).get("promotion") or {}
    judged = {row.get("line"): row for row in report.get("challengers", [])}
    challengers = []
    for line in lineup.challengers(model):
        seen = judged.get(line)
        row: dict[str, Any] = {
            "line": line,
            "version": store.current(line),
            "min_events": promotion.get("min_events"),
        }
        if seen is None:
            row |= {"events": 0, "not_honest": 0, "state": "unjudged", "reason": NOT_JUDGED}
            row["comparison"] = None
        else:
            row |= {key: seen.get(key) for key in _STANDING_KEYS}
        challengers.append(row)
    guard = report.get("guard") or {"state": "unjudged", "reason": NOT_JUDGED}
    base = lineup.baseline(model)
    return {
        "model": model,
        "champion": {"line": champion, "version": store.current(champion)},
        "held": lineup.held(model),
        "metric": report.get("metric"),
        "policy": policy,
        "challengers": challengers,
        "baseline": None if base is None else asdict(base),
        "guard": {"events": 0, "served": None, "comparison": None}
        | {key: guard[key] for key in _GUARD_KEYS if key in guard},
        "judged_at": report.get("at"),
        "last_drift": lineup.record(model, "drift") or None,
        "last_action": lineup.record(model, "action") or None,
    }


def _policy(lifecycle: Lifecycle | None) -> dict[str, Any] | None:
    if lifecycle is None:
        return None
    promotion, guard = lifecycle.promotion, lifecycle.guard
    return {
        "promotion": None if promotion is None else asdict(promotion),
        "guard": None if guard is None else asdict(guard),
    }


def _lifecycle(model: str) -> Lifecycle | None:
    """The lifecycle of the spec the MODEL argument named, else of the built-in model."""
    given = given_contract()
    if given is not None:
        return given.lifecycle
    from lazarus.schemas.models import load_contract

    try:
        return load_contract(model).lifecycle
    except ConfigError:
        return None


@click.command(
    "gate",
    epilog="""\b
Examples:
  lazarus models gate habitat
  lazarus models gate survey.toml --json

A model's challengers (other lines: a spec whose lifecycle says
`challenger_of = "MODEL"`, or MODEL.fresh, trained from a drift) are scored
in shadow on the same events as the champion, and the quality monitor pairs
them with the champion's served scores on the events neither version had
learned yet. The promotion policy (`lifecycle.promotion`): once a challenger
has been judged on `min_events` such events, it is promoted when the lower
bound of the `confidence` interval of its advantage is above `margin` (in the
metric's unit: 0.02 accuracy is two points). The guard (`lifecycle.guard`)
compares what is served with the baseline, the version served before it:
after `min_events` it rolls back to the baseline when what is served is
worse by more than `margin` with `confidence` (and pins it), and clears it
(it becomes the baseline) when it is confidently not that much worse, or
after `max_events`. An automatic rollback of a promotion holds the lineup:
no automatic promotion until an operator promotes.

This command only reads (Redis: LAZARUS_REDIS_URL); nothing is acted on.""",
)
@click.argument("model", callback=resolve_model)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the shape in docs/cli-json.md).")
@pass_cli
def gate(cli: CliContext, model: str, as_json: bool) -> None:
    """Where MODEL's challengers stand against the promotion policy, and the rollback guard."""
    s = cli.settings
    lineup = Lineup(redisconn.require(s.redis_url_value), s.redis_key_prefix)
    data = gather(lineup, model, _lifecycle(model))
    if as_json:
        print_json(data, GateReport)
        return
    show(cli.console, GateReport.model_validate(data))


def show(console: Console, r: GateReport) -> None:
    """The report for a person: the champion, the policy, a row per challenger, the guard."""

    def say(text: str) -> None:
        console.print(text, highlight=False)

    when = "never judged" if r.judged_at is None else f"judged {_ago(r.judged_at)}"
    metric = f"on {r.metric}" if r.metric else "no judged metric yet"
    say(f"{r.model}: serving {_line(r.champion.line, r.champion.version)}; {metric}; {when}")
    promotion = r.policy.promotion if r.policy else None
    if promotion is None:
        say("promotion: " + ("off" if r.policy else "policy unknown (no report, no spec)"))
    else:
        say(
            f"promotion: after {promotion.min_events} honest paired events, when the "
            f"challenger's advantage is above {promotion.margin:g} with "
            f"{promotion.confidence:.0%} confidence"
        )
    if r.challengers:
        table = Table("challenger", "events", "better by (interval)", "state", "why")
        for c in r.challengers:
            events = f"{c.events}" + (f"/{c.min_events}" if c.min_events else "")
            table.add_row(_line(c.line, c.version), events, _diff(c.comparison), c.state, c.reason)
        console.print(table)
    else:
        say("no challengers")
    _show_guard(say, r)
    if r.held:
        say("held: an automatic rollback undid a promotion; no automatic promotion until an "
            "operator promotes")  # fmt: skip
    if r.last_drift:
        d = r.last_drift
        say(f"last drift: {d.get('source')} {d.get('detector')} on {d.get('line')}, error "
            f"{_num(d.get('error_before'))} -> {_num(d.get('error_after'))}, "
            f"{d.get('detected_at')}")  # fmt: skip
    if r.last_action:
        a = r.last_action
        at = datetime.fromtimestamp(float(a.get("at") or 0), UTC).isoformat(timespec="seconds")
        say(f"last action: {a.get('kind')} {_line(a.get('line'), a.get('version'))} at {at}: "
            f"{a.get('reason')}")  # fmt: skip


def _show_guard(say: Callable[[str], None], r: GateReport) -> None:
    g, policy = r.guard, r.policy.guard if r.policy else None
    base = "no baseline" if r.baseline is None else (
        f"baseline {_line(r.baseline.line, r.baseline.version)} since {_ago(r.baseline.since)}"
    )  # fmt: skip
    judged = "" if g.comparison is None else f"; better by {_diff(g.comparison)}"
    say(f"guard: {g.state}, {base}; {g.reason}{judged}")
    if policy is not None:
        say(
            f"  rolls back after {policy.min_events} events when worse by more than "
            f"{policy.margin:g} with {policy.confidence:.0%} confidence; clears at "
            f"{policy.max_events} events at the latest"
        )


def _line(line: Any, version: Any) -> str:
    return f"{line} v{version}" if version is not None else f"{line} (no current version)"


def _diff(cmp: Any) -> str:
    if cmp is None:
        return "–"
    return f"{cmp.difference:+.3g} ({cmp.low:+.3g}..{cmp.high:+.3g})"


def _num(x: Any) -> str:
    return "?" if x is None else f"{float(x):.3g}"


def _ago(at: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - at).total_seconds()))
    return f"{at.isoformat(timespec='seconds')} ({seconds} s ago)"
