"""Public pages of the four published kinds, search and open data."""

from flask import Blueprint

bp = Blueprint("disclosures", __name__)

from portal.disclosures import opendata, search, views  # noqa: E402, F401
