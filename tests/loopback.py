"""A tiny HTTP server on 127.0.0.1 that plays a news site for the tests.

Tests register paths with their bytes (or a callable for changing answers) and read back the
request log.  Nothing ever leaves the loopback interface.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})


Route = Reply | Callable[[], Reply]


class LoopbackSite:
    """Serve registered routes; unknown paths answer 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.headers: list[tuple[str, dict[str, str]]] = []  # (path, request headers), in order
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                with site._lock:
                    site.requests.append(self.path)
                    site.headers.append((self.path, dict(self.headers.items())))
                    route = site.routes.get(self.path)
                reply = route() if callable(route) else route
                if reply is None:
                    reply = Reply(404, b"not found", {"Content-Type": "text/plain"})
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

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
