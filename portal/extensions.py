"""Extensions, created unbound here and bound to an app in ``create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.clients import client_network
from portal.models import Base

db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
login_manager = LoginManager()
# Public pages are limited per client (an IPv4 address or an IPv6 /64: portal.clients); the
# anonymous report pages must override the key function so no address reaches the limiter's
# storage (DESIGN.md §3).
limiter = Limiter(key_func=client_network, default_limits=[])
