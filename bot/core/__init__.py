"""The message pipeline: messages, router, desk pipeline, outbox, metrics and the ports the core owns."""
