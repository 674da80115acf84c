"""Producers: simulated sensor and genomic feeds, replay of real recordings, delayed outcomes."""
