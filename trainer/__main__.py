"""`python -m lazarus.trainer MODEL ...`: what a trainer container runs."""

from __future__ import annotations

import sys

from lazarus.cli.main import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]])
