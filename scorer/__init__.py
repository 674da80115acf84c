"""Scorer workers (issue #5): a consumer group that hot-swaps verified snapshots."""
