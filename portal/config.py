"""One settings object, read from ``PORTAL_*`` environment variables and checked at start."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"

ENVIRONMENTS = ("production", "demo", "test")
# Settings renamed: the old variable is refused with the new name, never silently ignored.
RENAMED_VARIABLES = {
    "PORTAL_BLACKLIST_MIN_YEARS_BEFORE_REMOVAL": (
        "PORTAL_BLACKLIST_MIN_YEARS_BEFORE_REMOVAL was renamed: set "
        "PORTAL_BLACKLIST_MIN_MONTHS_BEFORE_REMOVAL to the minimum in months (default 12)"
    ),
}
SEARCH_BACKENDS = ("whoosh", "postgres")  # as search_index.backend.BACKENDS


class SettingsError(RuntimeError):
    """The settings are incomplete or contradictory; the app refuses to start."""


@dataclass(frozen=True)
class Settings:
    env: str = "production"
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'portal.db'}"
    index_dir: str = str(INSTANCE_DIR / "index")
    # Where the search index lives: "whoosh" (embedded, in index_dir) or "postgres" (a table of
    # the PostgreSQL database of database_url; index_dir is then not used).
    search_backend: str = "whoosh"
    secret_key: str = ""
    data_key: str = ""
    ratelimit_storage_uri: str = "memory://"
    # How many proxies in front of the app to believe (X-Forwarded-For/-Proto/-Host hops, through
    # Werkzeug's ProxyFix); 0 believes none.  Set it to exactly the number of proxies you run:
    # one more lets any client pick its own address for the rate limits.
    trusted_proxies: int = 0
    # The public address, e.g. https://aqsc.xsbn.gov.cn: absolute URLs are built from it and
    # requests for any other host are refused (400).  Empty: whatever Host the client sends.
    base_url: str = ""
    # Extra official working-day schedules (调休) not yet known to the `holidays` library:
    # a JSON file {"2028": {"holidays": ["2028-01-01", ...], "workdays": ["2028-01-30", ...]}}.
    workday_calendar_file: str = ""
    # Domain figures that a county with other rules may change (DOMAIN.md §1, §4).
    blacklist_years: int = 3
    # Early removal (信用修复) may be applied for once the listing has run this many months.
    blacklist_min_months_before_removal: int = 12
    # 信用修复 (DOMAIN.md §8): working days from receipt within which an application is decided.
    repair_decision_working_days: int = 20
    # Objections (异议, DOMAIN.md §8; local practice): working days to check and answer.
    objection_answer_working_days: int = 15
    # Reports and rewards (DOMAIN.md §3): days to claim an approved reward; how long a closed
    # report's content is kept before purge-reports erases it.
    reward_claim_days: int = 60
    report_retention_years: int = 2
    # How long a credit certificate can be verified.
    credit_certificate_days: int = 30
    page_size: int = 20
    # How many answers to a receipt code one process pads to their fixed time at once
    # (portal.receipts.AnswerSlots); one more waits up to 0.5 s for a slot, and others are
    # answered "busy, try again" at once.  Keep it at most half a process's threads
    # (gunicorn.conf.py sets it from its thread count).
    receipt_slots: int = 2
    session_idle_minutes: int = 30
    # Rate limits, one per named action (Flask-Limiter syntax).
    ratelimit_search: str = "60 per minute"
    ratelimit_login: str = "5 per minute;20 per hour"
    # The report pages count per Beijing day only (portal.daily_limits): a shorter window's
    # expiry in the limiter's storage would date a report.
    ratelimit_report: str = "30 per day"
    ratelimit_followup: str = "200 per day"
    # Photo thumbnails on report pages (draft and case page; a case page shows up to 20).
    ratelimit_report_photo: str = "2000 per day"
    ratelimit_credit: str = "30 per minute"
    # Issuing a certificate writes a row (and counts in the audit log): a tighter limit of its
    # own, on top of the credit pages' shared one.
    ratelimit_certificate: str = "5 per minute;30 per day"
    # The open data: JSON API, CSV downloads and Atom feeds share this limit.
    ratelimit_api: str = "120 per minute"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls, overrides: dict[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Read ``PORTAL_<NAME>`` for each field (from ``environ``, default the process's
        environment), then apply ``overrides`` (tests)."""
        environ = os.environ if environ is None else environ
        for name, message in RENAMED_VARIABLES.items():
            if name in environ:
                raise SettingsError(message)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = environ.get(f"PORTAL_{f.name.upper()}")
            if raw is None:
                continue
            values[f.name] = int(raw) if f.type == "int" else raw
        settings = cls(**values)
        if overrides:
            known = {f.name for f in fields(cls)}
            extra = {k: v for k, v in overrides.items() if k not in known}
            settings = replace(
                settings, **{k: v for k, v in overrides.items() if k in known}, extra=extra
            )
        return settings.checked()

    def checked(self) -> Settings:
        if self.env not in ENVIRONMENTS:
            raise SettingsError(f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if self.env == "production" and (
            not self.secret_keys or any(len(k) < 32 for k in self.secret_keys)
        ):
            raise SettingsError(
                "PORTAL_SECRET_KEY must be set to at least 32 random characters in production "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))'); when rotating, "
                "each comma-separated key, newest first"
            )
        if self.search_backend not in SEARCH_BACKENDS:
            raise SettingsError(
                f"PORTAL_SEARCH_BACKEND must be one of {', '.join(SEARCH_BACKENDS)}")
        if self.search_backend == "postgres" and not self.database_url.startswith("postgresql"):
            raise SettingsError("PORTAL_SEARCH_BACKEND=postgres keeps the index in the database: "
                                "PORTAL_DATABASE_URL must be a PostgreSQL URL")
        from portal.daily_limits import NotDaily, per_beijing_day

        for name in ("ratelimit_report", "ratelimit_followup", "ratelimit_report_photo"):
            try:
                per_beijing_day(getattr(self, name))
            except NotDaily:
                raise SettingsError(
                    f"PORTAL_{name.upper()} must count per day only (e.g. '30 per day'): a "
                    "shorter window's expiry in the limiter's storage would date a report"
                ) from None
            except ValueError:
                raise SettingsError(f"PORTAL_{name.upper()} is not a rate limit "
                                    "(e.g. '30 per day')") from None
        if self.receipt_slots < 1:
            raise SettingsError("PORTAL_RECEIPT_SLOTS must be 1 or more")
        if self.trusted_proxies < 0:
            raise SettingsError("PORTAL_TRUSTED_PROXIES must be 0 or more")
        if self.base_url:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname or (
                parts.path not in ("", "/") or parts.query or parts.fragment
            ):
                raise SettingsError(
                    "PORTAL_BASE_URL must be a scheme and host only, e.g. https://aqsc.example.cn"
                )
        if not 0 <= self.blacklist_min_months_before_removal <= 12 * self.blacklist_years:
            raise SettingsError(
                "PORTAL_BLACKLIST_MIN_MONTHS_BEFORE_REMOVAL must be between 0 and the listing "
                "duration (PORTAL_BLACKLIST_YEARS) in months"
            )
        if not 1 <= self.objection_answer_working_days <= 250:
            raise SettingsError("PORTAL_OBJECTION_ANSWER_WORKING_DAYS must be between 1 and 250")
        if not 1 <= self.repair_decision_working_days <= 250:
            raise SettingsError("PORTAL_REPAIR_DECISION_WORKING_DAYS must be between 1 and 250")
        if self.env == "production" and not self.data_key:
            raise SettingsError("PORTAL_DATA_KEY must be set in production")
        if self.data_key:
            # A key given is checked in every environment: a short key is never a real one.
            from portal.crypto import DataKeyInvalid, parse_data_keys

            try:
                parse_data_keys(self.data_key)
            except DataKeyInvalid as exc:
                raise SettingsError(str(exc)) from None
        if self.env == "test":
            # Tests never touch the shared instance/ folder: a fresh key per app.
            return replace(
                self,
                secret_key=self.secret_key or secrets.token_urlsafe(48),
                data_key=self.data_key or secrets.token_urlsafe(32),
            )
        # Demo: random keys kept under instance/ so sessions survive a restart;
        # never a fixed string in code.
        return replace(
            self,
            secret_key=self.secret_key or _instance_secret("secret_key"),
            data_key=self.data_key or _instance_secret("data_key"),
        )

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """``PORTAL_SECRET_KEY`` as keys, newest first: ``NEW,OLD`` while rotating.  The newest
        signs and makes everything new; the older ones still open sessions, receipt codes,
        claim slips and certificates made before the rotation."""
        return tuple(k.strip() for k in self.secret_key.split(",") if k.strip())

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def _instance_secret(name: str) -> str:
    path = INSTANCE_DIR / name
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value
