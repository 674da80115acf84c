"""The one exception hierarchy, grouped by what the caller can do about it.

LazarusError                  root; the CLI turns it into one line and exit 1
├── ConfigError               a setting or argument is wrong: change it
├── ServiceUnavailable        Kafka or Redis does not answer: start it or fix its setting
│   ├── PortInUse             a port we need is taken: free it or change the setting
│   └── ServiceDied           a process we started exited under us
├── MissingExtra              an optional install is missing: `pip install ...`
└── SnapshotRejected          a model snapshot failed verification: never loaded
"""

from __future__ import annotations


class LazarusError(Exception):
    """Root of every error Lazarus raises on purpose."""


class ConfigError(LazarusError):
    """A setting or argument is invalid."""


class ServiceUnavailable(LazarusError):
    """Kafka or Redis cannot be reached."""


class PortInUse(ServiceUnavailable):
    """A port we must listen on is already taken."""


class ServiceDied(ServiceUnavailable):
    """A service process we started has exited."""


class MissingExtra(LazarusError):
    """An optional dependency group is not installed."""


class SnapshotRejected(LazarusError):
    """A model snapshot failed signature, digest or allowlist checks."""
