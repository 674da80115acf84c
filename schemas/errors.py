"""The root of every error Lazarus raises on purpose, and the one error a contract can raise.

They live here, in the contract package every other package may import, so that `schemas`
(which imports nothing else of Lazarus) raises into the one tree. The tree is drawn in
`lazarus.errors`, which re-exports both classes: import them from there outside `schemas`.
"""

from __future__ import annotations


class LazarusError(Exception):
    """Root of every error Lazarus raises on purpose."""


class ConfigError(LazarusError):
    """A setting, argument or model spec is invalid."""
