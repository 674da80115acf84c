"""Kafka adapters: client configuration, admin helpers, producer and consumer wrappers."""
