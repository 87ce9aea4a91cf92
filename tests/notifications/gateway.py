"""A tiny SMS gateway on 127.0.0.1 for the tests: records what it is sent and
answers from a script, so the HTTP adapter meets real sockets, real status
codes and real timeouts instead of a mock.

    with FakeGateway([Reply(500), Reply(500)]) as gateway:   # then 200s
        ...
        gateway.requests[0].json["text"]
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Without `body`, a 2xx carries a fresh message id.

    `delay` holds the answer back (longer than the client's timeout: a
    timeout); `hang_up` closes the connection without any answer;
    `raw` is written to the socket as it is (a garbled HTTP answer).
    """

    status: int = 200
    body: bytes | dict | None = None
    delay: float = 0.0
    hang_up: bool = False
    raw: bytes | None = None


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class FakeGateway:
    def __init__(self, script: list[Reply] | None = None) -> None:
        self.script: deque[Reply] = deque(script or [])
        self.requests: list[Received] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------
    def __enter__(self) -> FakeGateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply = gateway._take(Received(self.path, dict(self.headers.items()), body))
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.hang_up:
                    self.close_connection = True
                    return
                if reply.raw is not None:
                    self.wfile.write(reply.raw)
                    self.close_connection = True
                    return
                payload = reply.body
                if payload is None and 200 <= reply.status < 300:
                    payload = {"message_id": f"gw-{next(gateway._ids)}"}
                if isinstance(payload, dict):
                    payload = json.dumps(payload).encode()
                payload = payload or b""
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, format, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        assert self._server is not None, "the gateway is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1/messages"

    # --- script -----------------------------------------------------------
    def answer(self, *replies: Reply) -> None:
        """Queue the next answers; once they are used up every request gets a 200."""
        with self._lock:
            self.script.extend(replies)

    def _take(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            return self.script.popleft() if self.script else Reply()
