"""Placeholder: filled in by the reach work (docs/reach.md)."""
