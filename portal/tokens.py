"""The one wrapper around itsdangerous: signed, expiring codes that others check later.

Each purpose has its own salt, so a code signed for one purpose (a reward claim slip) is never
accepted for another (a credit certificate).  Callers catch the typed errors below; which check
failed is never shown to the holder beyond "expired" or "not genuine".
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# Purpose → salt.  A salt never changes once codes signed with it are in people's hands.
PURPOSES: dict[str, str] = {
    "reward_claim_slip": "portal.reward-claim-slip.v1",
    "credit_certificate": "portal.credit-certificate.v1",
    # A thumbnail on the reporter's case page, and on a staff report page (each minted by an
    # answered code or an audited view, for minutes): one photo each, never the other side's.
    "report_photo": "portal.report-photo.v1",
    "staff_report_photo": "portal.staff-report-photo.v1",
}


class TokenInvalid(ValueError):
    """The code was not signed by this portal for this purpose, or was altered."""


class TokenExpired(TokenInvalid):
    """The code was genuine but is older than its allowed age."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    # itsdangerous signs with the last key of the list and accepts any: oldest first.
    keys = [*reversed(current_app.config.get("SECRET_KEY_FALLBACKS", [])),
            current_app.config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=PURPOSES[purpose])


def sign(purpose: str, payload: Any) -> str:
    """A URL-safe code carrying ``payload`` (JSON-able) and the time it was signed."""
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, code: str, *, max_age_seconds: int) -> Any:
    """The payload of ``code``; raises ``TokenExpired`` or ``TokenInvalid``."""
    try:
        return _serializer(purpose).loads((code or "").strip(), max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise TokenExpired("expired") from exc
    except BadSignature as exc:
        raise TokenInvalid("invalid") from exc
