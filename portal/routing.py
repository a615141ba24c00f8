"""URL converters shared by every blueprint, registered once in ``create_app``."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

# Every id column is an ``Integer`` (PostgreSQL's int4).  A larger number in a URL names a row
# that cannot exist, and handing it to PostgreSQL fails the query with an overflow (a 500)
# instead of finding nothing, so such a URL must not reach a view at all.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<id:name>``: a database id, 1 to ``MAX_ID``; any other number matches no route (404)."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=MAX_ID)


def register(app: Flask) -> None:
    """Make ``<id:…>`` available to routes; call before the blueprints are registered."""
    app.url_map.converters["id"] = IdConverter
