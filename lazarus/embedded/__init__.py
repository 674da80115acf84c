"""The embedded stack: a real Kafka-protocol broker and, when needed, a real redis-server, as child processes."""
