"""A loopback news site served from memory, for the crawl benchmark (``bench/run.py``).

    python bench/site_server.py MANIFEST.json PORT_FILE

MANIFEST is ``{"folder": ..., "pages": [[file name, category, article id], ...]}`` (what
``run.py`` writes next to its corpus).  Every page is read into memory first, so the server does
no disk I/O; it answers ``/sitemap.xml`` (all article URLs), ``/news/<cat>/<id>.aspx``,
``/_stats`` (JSON: requests per kind) and 404 otherwise, with HTTP/1.1 keep-alive, on one
asyncio loop.  It writes its port to PORT_FILE once listening and runs until killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path


def load(manifest: Path) -> tuple[dict[str, bytes], list[str]]:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    folder = Path(data["folder"])
    routes, paths = {}, []
    for name, category, article_id in data["pages"]:
        path = f"/news/{category}/{article_id}.aspx"
        routes[path] = (folder / name).read_bytes()
        paths.append(path)
    return routes, paths


def main(argv: list[str]) -> int:
    routes, paths = load(Path(argv[0]))
    port_file = Path(argv[1])
    stats = {"sitemap": 0, "article": 0, "other": 0}
    state: dict[str, bytes] = {}

    def reply(status: str, body: bytes, ctype: str) -> bytes:
        head = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: keep-alive\r\n\r\n").encode()
        return head + body

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
                if target == "/sitemap.xml":
                    stats["sitemap"] += 1
                    writer.write(reply("200 OK", state["sitemap"], "application/xml"))
                elif target in routes:
                    stats["article"] += 1
                    writer.write(reply("200 OK", routes[target], "text/html; charset=utf-8"))
                elif target == "/_stats":
                    writer.write(reply("200 OK", json.dumps(stats).encode(), "application/json"))
                else:
                    stats["other"] += 1
                    writer.write(reply("404 Not Found", b"not found", "text/plain"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        port = server.sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in paths)
        state["sitemap"] = (f'<?xml version="1.0" encoding="UTF-8"?><urlset '
                            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        tmp.replace(port_file)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
