"""A loopback HTTP server (127.0.0.1) for the download tests: it serves byte strings by path, answers
Range requests, and can refuse a path, serve a web page instead of the file, or drop the connection
part-way, once. It records every request."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


class Loopback:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.refuse: dict[str, int] = {}  # path -> HTTP status
        self.web_page: set[str] = set()  # paths answered with an HTML page (a quota or sign-in page)
        self.cut_once: dict[str, int] = {}  # path -> bytes sent before the connection drops, once
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self._answer(head=True)

            def do_GET(self):
                self._answer(head=False)

            def _answer(self, head: bool):
                path = unquote(self.path.split("?")[0])
                server.requests.append((self.command, path, self.headers.get("Range")))
                if path in server.refuse:
                    self.send_error(server.refuse[path])
                    return
                if path in server.web_page:
                    body = b"<html><body>Quota exceeded: too many users have downloaded this file</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not head:
                        self.wfile.write(body)
                    return
                if path not in server.files:
                    self.send_error(404)
                    return
                data = server.files[path]
                start = 0
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
                    start = int(wanted[len("bytes="):-1])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if head:
                    return
                body = data[start:]
                if not head and path in server.cut_once:
                    body = body[:server.cut_once.pop(path)]
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def gets(self, path: str) -> list[str | None]:
        """The Range headers of the GET requests for `path`."""
        return [range_ for method, p, range_ in self.requests if method == "GET" and p == path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
