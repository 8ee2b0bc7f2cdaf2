"""A small fault-injecting HTTP proxy for tests: loopback only, bounded, stopped by the test.

It forwards every request to one upstream (Label Studio) and can, for the next N requests that
match a method and path prefix: answer 503 without forwarding, drop the connection without
forwarding, or forward and then drop the connection (the request landed, the answer is lost).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import requests

from tests.realservices import LOOPBACK

Fault = Literal["503", "drop", "drop_after_forward"]
MAX_REQUESTS = 5000  # a proxy that is never stopped still stops serving


@dataclass
class _Rule:
    fault: Fault
    method: str
    path_prefix: str
    remaining: int


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[_Rule] = []
        self.faults_done = 0
        self.served = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def inject(self, fault: Fault, *, method: str = "", path_prefix: str = "/", times: int = 1) -> None:
        with self._lock:
            self.rules.append(_Rule(fault, method.upper(), path_prefix, times))

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            self.served += 1
            for rule in self.rules:
                if rule.remaining and (not rule.method or rule.method == method) and path.startswith(rule.path_prefix):
                    rule.remaining -= 1
                    self.faults_done += 1
                    return rule.fault
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:  # keep test output quiet
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.served >= MAX_REQUESTS:
                    self.close_connection = True
                    return
                fault = proxy._take(self.command, self.path)
                if fault == "503":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fault == "drop":
                    self.close_connection = True
                    return
                # Host passes through as a reverse proxy sets it (CSRF origin checks compare with it)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
                answer = requests.request(self.command, proxy.upstream + self.path, headers=headers, data=body,
                                          allow_redirects=False, timeout=60)
                if fault == "drop_after_forward":
                    self.close_connection = True
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding",
                                           "set-cookie", "date", "server"):
                        self.send_header(key, value)
                for cookie in answer.raw.headers.getlist("Set-Cookie"):
                    self.send_header("Set-Cookie", cookie)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any  # noqa: N815 - http.server's names

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.stop()
