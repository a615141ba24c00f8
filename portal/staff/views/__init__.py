"""Back-office views, one module per area; each view declares who may reach it."""

from portal.staff.views import admin, auth, items, reports, supervision  # noqa: F401
