"""The hub: one server for many owners, their cameras, events, clips and requests."""
