"""Logging set-up: rich on a terminal, plain lines for containers and pipes."""

from __future__ import annotations

import logging
import sys

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str = "INFO", *, role: str | None = None) -> None:
    """Configure the root logger once per process."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler
    if sys.stderr.isatty() and role is None:
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        fmt = (
            PLAIN_FORMAT
            if role is None
            else f"%(asctime)s %(levelname)s [{role}] %(name)s: %(message)s"
        )
        handler.setFormatter(logging.Formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)
    # librdkafka reports every refused connection; we report outages ourselves, once, clearly.
    logging.getLogger("lazarus.rdkafka").setLevel(max(logging.getLevelName(level), logging.ERROR))
