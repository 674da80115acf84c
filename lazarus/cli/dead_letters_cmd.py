"""`lazarus dlq inspect|replay`: what was dead-lettered and why; send fixed or selected letters back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.table import Table

from lazarus.cli.context import CliContext, pass_cli, print_json
from lazarus.cli.json_shapes import DeadLetterReport, ReplayReport
from lazarus.dead_letters.reading import (
    group_by_reason,
    input_key,
    one_per_input,
    read_letters,
    select,
)
from lazarus.dead_letters.rejection import reason_of
from lazarus.kafka.admin import wait_for_broker
from lazarus.kafka.config import client_config, producer_config
from lazarus.kafka.producer import Publisher
from lazarus.schemas.deadletter import DeadLetter, TruncatedPayload
from lazarus.schemas.topics import DEAD_LETTERS, by_name


@click.group()
def dlq() -> None:
    """Inspect dead letters grouped by reason, and replay fixed or selected ones."""


def _letters(cli: CliContext, limit: int | None) -> tuple[list[Any], int]:
    s = cli.settings
    conf = client_config(s, quiet=True)
    wait_for_broker(conf, timeout=5.0)
    return read_letters(conf, DEAD_LETTERS.full(s.topic_prefix), limit)


@dlq.command(
    "inspect",
    epilog="""\b
Examples:
  lazarus dlq inspect                                   every reason, most frequent first
  lazarus dlq inspect --topic habitat.sensor_readings.v1 --limit 1000 --json

Reasons that differ only in their numbers are one group (a stuck sensor
reporting 9999 at many sites is one problem). An input rejected by several
stages (the trainer and each scorer group write a letter each) counts once,
naming every stage; the total says how many letters were merged. Each group's example shows its
payload's size and sha256, and "cut" when the letter holds only the start of
it (payloads over 64 KiB). Reading never moves any consumer group's offsets.""",
)
@click.option(
    "--topic",
    default=None,
    help="Only letters from this origin topic (with or without the prefix).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Only the newest N letters per partition.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def inspect(cli: CliContext, topic: str | None, limit: int | None, as_json: bool) -> None:
    """Dead letters grouped by reason: how many, from where, since when, an example."""
    letters, unreadable = _letters(cli, limit)
    if topic is not None:
        letters = select(letters, origin_topic=_full(cli, topic))
    groups = [g.as_dict() for g in group_by_reason(letters)]
    inputs = sum(g["count"] for g in groups)
    if as_json:
        report = {
            "total": len(letters),
            "inputs": inputs,
            "merged": len(letters) - inputs,
            "unreadable": unreadable,
            "groups": groups,
        }
        print_json(report, DeadLetterReport)
        return
    c = cli.console
    if not letters:
        c.print("no dead letters" + (f" from {topic}" if topic else ""), highlight=False)
        return
    table = Table(
        "count", "reason", "stages", "from", "last seen", "example origin", "example payload"
    )
    for g in groups:
        table.add_row(
            str(g["count"]) + (f" ({g['truncated']} cut)" if g["truncated"] else ""),
            g["reason"],
            ", ".join(g["stages"]),
            ",".join(g["origin_topics"]),
            g["last_at"][:19],
            g["example"]["origin"],
            g["example"]["payload_summary"],
        )
    c.print(table)
    c.print(
        merged_text(len(letters), inputs) + (f", {unreadable} unreadable" if unreadable else ""),
        highlight=False,
    )


def merged_text(letters: int, inputs: int) -> str:
    """The count line of `dlq inspect`.

    >>> merged_text(8, 8), merged_text(9, 6)
    ('8 dead letters', '9 dead letters for 6 inputs (3 merged: one input, several stages)')
    """
    if letters == inputs:
        return f"{letters} dead letters"
    return (
        f"{letters} dead letters for {inputs} inputs "
        f"({letters - inputs} merged: one input, several stages)"
    )


def _full(cli: CliContext, topic: str) -> str:
    prefix = cli.settings.topic_prefix
    return topic if topic.startswith(prefix) else f"{prefix}{topic}"


@dlq.command(
    "replay",
    epilog="""\b
Examples:
  lazarus dlq replay --reason "soil_moisture"               dry run: what would be sent
  lazarus dlq replay --reason "soil_moisture" --execute     send them back
  lazarus dlq replay --topic habitat.sensor_readings.v1 --fixed fixed.jsonl --execute

An input dead-lettered by several stages (the trainer and each scorer group) is
sent once. Without --execute nothing is sent. Each payload is validated against its origin
topic's schema first: one that would fail again is not sent (--force sends it
anyway, and it will be dead-lettered again). A letter whose payload was cut
(over 64 KiB) is never sent, even with --force: it is not the original. --fixed
FILE sends corrected events instead, one JSON event per line, to --topic.
Replayed events keep their event ids, so consumers that already saw one drop it.""",
)
@click.option("--topic", default=None, help="Origin topic: a filter, or where --fixed events go.")
@click.option("--reason", default=None, help="Only letters whose reason contains this text.")
@click.option("--stage", type=click.Choice(["producer", "trainer", "scorer"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N letters.")
@click.option(
    "--fixed",
    "fixed",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A JSONL file of corrected events to send to --topic.",
)
@click.option("--execute", is_flag=True, help="Send (the default is a dry run).")
@click.option("--force", is_flag=True, help="Also send payloads that fail validation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def replay(
    cli: CliContext,
    topic: str | None,
    reason: str | None,
    stage: str | None,
    limit: int | None,
    fixed: Path | None,
    execute: bool,
    force: bool,
    as_json: bool,
) -> int:
    """Send selected dead letters (or corrected events) back to their origin topic."""
    plan: list[dict[str, Any]] = []
    merged = 0
    if fixed is not None:
        if topic is None:
            raise click.UsageError("--fixed needs --topic: where the corrected events go")
        target = _full(cli, topic)
        declared = by_name(target, cli.settings.topic_prefix)
        for n, line in enumerate(fixed.read_text().splitlines(), 1):
            if line.strip():
                plan.append(_check(declared, target, None, line.encode(), f"{fixed.name}:{n}"))
    else:
        letters, _ = _letters(cli, None)
        picked = select(
            letters, origin_topic=_full(cli, topic) if topic else None, reason=reason, stage=stage
        )
        keys = {input_key(letter) for letter in picked}
        chosen = [one for one in one_per_input(letters) if input_key(one.letter) in keys]
        merged = sum(one.letters for one in chosen) - len(chosen)
        for one in chosen[:limit] if limit else chosen:
            plan.append({**_plan_letter(cli, one.letter), "stages": list(one.stages)})
    sendable = [p for p in plan if p["to"] and (p["ok"] or force)]
    sent = 0
    if execute and sendable:
        with Publisher(producer_config(cli.settings)) as pub:
            for p in sendable:
                pub.publish(p["to"], p["key"], p["value"])
            counts = pub.close(30)
        sent = counts.acked
    report = {
        "dry_run": not execute,
        "selected": len(plan),
        "merged": merged,
        "valid": sum(1 for p in plan if p["ok"]),
        "would_send": None if execute else len(sendable),
        "sent": sent if execute else None,
        "items": [{k: v for k, v in p.items() if k != "value"} for p in plan],
    }
    if as_json:
        print_json(report, ReplayReport)
    else:
        table = Table("from", "stages", "to", "event", "valid", "why not")
        for p in plan[:200]:
            table.add_row(
                p["from"],
                ", ".join(p.get("stages") or []) or "-",
                p["to"] or "-",
                p.get("event_id") or "-",
                "yes" if p["ok"] else "no",
                p["why"] or "",
            )
        cli.console.print(table)
        verb = f"sent {sent}" if execute else f"dry run: would send {len(sendable)} (add --execute)"
        also = f" ({merged} more letters of the same inputs merged)" if merged else ""
        cli.console.print(
            f"{len(plan)} selected{also}, {report['valid']} valid; {verb}", highlight=False
        )
    return 1 if execute and sent < len(sendable) else 0


def _plan_letter(cli: CliContext, letter: DeadLetter) -> dict[str, Any]:
    """The plan entry of one letter: sendable to its origin topic when its payload is whole,
    the topic is known, and (without --force) the payload passes the topic's schema."""
    if letter.origin_topic is None:
        return {
            "from": f"{letter.origin_file}:{letter.origin_line}",
            "to": None,
            "ok": False,
            "why": "came from a file replay, not a topic: re-run the replay",
            "value": b"",
        }
    try:
        raw = letter.raw_payload()
    except TruncatedPayload as exc:  # not the original: never sent, even with --force
        return _not_sendable(letter, str(exc))
    try:
        declared = by_name(letter.origin_topic, cli.settings.topic_prefix)
    except KeyError as exc:
        return _not_sendable(letter, str(exc.args[0]))
    return _check(
        declared,
        letter.origin_topic,
        letter.origin_key,
        raw,
        f"{letter.origin_topic}[{letter.origin_partition}]@{letter.origin_offset}",
    )


def _not_sendable(letter: DeadLetter, why: str) -> dict[str, Any]:
    """The plan entry of a letter that is never sent (`to` is None), and why."""
    origin = f"{letter.origin_topic}[{letter.origin_partition}]@{letter.origin_offset}"
    return {"from": origin, "to": None, "ok": False, "why": why, "value": b""}


def _check(declared: Any, to: str, key: str | None, raw: bytes, origin: str) -> dict[str, Any]:
    """Would this payload pass its topic's schema now? The plan entry for it."""
    entry: dict[str, Any] = {"from": origin, "to": to, "key": key, "value": raw}
    try:
        event = declared.decode(raw)
    except ValidationError as exc:
        return {**entry, "event_id": None, "ok": False, "why": reason_of(exc)}
    return {**entry, "key": key or event.key, "event_id": event.event_id, "ok": True, "why": None}
