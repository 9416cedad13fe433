"""A Bluesky AppView stand-in on 127.0.0.1 that replays recorded pages.

It answers ``/xrpc/<method>?...`` from a dict keyed by (method, params, cursor), sends
the rate-limit headers the real AppView sends, and can be told to answer 429 once
(``rate_limit_once``) or to fail every request from the Nth on (``fail_from``), which
is how a collection cut off mid-run is simulated.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Replay:
    def __init__(self, pages: dict):
        self.pages = pages
        self.requests: list[tuple] = []
        self.rate_limit_once: str | None = None  # a method to answer 429 the first time
        self.fail_from: int | None = None
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                replay.handle(self)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(h.path)
        method = url.path.removeprefix("/xrpc/")
        qs = urllib.parse.parse_qs(url.query)
        qs.pop("limit", None)
        cursor = qs.pop("cursor", [None])[0]
        key = (method, tuple(sorted((k, tuple(v)) for k, v in qs.items())), cursor)
        self.requests.append(key)
        reset = str(int(time.time()) + 1)
        if self.fail_from is not None and len(self.requests) >= self.fail_from:
            return self._send(h, 502, {"error": "UpstreamFailure"}, {})
        if self.rate_limit_once == method:
            self.rate_limit_once = None
            return self._send(h, 429, {"error": "RateLimitExceeded"},
                              {"ratelimit-remaining": "0", "ratelimit-reset": reset})
        page = self.pages.get(key)
        if page is None:
            return self._send(h, 400, {"error": "InvalidRequest",
                                       "message": f"no recorded page for {key}"}, {})
        return self._send(h, 200, page, {"ratelimit-limit": "3000",
                                         "ratelimit-remaining": "2999",
                                         "ratelimit-reset": reset})

    @staticmethod
    def _send(h, status: int, body: dict, headers: dict) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
