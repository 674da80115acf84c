"""`lazarus dashboard`: the live web page for operators (lag, throughput, model versions)."""

from __future__ import annotations

import logging
import sys

import click

from lazarus.cli.context import CliContext, pass_cli

log = logging.getLogger("lazarus.dashboard")


@click.command(
    epilog="""\b
Examples:
  lazarus dashboard                          http://127.0.0.1:8050, sampled every 2 s
  lazarus dashboard --port 0                 any free port (the URL is printed)
  lazarus dashboard --host 0.0.0.0 --interval 5

\b
The page shows consumer lag per group over time, events/s per role, the roles
and the model version each serves, each model's versions (prequential metrics
beside served metrics and their cost), the moves of its `current` pointer,
its staleness, dead-letter counts, and a map of the sites, each coloured by
its latest served score. It reads the Redis at LAZARUS_REDIS_URL
(keys under LAZARUS_REDIS_KEY_PREFIX) and the broker at
LAZARUS_KAFKA_BOOTSTRAP_SERVERS; lag is sampled in the background, so a broker
outage shows on the page instead of stopping it.

\b
Endpoints: /  the page;  /api/state  the same data as JSON;  /api/sites  the
map's sites;  /healthz;
/metrics  every live role's Prometheus metrics on one page (label `instance`).
Exit codes: 0 stopped by Ctrl-C or SIGTERM; 1 Redis missing or the port taken.
"""
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 for every interface).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8050,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=2.0,
    show_default=True,
    help="Seconds between samples of Redis and of consumer lag.",
)
@pass_cli
def dashboard(cli: CliContext, host: str, port: int, interval: float) -> int:
    """A live web dashboard: lag, throughput, model versions, staleness, dead letters."""
    # Imported here: the web stack is not needed for the rest of the CLI (`lazarus --help` is fast).
    import uvicorn

    from lazarus import redisconn
    from lazarus.dashboard.server import create_app, listen, url_of
    from lazarus.dashboard.state import Sampler
    from lazarus.heartbeat import running_heartbeat
    from lazarus.stopsignal import StopRequested

    settings = cli.settings
    client = redisconn.require(settings.redis_url_value)
    sock = listen(host, port)
    # Our handlers first: uvicorn re-raises the signal that stopped it to the previous handler
    # once it has shut down, and ours only records it, so the command returns 0.
    stop = StopRequested.install()
    sampler = Sampler(settings, client, interval)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(sampler),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=3,
        )
    )
    sampler.start()
    url = url_of(sock)
    try:
        click.echo(f"dashboard at {url}")
        sys.stdout.flush()
        with running_heartbeat(settings, "dashboard", lambda: {"url": url}):
            if not stop.is_set():
                server.run(sockets=[sock])
    finally:
        sampler.stop()
        sock.close()
        client.close()
    log.info("dashboard stopped (%s)", stop.signal_name or "server exited")
    return 0
