"""Kafka adapters: client configuration (`config`), admin helpers (`admin`), the producer
wrapper (`producer`), the group-consumer wrapper with store-after-ack and commit-on-revoke
(`consumer.GroupConsumer`, bookkeeping in `ledger`), and one decoder for consumed batches
(`decoding`)."""
