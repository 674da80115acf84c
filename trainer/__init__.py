"""The incremental trainer (issue #4): delayed-label join, test-then-train, signed snapshots."""
