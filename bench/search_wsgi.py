"""The app as ``wsgi.py`` builds it, for the search bench (gunicorn ``bench.search_wsgi:app``):
the Whoosh result cache off, so every query is measured and not the LRU, and a bare endpoint
``/bench/ok`` on the same app and server, the floor every request pays."""

from portal import create_app

app = create_app()
index = app.extensions["search_index"]
if hasattr(index, "cache_size"):
    index.cache_size = 0


@app.get("/bench/ok")
def ok() -> str:
    return "ok"
