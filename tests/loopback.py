"""A tiny HTTP server on 127.0.0.1 that plays a news site for the tests.

Tests register paths with their bytes (or a callable for changing answers) and read back the
request log.  Nothing ever leaves the loopback interface.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0  # seconds to wait before answering (a hanging server)
    length: int | None = None  # Content-Length to announce (more than the body: a cut-off transfer)


def redirect(location: str, status: int = 301) -> Reply:
    return Reply(status, b"", {"Location": location, "Content-Type": "text/html"})


Route = Reply | Callable[[], Reply]


class LoopbackSite:
    """Serve registered routes; unknown paths answer 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.times: list[tuple[str, float]] = []  # (path, time.monotonic()) of every request
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                with site._lock:
                    site.requests.append(self.path)
                    site.times.append((self.path, time.monotonic()))
                    route = site.routes.get(self.path)
                reply = route() if callable(route) else route
                if reply is None:
                    reply = Reply(404, b"not found", {"Content-Type": "text/plain"})
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    length = reply.length if reply.length is not None else len(reply.body)
                    self.send_header("Content-Length", str(length))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    return
                if length > len(reply.body):
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str | Route, status: int = 200,
            content_type: str = "text/html; charset=utf-8") -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, bytes):
            body = Reply(status, body, {"Content-Type": content_type})
        self.routes[path] = body

    def hits(self, path: str) -> int:
        return sum(1 for p in self.requests if p == path)

    def __enter__(self) -> LoopbackSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
