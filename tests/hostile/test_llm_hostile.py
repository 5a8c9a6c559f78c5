"""Hostile language-model endpoints: a slow drip, a huge reply, a redirect to another host, deeply nested JSON.

Each ends in one MarsInputError within the deadline; the API key never reaches another origin.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mars_core.control.scenarios import MAX_REPLY_BYTES, parse_with_llm
from mars_core.errors import MarsInputError

Behaviour = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def serve(behaviour: Behaviour, seen: list[dict] | None = None) -> Iterator[str]:
    """An endpoint on 127.0.0.1 whose every POST runs `behaviour`; yields its base URL; records request headers."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if seen is not None:
                seen.append(dict(self.headers))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                behaviour(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


def headers(handler: BaseHTTPRequestHandler, status: int = 200, length: int | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.end_headers()


def drip(handler: BaseHTTPRequestHandler) -> None:
    """One byte a second, for a minute."""
    headers(handler, length=60)
    for _ in range(60):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(1)


def huge_declared(handler: BaseHTTPRequestHandler) -> None:
    headers(handler, length=1_500_000_000)
    handler.wfile.write(b"{" * 1000)


def huge_streamed(handler: BaseHTTPRequestHandler) -> None:
    """No length: megabytes until the client hangs up."""
    headers(handler)
    for _ in range(100):
        handler.wfile.write(b"[" * 100_000)


def nested(handler: BaseHTTPRequestHandler) -> None:
    content = "[" * 100_000 + "]" * 100_000
    body = json.dumps({"choices": [{"message": {"content": content}}]}).encode()
    headers(handler, length=len(body))
    handler.wfile.write(body)


def nested_envelope(handler: BaseHTTPRequestHandler) -> None:
    body = b"[" * 200_000
    headers(handler, length=len(body))
    handler.wfile.write(body)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("behaviour", "says", "limit_s"),
    [
        (drip, "did not answer within 3 s", 5.0),
        (huge_declared, f"1,500,000,000 bytes; at most {MAX_REPLY_BYTES:,}", 2.0),
        (huge_streamed, f"more than {MAX_REPLY_BYTES:,} bytes", 3.0),
        (nested, "did not answer with JSON", 2.0),
        (nested_envelope, "did not answer like an OpenAI-compatible chat endpoint", 2.0),
    ],
    ids=["one byte a second", "1.5 GB declared", "endless body", "nested content", "nested envelope"],
)
def test_a_hostile_endpoint_ends_in_one_error_within_the_deadline(behaviour: Behaviour, says: str, limit_s: float):
    with serve(behaviour) as url:
        started = time.monotonic()
        with pytest.raises(MarsInputError) as err:
            parse_with_llm("sharp drop", url, "m", api_key="secret", timeout=3)
        assert time.monotonic() - started < limit_s
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_redirect_is_not_followed_and_the_key_goes_nowhere_else() -> None:
    other: list[dict] = []
    with serve(lambda h: headers(h, length=2), other) as elsewhere:

        def redirect(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(307)
            handler.send_header("Location", f"{elsewhere}/chat/completions")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        asked: list[dict] = []
        with serve(redirect, asked) as url, pytest.raises(MarsInputError, match="redirects to .* not followed"):
            parse_with_llm("sharp drop", url, "m", api_key="secret", timeout=3)
    assert asked[0]["Authorization"] == "Bearer secret"
    assert other == []  # the other host was never contacted, so never saw the key
