"""The server's CPU for one request refused over its rate limit (issue 13 §2), in process: no
HTTP, no other load counted, so the figure holds on a busy machine where bench/abuse.py's
latencies do not.

    python bench/refusal_cost.py [--requests 2000]

Builds the app as the tests do (SQLite, the limiter in memory) with limits of 1, uses each up
once, then calls the WSGI app on prepared requests from that client and prints the process CPU
time per refused request: a wrong receipt code (``POST /report/followup``) and a failed sign-in
(``POST /staff/login``), each with its session cookie and CSRF token as a browser sends them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.test import EnvironBuilder  # noqa: E402

from tests.conftest import make_app  # noqa: E402
from tests.reports.conftest import csrf_from  # noqa: E402

ADDRESS = "203.0.113.50"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    app = make_app(Path(tempfile.mkdtemp(prefix="portal-bench-refusal-")),
                   ratelimit_followup="1 per day", ratelimit_login="1 per minute")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    client.get("/report/followup")
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    cookie = client.get_cookie("session").value
    cases = {
        "wrong receipt code": ("/report/followup",
                               {"csrf_token": token, "code": "7KQ2-XM9D-0000-0000-0000-0000-0000"}),
        "failed sign-in": ("/staff/login", {"csrf_token": token, "username": "demo-admin",
                                            "password": "not-the-password-1", "code": "000000"}),
    }
    statuses: dict[str, int] = {}

    def start_response(status, headers, exc_info=None):  # noqa: ANN001, ANN202
        statuses[status] = statuses.get(status, 0) + 1

    for name, (path, fields) in cases.items():
        environs = [EnvironBuilder(path=path, method="POST", data=fields,
                                   headers={"Cookie": f"session={cookie}"},
                                   environ_base={"REMOTE_ADDR": ADDRESS}).get_environ()
                    for _ in range(args.requests + 1)]
        b"".join(app(environs.pop(), start_response))  # the one within the limit
        statuses.clear()
        started = time.process_time()
        for environ in environs:
            result = app(environ, start_response)
            b"".join(result)
            if hasattr(result, "close"):
                result.close()
        per_request = (time.process_time() - started) / len(environs)
        print(f"{name:<20} {per_request * 1e6:7.0f} µs of CPU per refusal  {statuses}")
    app.extensions["search_index"].close()


if __name__ == "__main__":
    main()
