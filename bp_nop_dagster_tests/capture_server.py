"""A tiny HTTP server on loopback (port 0) for what the simulators must never do: stand in for an
attacker's host, answer with a redirect, a huge body or an absurd header. It records every
request it receives (method, path, headers, body) and answers each with `reply(request)`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# How often `serve_forever` looks for `shutdown()`: the standard library's 0.5 s made every
# `with capture_server()` end 0.5 s after its test was done (1 s for the usual two servers).
SHUTDOWN_POLL_SECONDS = 0.01


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    declare_length: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass
class CaptureServer:
    url: str
    received: list[Received]


@contextmanager
def capture_server(reply: Callable[[Received], Answer] = lambda _: Answer()) -> Iterator[CaptureServer]:
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
            received.append(request)
            answer = reply(request)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.declare_length:
                self.send_header("Content-Length", str(len(answer.body)))
            else:
                self.close_connection = True
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, daemon=True)
    thread.start()
    try:
        yield CaptureServer(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()
