"""Flinks Desktop: manage Flinks bank connections, with an offline Flinks Capital sandbox."""

__version__ = "0.1.0"
