"""The nginx configuration of docs/deploy.md, as the benchmark and the tests run it.

docs/deploy.md holds one ``nginx`` block (what goes in ``/etc/nginx/conf.d/``).  ``render`` takes
it as it is and replaces only addresses, ports and file paths, each of which must be found
exactly where the document puts it (a document that changed shape fails here, loudly, rather
than being quietly not tested); ``main_config`` wraps it in a minimal ``nginx.conf`` whose files
all live in one folder, and ``Nginx`` runs that as a child process (not the system service).

Importable without the rest of bench/ (tests/test_deploy_nginx.py uses it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

# What the document names, and what render() puts in its place.
UPSTREAMS = ("10.0.0.11:8000", "10.0.0.12:8000")
TLS_LISTEN = "listen 443 ssl http2;"
PLAIN_LISTEN = "listen 80;"
LOG_FOLDER = "/var/log/nginx/"
CACHE_FOLDER = "/var/cache/nginx/portal"
CERTIFICATE = "/etc/ssl/portal/fullchain.pem"
PRIVATE_KEY = "/etc/ssl/portal/privkey.pem"

_FENCE = re.compile(r"^```nginx\n(.*?)^```", re.S | re.M)


def documented_block(path: Path = DEPLOY_DOC) -> str:
    """The one ``nginx`` fenced block of docs/deploy.md."""
    blocks = _FENCE.findall(path.read_text(encoding="utf-8"))
    if len(blocks) != 1:
        raise ValueError(f"{path} must hold exactly one ```nginx block, found {len(blocks)}")
    return blocks[0]


def _replace(text: str, old: str, new: str, count: int = 1) -> str:
    found = text.count(old)
    if found != count:
        raise ValueError(f"docs/deploy.md's nginx block: expected {old!r} {count}×, found {found}")
    return text.replace(old, new)


@dataclass
class Layout:
    """Where one nginx instance keeps its files, all under ``folder``."""

    folder: Path

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @property
    def cache(self) -> Path:
        return self.folder / "cache"

    @property
    def temp(self) -> Path:
        return self.folder / "temp"

    @property
    def conf(self) -> Path:
        return self.folder / "nginx.conf"

    @property
    def access_log(self) -> Path:
        return self.logs / "portal.log"

    @property
    def certificate(self) -> Path:
        return self.folder / "tls" / "fullchain.pem"

    @property
    def private_key(self) -> Path:
        return self.folder / "tls" / "privkey.pem"


def render(block: str, layout: Layout, *, upstreams: tuple[str, str], https_port: int,
           http_port: int, address: str = "127.0.0.1") -> str:
    """The documented block with only addresses, ports and paths replaced."""
    text = block
    for documented, real in zip(UPSTREAMS, upstreams, strict=True):
        text = _replace(text, f"server {documented} ", f"server {real} ")
    text = _replace(text, TLS_LISTEN, f"listen {address}:{https_port} ssl http2;")
    text = _replace(text, PLAIN_LISTEN, f"listen {address}:{http_port};")
    text = _replace(text, LOG_FOLDER, f"{layout.logs}/", count=2)
    text = _replace(text, CACHE_FOLDER, str(layout.cache))
    text = _replace(text, CERTIFICATE, str(layout.certificate))
    return _replace(text, PRIVATE_KEY, str(layout.private_key))


def main_config(block: str, layout: Layout, *, workers: str = "auto") -> str:
    """A minimal nginx.conf around the rendered block: every file under ``layout.folder``."""
    temp = layout.temp
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes {workers};\n"
        "daemon off;\n"
        f"pid {layout.folder / 'nginx.pid'};\n"
        f"error_log {layout.logs / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        "    sendfile on;\n"
        "    keepalive_timeout 65;\n"
        "    keepalive_requests 100000;\n"
        "    access_log off;\n"
        # As Debian's nginx.conf, which the documented block is included in: the block itself
        # must turn it off (report and staff pages are never compressed).
        "    gzip on;\n"
        f"    client_body_temp_path {temp / 'body'};\n"
        f"    proxy_temp_path {temp / 'proxy'};\n"
        f"    fastcgi_temp_path {temp / 'fastcgi'};\n"
        f"    uwsgi_temp_path {temp / 'uwsgi'};\n"
        f"    scgi_temp_path {temp / 'scgi'};\n"
        f"{block}"
        "}\n"
    )


def self_signed(layout: Layout, name: str = "aqsc.xsbn.gov.cn") -> None:
    """A throw-away certificate and key for the documented ``ssl_certificate`` lines."""
    layout.certificate.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-keyout", str(layout.private_key), "-out", str(layout.certificate)],
                   check=True, capture_output=True)


def prepare(layout: Layout, *, upstreams: tuple[str, str], https_port: int,
            http_port: int, doc: Path = DEPLOY_DOC) -> Path:
    """Write nginx.conf, the certificate and the folders; returns the config's path."""
    for folder in (layout.logs, layout.cache, layout.temp):
        folder.mkdir(parents=True, exist_ok=True)
    self_signed(layout)
    block = render(documented_block(doc), layout, upstreams=upstreams, https_port=https_port,
                   http_port=http_port)
    layout.conf.write_text(main_config(block, layout), encoding="utf-8")
    if os.geteuid() == 0:  # the workers run as nobody: they write the cache and temp files
        for folder in (layout.cache, layout.temp):
            shutil.chown(folder, "nobody", "nogroup")
        # … so they must be able to pass through the folders above (a temporary folder is 0700):
        # traverse only (o+x), not list.
        for folder in (layout.folder, *layout.folder.parents):
            if folder == Path(tempfile.gettempdir()) or folder == folder.parent:
                break
            folder.chmod(folder.stat().st_mode | 0o001)
    return layout.conf


def test_config(layout: Layout) -> subprocess.CompletedProcess:
    """``nginx -t`` on the written configuration."""
    return subprocess.run([NGINX, "-t", "-p", str(layout.folder), "-c", str(layout.conf),
                           "-e", str(layout.logs / "error.log")],
                          capture_output=True, text=True)


class Nginx:
    """nginx in the foreground, in its own process group; ``stop`` ends it and its workers."""

    def __init__(self, layout: Layout, port: int) -> None:
        self.layout = layout
        self.port = port
        with open(layout.logs / "stderr.log", "ab") as out:
            self.proc = subprocess.Popen(
                [NGINX, "-p", str(layout.folder), "-c", str(layout.conf),
                 "-e", str(layout.logs / "error.log")],
                stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(layout.logs / 'error.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not listen within 15 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish their requests
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:  # the workers too, whatever happened to the master
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
