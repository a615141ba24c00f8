"""A refused request costs the server next to nothing (issue 13 §2): a client over its limit
is answered before its body is read, so a flood of large uploads is not parsed to be refused."""

from __future__ import annotations

import io

from tests.conftest import make_app
from tests.reports.conftest import csrf_from

PHOTO_BYTES = b"\xff\xd8" + b"x" * 2_000_000  # what it is does not matter: it must not be read


class CountingInput(io.BytesIO):
    """``wsgi.input`` that counts the bytes the app reads from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def read1(self, size: int = -1) -> bytes:
        chunk = super().read1(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        chunk = super().readline(size)
        self.read_bytes += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        count = super().readinto(buffer)
        self.read_bytes += count
        return count


def _multipart(token: str) -> tuple[bytes, str]:
    boundary = "refusal-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
             f"{token}\r\n".encode(),
             f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"'
             f"\r\nContent-Type: image/jpeg\r\n\r\n".encode() + PHOTO_BYTES + b"\r\n",
             f"--{boundary}--\r\n".encode()]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_a_post_over_the_limit_is_refused_without_reading_its_body(tmp_path):
    app = make_app(tmp_path, ratelimit_report="1 per day")
    try:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "203.0.113.50"
        token = csrf_from(client.get("/report").get_data(as_text=True))
        body, content_type = _multipart(token)
        first = CountingInput(body)
        answer = client.post("/report", input_stream=first, content_type=content_type,
                             content_length=len(body))
        assert answer.status_code != 429
        assert first.read_bytes == len(body)  # within the limit: read and handled
        second = CountingInput(body)
        second.second = True
        refused = client.post("/report", input_stream=second, content_type=content_type,
                              content_length=len(body))
        assert refused.status_code == 429
        assert second.read_bytes == 0
    finally:
        app.extensions["search_index"].close()
