"""Extensions, created unbound here and bound to an app in ``create_app``."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.clients import client_network
from portal.models import Base

db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
login_manager = LoginManager()
# Set in the WSGI environ by portal.refusals.EarlyRefusals when it has counted every limit of
# the request's view (the view's qualified name, as Flask-Limiter names it).
COUNTED_EARLY = "portal.limits_counted"


class PortalLimiter(Limiter):
    """Flask-Limiter's limiter, whose view decorators do not count a request again that the
    early layer in front of the app has already counted against every limit of its view
    (``portal.refusals``: the hit is counted once, in one round trip to the storage)."""

    def _check_request_limit(self, callable_name: str | None = None,
                             in_middleware: bool = True) -> None:
        # The decorators call this with in_middleware=False and the view's name; the
        # before-request hook with in_middleware=True, which this leaves alone.
        if (not in_middleware and callable_name is not None
                and request.environ.get(COUNTED_EARLY) == callable_name):
            return
        super()._check_request_limit(callable_name, in_middleware)


# Public pages are limited per client (an IPv4 address or an IPv6 /64: portal.clients); the
# anonymous report pages must override the key function so no address reaches the limiter's
# storage (DESIGN.md §3).
limiter = PortalLimiter(key_func=client_network, default_limits=[])
