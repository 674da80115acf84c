"""`python -m lazarus` is the `lazarus` command."""

from __future__ import annotations

from lazarus.cli.main import main

if __name__ == "__main__":
    main()
