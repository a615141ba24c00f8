"""Staff commands: create-staff, demo-staff, audit-verify (added with the back office)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    return None
