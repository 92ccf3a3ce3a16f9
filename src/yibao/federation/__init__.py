"""Provinces as nodes of a federation talking only through an exchange (docs/federation.md).

This package is the transport: a node's configuration (config.py), the exchange every message crosses (exchange.py:
the interface and an in-memory exchange for tests; jetstream.py: NATS JetStream, a stream per direction). What the
messages do is the platform's (platform/remote.py on the treatment node, platform/elsewhere.py on the insured node).
"""
