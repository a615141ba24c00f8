"""Back-office views, one module per area; each view declares who may reach it."""

from portal.staff.views import (  # noqa: F401
    admin,
    auth,
    items,
    objections,
    repair,
    reports,
    supervision,
)
