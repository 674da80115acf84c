"""Lazarus: event-driven streaming ML for conservation and de-extinction programmes.

Shared runtime (settings, Kafka and Redis adapters, the embedded stack, the CLI
and ops tooling). Roles (`producers`, `trainer`, `scorer`) import from here;
this package never imports a role at import time.
"""

from __future__ import annotations

__version__ = "0.1.0"
