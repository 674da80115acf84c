"""`python -m lazarus.scorer MODEL ...`: what a scorer container runs."""

from __future__ import annotations

import sys

from lazarus.cli.main import main

if __name__ == "__main__":
    main(["score", *sys.argv[1:]])
