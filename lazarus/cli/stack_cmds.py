"""`lazarus up` and `lazarus broker`: the embedded stack and the whole pipeline."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import click
from rich.live import Live

from lazarus import redisconn, runtime_file
from lazarus.cli.context import CliContext, pass_cli
from lazarus.embedded.broker import EmbeddedBroker
from lazarus.embedded.stack import Stack
from lazarus.errors import LazarusError
from lazarus.kafka.config import client_config
from lazarus.kafka.txn_probe import require_transactions
from lazarus.registry.keys import embedded_prefix
from lazarus.registry.signing import DEV_KEY_DIR, DEV_PRIVATE, DEV_PUBLIC, dev_pair
from lazarus.roles import demo_roles
from lazarus.runtime_file import UpStack
from lazarus.settings import Settings
from lazarus.statusview import StatusView
from lazarus.stopsignal import StopRequested
from lazarus.supervisor import Supervisor

log = logging.getLogger("lazarus.up")

REFRESH_S = 0.5


@click.command(
    epilog="""\b
Examples:
  lazarus up                          everything, embedded, until Ctrl-C
  lazarus up --scorers 3 --rate 500   three scorer workers per model
  lazarus up --duration 30            stop by itself after 30 s
  LAZARUS_EMBEDDED=false lazarus up   use LAZARUS_KAFKA_BOOTSTRAP_SERVERS and LAZARUS_REDIS_URL

While it runs, commands in your other terminals use its stack with no
exports (`lazarus status`, `lazarus models list`, `lazarus train survey.toml`);
a LAZARUS_* variable you set still wins. It prints the exports for other tools.
"""
)
@click.option(
    "--scorers",
    type=click.IntRange(0, 64),
    default=2,
    show_default=True,
    help="Scorer workers per model.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1),
    default=200.0,
    show_default=True,
    help="Events per second from each simulated feed.",
)
@click.option(
    "--label-delay",
    type=click.FloatRange(min=0.0),
    default=5.0,
    show_default=True,
    help="Seconds between features and their outcome in the simulated feeds.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the simulated feeds.")
@click.option(
    "--duration",
    type=click.FloatRange(min=0.0),
    default=None,
    help="Stop by itself after this many seconds (default: run until Ctrl-C).",
)
@click.option(
    "--embedded/--no-embedded",
    default=None,
    help="Start the embedded broker and Redis.  [env var: LAZARUS_EMBEDDED; default: on]",
)
@click.option(
    "--dashboard-port",
    type=click.IntRange(-1, 65535),
    default=8050,
    show_default=True,
    help="Port of the live dashboard (a free one if taken; -1: no dashboard).",
)
@click.option(
    "--logs",
    "log_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for role logs (default: a new temporary directory).",
)
@pass_cli
def up(
    cli: CliContext,
    scorers: int,
    rate: float,
    label_delay: float,
    seed: int,
    duration: float | None,
    embedded: bool | None,
    dashboard_port: int,
    log_dir: Path | None,
) -> int:
    """Bring the whole pipeline up: broker, Redis, topics, producers, trainers, scorers.

    Shows a live status table (events/s per role, consumer lag, model version).
    Ctrl-C or SIGTERM stops everything in order and exits 0; a broker or role
    that dies stops everything and exits 1.
    """
    stop = StopRequested.install()
    settings = cli.settings if embedded is None else cli.settings.with_overrides(embedded=embedded)
    stack = Stack(settings)
    info = stack.start()
    if settings.scorer_delivery == "exactly-once":
        try:
            require_transactions(stack.settings)
        except LazarusError:
            stack.stop()
            raise
    for line in info.describe():
        cli.err.print(line, highlight=False)
    settings, key_files = _with_signing_keys(cli, _fresh_namespace(cli, stack))
    stack.settings = settings
    cli.replace_settings(settings)
    port = None if dashboard_port < 0 else _available(dashboard_port)
    roles = demo_roles(
        scorers=scorers,
        rate=rate,
        label_delay=label_delay,
        seed=seed,
        prefix=settings.topic_prefix,
        dashboard_port=port,
        lag_exporter=settings.metrics_port >= 0,
    )
    logs = log_dir or Path(tempfile.mkdtemp(prefix="lazarus-up-"))
    supervisor = Supervisor(stack.settings, roles, logs)
    code = 0
    published = None
    try:
        published = _publish(cli, UpStack.of(settings, os.getpid(), key_files))
        supervisor.start()
        cli.err.print(f"{len(roles)} roles started; logs in {logs}", highlight=False)
        if port is not None:
            cli.err.print(f"dashboard at http://127.0.0.1:{port}/", highlight=False)
        code = _watch(cli, stack, supervisor, stop, duration)
    finally:
        started = time.monotonic()
        if published is not None:
            runtime_file.remove(published, os.getpid())
        supervisor.stop()
        stack.stop()
        cli.err.print(f"stopped everything in {time.monotonic() - started:.1f}s", highlight=False)
    return code


def _available(port: int) -> int:
    """`port` if it can be bound on localhost, else a free one (0: always a free one)."""
    from lazarus.embedded.ports import free_port, port_is_free

    return port if port and port_is_free("127.0.0.1", port) else free_port()


def _fresh_namespace(cli: CliContext, stack: Stack) -> Settings:
    """An embedded broker starts empty, so models in Redis from an earlier run name offsets that
    no longer exist: embedded runs keep their Redis keys under `<prefix>:embedded`, cleared here."""
    settings = stack.settings
    if stack.broker is None:
        return settings
    prefix = embedded_prefix(settings.redis_key_prefix)
    client = redisconn.connect(settings.redis_url_value)
    stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if stale:
        client.delete(*stale)
        cli.err.print(
            f"cleared {len(stale)} Redis keys of the previous embedded run ({prefix}:*)",
            highlight=False,
        )
    client.close()
    return settings.with_overrides(redis_key_prefix=prefix)


def _publish(cli: CliContext, stack: UpStack) -> Path | None:
    """Write the runtime file by which commands in other terminals find this stack (unless
    another running `up` wrote it), and print the exports for other tools; its path or None.
    A file that cannot be written (a read-only home) is a one-line warning: `up` goes on."""
    path: Path | None = None
    other, to = runtime_file.running(), "for other tools"
    if other is not None and other.pid != stack.pid:
        said = f"another `lazarus up` (pid {other.pid}) runs: other terminals use its stack"
    else:
        try:
            path = runtime_file.write(stack)
            said = f"commands in other terminals use this stack by themselves ({path})"
        except OSError as e:
            where = e.filename or runtime_file.runtime_path()
            said = f"warning: cannot write {where} ({e.strerror or e}), going on"
            to = "in other terminals and tools"
    cli.err.print(f"{said}; {to}:", highlight=False)
    for line in stack.exports():
        cli.err.print(f"  {line}", highlight=False)
    return path


def _with_signing_keys(
    cli: CliContext, settings: Settings
) -> tuple[Settings, tuple[Path, Path] | None]:
    """Without configured keys, use the local development pair (and say so); the settings,
    and the pair's files (private, public) when it is used."""
    if settings.signing_private_key is not None:
        return settings, None
    private, public = dev_pair()
    cli.err.print(
        f"signing snapshots with the development key in {DEV_KEY_DIR} "
        "(set LAZARUS_SIGNING_PRIVATE_KEY and LAZARUS_SIGNING_PUBLIC_KEY in production)",
        highlight=False,
    )
    files = (DEV_KEY_DIR / DEV_PRIVATE, DEV_KEY_DIR / DEV_PUBLIC)
    return settings.with_overrides(signing_private_key=private, signing_public_key=public), files


def _watch(
    cli: CliContext,
    stack: Stack,
    supervisor: Supervisor,
    stop: StopRequested,
    duration: float | None,
) -> int:
    settings = stack.settings
    view = StatusView(
        supervisor.children,
        redisconn.connect(settings.redis_url_value),
        settings.redis_key_prefix,
        client_config(settings, quiet=True),
        settings.topic_prefix,
    )
    started = time.monotonic()
    live = (
        Live(view.render(0), console=cli.console, auto_refresh=False, transient=False)
        if cli.console.is_terminal
        else None
    )
    last_line = 0.0
    try:
        with live or _Null():
            while not stop.wait(REFRESH_S):
                elapsed = time.monotonic() - started
                failure = supervisor.failure(stack.broker_alive)
                if failure:
                    log.error("%s", failure)
                    return 1
                if duration is not None and elapsed >= duration:
                    log.info("--duration %.0fs reached; stopping", duration)
                    return 0
                table = view.render(elapsed)
                if live is not None:
                    live.update(table, refresh=True)
                elif elapsed - last_line >= 5:
                    last_line = elapsed
                    cli.console.print(table)
    finally:
        view.close()
    log.info("%s received; stopping everything", stop.signal_name or "stop")
    return 0


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@click.command(
    epilog="""\b
Examples:
  lazarus broker                 on 127.0.0.1:9092 until Ctrl-C
  lazarus broker --port 19092    elsewhere; then in other terminals:
  LAZARUS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 LAZARUS_EMBEDDED=false lazarus ...
"""
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port to listen on.  [env var: LAZARUS_EMBEDDED_BROKER_PORT; default: 9092]",
)
@pass_cli
def broker(cli: CliContext, port: int | None) -> int:
    """Run only the embedded broker (memory storage), for multi-terminal work."""
    stop = StopRequested.install()
    embedded = EmbeddedBroker(port or cli.settings.embedded_broker_port)
    elapsed = embedded.start()
    cli.err.print(
        f"broker ready at {embedded.bootstrap} in {elapsed:.2f}s (pid {embedded.pid}); "
        "Ctrl-C stops it",
        highlight=False,
    )
    try:
        while not stop.wait(0.5):
            if not embedded.alive():
                log.error("the broker exited:\n%s", embedded.log_tail())
                return 1
    finally:
        embedded.stop()
    return 0
