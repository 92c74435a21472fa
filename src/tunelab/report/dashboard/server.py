"""The dashboard's HTTP server: the standard library's ThreadingHTTPServer with a few
GET routes. Nothing writes: every other method gets 405. Every answer carries the
page's Content-Security-Policy (page.py).

Routes: /  (the page), /static/plotly.min.js, /static/dashboard.js, /api/studies,
/api/study?name=NAME[&since=VERSION], /api/trial?name=NAME&number=N."""

from __future__ import annotations

import errno
import ipaddress
import json
import logging
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tunelab.errors import StudyNotFoundError, TunelabError
from tunelab.report.assets import plotly_js
from tunelab.report.dashboard.app import DashboardApp, TrialNotFoundError
from tunelab.report.dashboard.page import PAGE, POLICY, SCRIPT

log = logging.getLogger("tunelab.dashboard")
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
NO_TRIAL = "name the study and the trial: /api/trial?name=NAME&number=N (N: a trial number)"
NO_NAME = "name the study: /api/study?name=NAME (/api/studies lists them)"


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: DashboardApp) -> None:
        self.app = app
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


class Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    protocol_version = "HTTP/1.1"

    # -- the only method that does anything ----------------------------------------------
    def do_GET(self) -> None:
        if not self._host_allowed():
            self._send_json({"error": "unknown Host header"}, HTTPStatus.FORBIDDEN)
            return
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        try:
            if parts.path in ("/", "/index.html"):
                self._send(PAGE.encode(), "text/html; charset=utf-8")
            elif parts.path == "/static/plotly.min.js":
                self._send(
                    plotly_js().encode(),
                    "application/javascript; charset=utf-8",
                    cache="public, max-age=86400",
                )
            elif parts.path == "/static/dashboard.js":
                self._send(SCRIPT.encode(), "application/javascript; charset=utf-8")
            elif parts.path == "/api/studies":
                self._send_json(self.server.app.studies())
            elif parts.path == "/api/study":
                name = (query.get("name") or [""])[0]
                since = (query.get("since") or [""])[0] or None
                if name.strip():
                    self._send(self.server.app.study(name, since), "application/json")
                else:
                    self._send_json({"error": NO_NAME}, HTTPStatus.BAD_REQUEST)
            elif parts.path == "/api/trial":
                name = (query.get("name") or [""])[0]
                number = (query.get("number") or [""])[0]
                if not name.strip() or not number.isdigit():
                    self._send_json({"error": NO_TRIAL}, HTTPStatus.BAD_REQUEST)
                else:
                    self._send(self.server.app.trial(name, int(number)), "application/json")
            else:
                self._send_json({"error": f"no such page: {parts.path}"}, HTTPStatus.NOT_FOUND)
        except (StudyNotFoundError, TrialNotFoundError) as e:
            self._send_json({"error": str(e)}, HTTPStatus.NOT_FOUND)
        except (TunelabError, ValueError) as e:
            log.warning("dashboard: %s", e)
            self._send_json({"error": str(e)}, HTTPStatus.INTERNAL_SERVER_ERROR)
        except Exception as e:  # a bug: keep serving, say what broke
            log.exception("dashboard: %s failed", parts.path)
            self._send_json({"error": f"{type(e).__name__}: {e}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def do_HEAD(self) -> None:
        self._send(b"", "text/plain")

    def _refuse(self) -> None:
        self._send_json(
            {"error": "the dashboard is read-only"}, HTTPStatus.METHOD_NOT_ALLOWED, allow="GET"
        )

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    # -- plumbing ------------------------------------------------------------------------
    def _host_allowed(self) -> bool:
        """On a loopback address, answer only requests addressed to a loopback name, so a
        web page elsewhere cannot read studies through DNS rebinding."""
        try:
            loopback = ipaddress.ip_address(str(self.server.server_address[0])).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return True
        host = (self.headers.get("Host") or "").strip()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
        return name in LOOPBACK_NAMES

    def _send(
        self,
        body: bytes,
        content_type: str,
        status: HTTPStatus = HTTPStatus.OK,
        cache: str = "no-store",
        allow: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", POLICY)
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(
        self, data: Any, status: HTTPStatus = HTTPStatus.OK, allow: str | None = None
    ) -> None:
        self._send(json.dumps(data).encode(), "application/json", status, allow=allow)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per error only
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            log.info("%s %s", self.address_string(), format % args)


class DashboardError(TunelabError):
    """The dashboard cannot listen where it was asked to (port in use, bad address)."""


def make_server(app: DashboardApp, host: str = "127.0.0.1", port: int = 8080) -> DashboardServer:
    """Bind the dashboard (port 0: any free port; see `.url`). Without plotly, raise the
    ImportError that names the install command: a page with no plots is no use."""
    plotly_js()
    try:
        return DashboardServer((host, port), app)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise DashboardError(
                f"port {port} on {host} is already in use; pick another with --port "
                f"(e.g. --port {port + 1})"
            ) from None
        raise DashboardError(
            f"cannot listen on {host}:{port}: {e.strerror or e}; check --host and --port"
        ) from None


def serve(server: DashboardServer, out: Any = None) -> None:
    """Serve until Ctrl-C."""
    print(
        f"tunelab dashboard on {server.url} (read-only; Ctrl-C stops it)",
        file=out or sys.stdout,
        flush=True,
    )
    try:
        local = ipaddress.ip_address(str(server.server_address[0])).is_loopback
    except ValueError:
        local = False
    if not local:
        print(
            "warning: listening beyond this machine: anyone who can reach this address can "
            "read your studies (use --host 127.0.0.1 to keep it local)",
            file=sys.stderr,
            flush=True,
        )
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
