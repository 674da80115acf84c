"""`lazarus models list|show|verify|promote|rollback|history|gate` and `lazarus keys generate`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from lazarus import redisconn
from lazarus.cli.context import CliContext, pass_cli, print_json
from lazarus.cli.gate_cmd import gate
from lazarus.cli.json_shapes import History, HistoryEntry, ModelDetail, ModelList, VerifyReport
from lazarus.cli.model_arg import given_contract, resolve_model
from lazarus.cli.models_render import history_table, models_table, print_manifest
from lazarus.cli.reach_render import kept_table
from lazarus.errors import ConfigError, SnapshotRejected
from lazarus.metric_text import learned
from lazarus.quality_store import read_overall, read_quality
from lazarus.registry.lineup import Lineup
from lazarus.registry.opening import load_model
from lazarus.registry.reach import read_reach
from lazarus.registry.redis_store import RedisSnapshotStore
from lazarus.registry.retention import Retention
from lazarus.registry.sealing import verify
from lazarus.registry.signing import DEV_KEY_DIR, generate, verifier_from
from lazarus.schemas.per_key import split_shard


def _store(cli: CliContext) -> RedisSnapshotStore:
    s = cli.settings
    return RedisSnapshotStore(redisconn.require(s.redis_url_value), s.redis_key_prefix)


@click.group()
def models() -> None:
    """List, inspect, verify, promote and roll back model snapshots."""


models.add_command(gate)


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """Every model with stored snapshots: latest and current version, versions kept, and the
    rollback reach (the oldest version kept and its age)."""
    store = _store(cli)
    default, now = Retention.of_settings(cli.settings), datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for name in store.models():
        versions = store.versions(name)
        m = store.manifest(name, versions[-1]) if versions else None
        rows.append(
            {
                "model": name,
                "latest": store.latest(name),
                "current": store.current(name),
                "versions": versions,
                "n_learned": m.n_learned if m else None,
                "created_at": m.created_at.isoformat() if m else None,
                **read_reach(store, name, default).as_json(now),
            }
        )
    if as_json:
        print_json(rows, ModelList)
        return
    cli.console.print(models_table(rows))


@models.command("show", epilog="\b\nExample:\n  lazarus models show habitat --version 3 --json")
@click.argument("model", callback=resolve_model)
@click.option(
    "--version",
    type=click.IntRange(min=1),
    default=None,
    help="Default: the current version (the latest while none is current).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: the manifest, with `served_quality` (this version's) and "
    "`served_quality_all_versions` (the model's), each null until judged.",
)
@pass_cli
def show(cli: CliContext, model: str, version: int | None, as_json: bool) -> None:
    """The manifest of a snapshot: lineage, offsets, metrics, join health, served quality."""
    store = _store(cli)
    current = store.current(model)
    version = version or current or store.latest(model) or None
    m = store.manifest(model, version) if version else None
    if m is None:
        raise click.ClickException(
            f"no snapshot of {model!r}"
            + (f" at version {version}" if version else "")
            + _shard_hint(store, model)
        )
    prefix = cli.settings.redis_key_prefix
    rows = read_quality(store.client, prefix, model)
    served = next((r for r in rows if r["version"] == m.version), None)
    overall = read_overall(store.client, prefix, model)
    if as_json:
        manifest = m.model_dump(mode="json")
        # nothing learned: no metric was measured (river answers 0.0 for nothing)
        for key in ("metrics", "rolling_metrics"):
            manifest[key] = learned(manifest[key], m.n_learned)
        manifest["segment_metrics"] = {
            field: {seg: learned(v, m.n_learned) for seg, v in groups.items()}
            for field, groups in manifest["segment_metrics"].items()
        }
        print_json(
            {**manifest, "served_quality": served, "served_quality_all_versions": overall},
            ModelDetail,
        )
        return
    print_manifest(cli.console, m, model, current, served, overall)


@models.command("verify")
@click.argument("model", callback=resolve_model)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def verify_cmd(cli: CliContext, model: str, as_json: bool) -> int:
    """Check every stored version: signature, digests, then load its model as scorers do (the
    restricted unpickler with LAZARUS_SNAPSHOT_MODULES). Exit 1 on any failure."""
    store = _store(cli)
    verifier = verifier_from(cli.settings)
    modules = cli.settings.snapshot_modules
    results: list[dict[str, Any]] = []
    for version in store.versions(model):
        sealed = store.get(model, version)
        try:
            if sealed is None:
                raise SnapshotRejected("listed but not stored")
            manifest = verify(sealed, verifier, model=model, version=version, part="both")
            load_model(sealed, manifest, modules)  # what scorers unpickle, as they do
            results.append({"version": version, "ok": True, "reason": None})
        except SnapshotRejected as exc:
            results.append({"version": version, "ok": False, "reason": str(exc)})
    if not results:
        raise click.ClickException(f"no snapshots of {model!r}{_shard_hint(store, model)}")
    if as_json:
        print_json(results, VerifyReport)
    else:
        for r in results:
            cli.console.print(
                f"v{r['version']}: " + ("ok" if r["ok"] else f"FAILED: {r['reason']}"),
                highlight=False,
            )
    return 0 if all(r["ok"] for r in results) else 1


def _move(
    cli: CliContext, model: str, version: int, action: str, reason: str, line: str | None = None
) -> None:
    """Move `current` of `line` (default: `model` itself) to `version`, verified first; a
    promote also makes `line` the champion `model`'s scorers serve (lifting an automatic
    rollback's hold), when it is not already."""
    import getpass
    import socket

    champion_of, model = (model, line) if line else (model, model)
    store = _store(cli)
    sealed = store.get(model, version)
    if sealed is None:
        raise click.ClickException(
            f"{model} v{version} is not stored (kept: {store.versions(model) or 'none'})"
        )
    try:  # never point scorers at a snapshot they would refuse
        manifest = verify(
            sealed, verifier_from(cli.settings), model=model, version=version, part="both"
        )
    except SnapshotRejected as exc:
        raise click.ClickException(f"{model} v{version} fails verification: {exc}") from exc
    minimum = _min_learned(champion_of)
    if manifest.n_learned < minimum:
        raise click.ClickException(
            f"{model} v{version} learned {manifest.n_learned} events, fewer than the "
            f"{minimum} its spec's min_learned asks of a served version: scorers would refuse it"
        )
    actor = f"{getpass.getuser()}@{socket.gethostname()}"
    if line and store.current(model) == version and store.pinned(model) is None:
        outcome, previous = "ok", version
    else:
        outcome, previous = store.move_current(model, version, action, reason, actor)  # type: ignore[arg-type]
    if outcome == "missing":
        raise click.ClickException(f"{model} v{version} was trimmed meanwhile")
    if outcome == "not_older":
        raise click.ClickException(
            f"a rollback goes back: {model} serves v{previous}; use `lazarus models promote`"
        )
    pin = (
        "; trainer publishes no longer move it until `lazarus models promote`"
        if action == "rollback"
        else ""
    )
    if action == "promote":
        lineup = Lineup(store.client, cli.settings.redis_key_prefix)
        if lineup.champion(champion_of) != model or lineup.held(champion_of):
            was = lineup.promote(champion_of, model, version, reason, actor)
            pin += f"; {model} is now the champion of {champion_of} (was {was})"
    cli.console.print(
        f"{model}: current v{previous} -> v{version} ({action}, {reason!r}){pin}. "
        "Scorers follow within milliseconds.",
        highlight=False,
    )


def _min_learned(model: str) -> int:
    """The minimum a served version of `model` must have learned, as its scorers check it:
    the contract of the spec file or import path the command was given, else the built-in
    contract's, else the ModelContract default (a custom spec is not known by name)."""
    from lazarus.schemas.contract import ModelContract
    from lazarus.schemas.models import load_contract

    given = given_contract()
    if given is not None:
        return given.min_learned
    try:
        return load_contract(model).min_learned
    except ConfigError:
        return ModelContract.min_learned


_REASON = click.option(
    "--reason", required=True, help="Why: recorded in the audit log (`lazarus models history`)."
)


@models.command(
    "promote",
    epilog="""\b
Example:
  lazarus models promote habitat 12 --reason "v12 validated on the spring survey"

  lazarus models promote habitat 3 --line habitat.fresh --reason "fresh after the drift"

Points `current` at VERSION (after checking its signature and digest) and
clears a rollback's pin, so later trainer publishes advance it again. A version
that learned fewer events than the model's min_learned is refused: scorers
would refuse to serve it. With --line, VERSION is a version of that challenger
line (`lazarus models gate MODEL` lists them), which becomes the champion MODEL's
scorers serve; without it, MODEL's own line becomes the champion again if a
challenger was. Either way an automatic rollback's hold is lifted.""",
)
@click.argument("model", callback=resolve_model)
@click.argument("version", type=click.IntRange(min=1))
@click.option("--line", help="A challenger line of MODEL to promote (default: MODEL's own).")
@_REASON
@pass_cli
def promote(cli: CliContext, model: str, version: int, line: str | None, reason: str) -> None:
    """Serve VERSION of MODEL (or of a challenger --line) from now on."""
    _move(cli, model, version, "promote", reason, line)


@models.command(
    "rollback",
    epilog="""\b
Example:
  lazarus models rollback habitat 9 --reason "v10 over-predicts occupancy at coastal sites"

VERSION must be older than the current one. `current` then stays pinned there
(the trainer keeps learning and publishing, but scorers keep serving VERSION)
until `lazarus models promote`.""",
)
@click.argument("model", callback=resolve_model)
@click.argument("version", type=click.IntRange(min=1))
@_REASON
@pass_cli
def rollback(cli: CliContext, model: str, version: int, reason: str) -> None:
    """Go back to an older VERSION of MODEL and pin it there."""
    _move(cli, model, version, "rollback", reason)


@models.command("history", epilog="\b\nExample:\n  lazarus models history habitat --limit 20")
@click.argument("model", callback=resolve_model)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def history(cli: CliContext, model: str, limit: int, as_json: bool) -> None:
    """Every move of MODEL's current version, newest first: publishes, promotes, rollbacks;
    then every version still stored, with why it is kept (how far a rollback reaches).
    Exit 1 when the registry holds no snapshot of MODEL."""
    store = _store(cli)
    rows = store.history(model, limit)
    if not rows and not store.latest(model):
        raise click.ClickException(f"no snapshots of {model!r}{_shard_hint(store, model)}")
    reach = read_reach(store, model, Retention.of_settings(cli.settings))
    if as_json:
        why = reach.why
        print_json([HistoryEntry.of(r, why.get(int(r["version"]), ())) for r in rows], History)
        return
    if not rows:
        cli.console.print(f"no history for {model!r}", highlight=False)
    else:
        cli.console.print(history_table(rows))
    if reach.created:
        cli.console.print(kept_table(reach, datetime.now(UTC)))


@click.group()
def keys() -> None:
    """Snapshot signing keys (Ed25519)."""


@keys.command(
    "generate",
    epilog="""\b
The trainer needs the private key (LAZARUS_SIGNING_PRIVATE_KEY); scorers and
`lazarus models verify` need only the public one (LAZARUS_SIGNING_PUBLIC_KEY).
Example:
  lazarus keys generate --out ./keys
  export LAZARUS_SIGNING_PRIVATE_KEY="$(cat keys/signing.key)"
""",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEV_KEY_DIR,
    show_default=True,
    help="Directory for signing.key (mode 0600) and signing.pub.",
)
@pass_cli
def generate_cmd(cli: CliContext, out: Path) -> None:
    """Create a signing key pair."""
    import os

    private, public = generate()
    out.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = out / "signing.key", out / "signing.pub"
    if key_path.exists():
        raise ConfigError(f"{key_path} exists; remove it first or choose another --out")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(private)
    pub_path.write_text(public)
    cli.console.print(f"wrote {key_path} (private, 0600) and {pub_path}", highlight=False)


def _shard_hint(store: RedisSnapshotStore, model: str) -> str:
    """For a per-key model, which has versions per shard only: the names to ask for."""
    shards = sorted(
        (shard[1], name)
        for name in store.models()
        if (shard := split_shard(name)) is not None and shard[0] == model
    )
    if not shards:
        return ""
    return (
        f": {model} is a per-key model, whose versions are per shard "
        f"({', '.join(name for _, name in shards)})"
    )
