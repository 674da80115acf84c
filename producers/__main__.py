"""`python -m lazarus.producers sensors|genomes|replay ...`: what a producer container runs."""

from __future__ import annotations

from lazarus.cli.main import main

if __name__ == "__main__":
    import sys

    main(["produce", *sys.argv[1:]])
