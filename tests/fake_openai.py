"""A scripted OpenAI-compatible server on 127.0.0.1: the one stand-in the tests use.

    with FakeOpenAI() as server:
        server.script(reply("Russia lifted the ban on June 30 [1]."))
        settings = replace(settings, openai_api_key="sk-test", openai_base_url=server.url)
        ...
        server.requests[0]["messages"]      # what the client sent

It speaks the real wire format: POST /v1/chat/completions; a JSON completion, or with
`"stream": true` a `text/event-stream` of `data: {chunk}` lines ending `data: [DONE]`; errors
as `{"error": {...}}` with their HTTP status. Each request takes the next scripted reply; when
the script runs out the last reply repeats.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted reply. kind: "ok", "error", "stall", "malformed", "stall_mid_stream"."""

    kind: str = "ok"
    text: str | Callable[[dict[str, Any]], str] = ""  # or made from the request body
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    pieces: int = 6  # how many SSE chunks an "ok" text is cut into when streamed


def reply(text: str | Callable[[dict[str, Any]], str], pieces: int = 6) -> Reply:
    return Reply("ok", text, pieces=pieces)


def error(status: int, message: str = "error", headers: dict[str, str] | None = None) -> Reply:
    return Reply("error", message, status=status, headers=headers or {})


class FakeOpenAI:
    """The server; use as a context manager. `requests` holds every request body received."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._script: list[Reply] = [reply("Hello [1].")]
        self._lock = threading.Lock()
        self.release = threading.Event()  # set to end any stall at once
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, *replies: Reply) -> None:
        """Replies for the next requests, in order; clears what was recorded."""
        with self._lock:
            self._script = list(replies)
            self.requests.clear()
            self.headers.clear()
        self.release.clear()

    def next_reply(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            return self._script.pop(0) if len(self._script) > 1 else self._script[0]


def completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }  # fmt: skip


def chunk(delta: dict[str, str], model: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }  # fmt: skip


def split(text: str, pieces: int) -> list[str]:
    """`text` cut into about `pieces` parts. Example: split("abcd", 2) == ["ab", "cd"]."""
    size = max(1, -(-len(text) // max(1, pieces)))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            body = json.loads(raw or b"{}")
            r = server.next_reply(body, dict(self.headers))
            if callable(r.text):
                r = Reply(r.kind, r.text(body), r.status, r.headers, r.pieces)
            if not self.path.endswith("/chat/completions"):
                return self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            model = body.get("model", "")
            if r.kind == "error":
                error_type = {401: "invalid_request_error", 429: "rate_limit_error"}.get(r.status, "server_error")
                return self._json(r.status, {"error": {"message": str(r.text), "type": error_type}}, r.headers)
            if r.kind == "stall":
                server.release.wait(60)
                return None
            if body.get("stream"):
                return self._stream(r, model)
            if r.kind == "malformed":
                return self._raw(200, b'{"id": "chatcmpl-test", "choices": [{"mess', "application/json")
            return self._json(200, completion(str(r.text), model))

        def _stream(self, r: Reply, model: str) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            events = [chunk({"role": "assistant", "content": ""}, model)]
            events += [chunk({"content": p}, model) for p in split(str(r.text), r.pieces)]
            if r.kind == "malformed":
                events = events[:1]
                self._send(b"data: {\"choices\": [{\"delta\": {\"cont\n\n")
            for i, event in enumerate(events):
                if r.kind == "stall_mid_stream" and i == 3:
                    server.release.wait(60)
                    return
                self._send(f"data: {json.dumps(event)}\n\n".encode())
                time.sleep(0.01)
            self._send(f"data: {json.dumps(chunk({}, model, 'stop'))}\n\n".encode())
            self._send(b"data: [DONE]\n\n")
            self.close_connection = True

        def _send(self, data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self._raw(status, json.dumps(payload).encode(), "application/json", headers)

        def _raw(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self._send(data)

    return Handler
