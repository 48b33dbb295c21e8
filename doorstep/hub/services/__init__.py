"""Service functions: the hub's behaviour, independent of HTTP and the CLI."""
