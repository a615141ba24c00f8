"""The baseline for bench/pages.py: a bare Flask endpoint, served the same way as the portal."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok() -> str:
    return "ok"
