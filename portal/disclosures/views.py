"""Public pages."""

from __future__ import annotations

from flask import render_template

from portal.disclosures import bp


@bp.get("/")
def home():
    return render_template("disclosures/home.html")
