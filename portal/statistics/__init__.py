"""Statistics, the regulator's compliance with its own deadlines, and the sitemap and robots."""

from flask import Blueprint

bp = Blueprint("statistics", __name__)

from portal.statistics import views  # noqa: E402, F401
