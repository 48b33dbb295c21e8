"""Doorstep: an open, privacy-first, accountable neighbourhood camera network."""

__version__ = "0.1.0"
