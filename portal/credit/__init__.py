"""Enterprise credit check (``/credit``) and verifiable credit certificates."""

from flask import Blueprint

bp = Blueprint("credit", __name__)

from portal.credit import views  # noqa: E402, F401
