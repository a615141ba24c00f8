"""Back office for the regulator's staff: every view needs a signed-in account with a role."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from portal.extensions import login_manager  # noqa: E402


@login_manager.user_loader
def load_user(user_id: str):
    """Placeholder until staff accounts exist: nobody is signed in."""
    return None
