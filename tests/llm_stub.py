"""A stub OpenAI-compatible `/chat/completions` endpoint on 127.0.0.1 for the language-model parser's tests (no network)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class StubLLM:
    """An OpenAI-compatible endpoint on 127.0.0.1 that answers what the test queued and records the requests."""

    url: str
    replies: list[tuple[int, object, float]] = field(default_factory=list)  # (status, body, delay s)
    requests: list[dict] = field(default_factory=list)

    def answer(self, content: str | None = None, *, status: int = 200, body: object = None, delay: float = 0.0) -> None:
        if body is None:
            body = {"choices": [{"message": {"role": "assistant", "content": content}}]}
        self.replies.append((status, body, delay))


@contextmanager
def serve_stub() -> Iterator[StubLLM]:
    """Serve a StubLLM on a free port of 127.0.0.1 until the block ends."""
    stub = StubLLM("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            stub.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
            status, reply, delay = stub.replies.pop(0)
            time.sleep(delay)
            data = reply.encode() if isinstance(reply, str) else json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
