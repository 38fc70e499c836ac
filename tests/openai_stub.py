"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests of the LLM mode.

A real HTTP server (``ThreadingHTTPServer`` on an ephemeral port, in a background thread) that
speaks enough of the OpenAI protocol for the openai SDK (and so llama-index's ``OpenAILike``):

* ``POST /v1/chat/completions`` (also ``/chat/completions``): non-streaming, a ``chat.completion``
  object; with ``"stream": true``, ``text/event-stream`` of ``chat.completion.chunk`` objects whose
  ``delta.content`` carries the text in several small pieces, a final chunk with
  ``finish_reason: "stop"``, then ``data: [DONE]``.
* ``GET /v1/models`` (also ``/models``): a one-model list.

Replies are scripted: :meth:`OpenAIStub.script` queues replies, each a text, :data:`TIMEOUT`
(sleep ``timeout_sleep_s`` seconds, longer than the client's timeout, before answering) or
:data:`HTTP_500`. When the queue is empty the ``default`` reply is used. Every request body
received is recorded in :attr:`OpenAIStub.requests` (parsed JSON), with its path and headers in
:attr:`OpenAIStub.calls`. A request without ``model`` or ``messages`` gets a 400 JSON error.

Example::

    with OpenAIStub() as stub:
        stub.script("……处100元罚款[1]。")
        settings = LLMSettings(base_url=stub.base_url, model="stub-model", timeout_s=5)
        ...
        stub.requests[0]["messages"][0]["role"]   # 'system'
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

TIMEOUT = object()
"""A scripted reply: sleep longer than the client's timeout, then answer (too late)."""
HTTP_500 = object()
"""A scripted reply: answer with HTTP 500 and an OpenAI-style JSON error."""


def split_pieces(text: str, size: int = 3) -> list[str]:
    """The text in pieces of ``size`` characters: the deltas of a streamed reply."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class OpenAIStub:
    """The scripted server; use as a context manager (or through the ``openai_stub`` fixture)."""

    default: Any = "知识库中的文件没有涉及这个问题。"
    model: str = "stub-model"
    timeout_sleep_s: float = 3.0
    piece_chars: int = 3
    replies: deque = field(default_factory=deque)
    calls: list[Call] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _closing: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- scripting and inspection -------------------------------------------------------------

    def script(self, *replies: Any) -> OpenAIStub:
        """Queue replies (text, TIMEOUT or HTTP_500), answered in order to chat requests."""
        with self._lock:
            self.replies.extend(replies)
        return self

    def _next_reply(self) -> Any:
        with self._lock:
            return self.replies.popleft() if self.replies else self.default

    @property
    def requests(self) -> list[Any]:
        """The parsed JSON bodies of every chat-completions request, in arrival order."""
        return [c.body for c in self.calls if c.method == "POST"]

    @property
    def port(self) -> int:
        assert self._server is not None, "the stub is not running"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What to give as the OpenAI base URL: the SDK appends /chat/completions."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> OpenAIStub:
        stub = self

        class Handler(_Handler):
            owner = stub

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True  # a handler still sleeping (TIMEOUT) never blocks shutdown
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-stub", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()  # wakes handlers sleeping for TIMEOUT
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- responses ----------------------------------------------------------------------------

    def completion(self, text: str, request: dict[str, Any]) -> dict[str, Any]:
        prompt_chars = sum(len(str(m.get("content", ""))) for m in request.get("messages", []))
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model),
            "system_fingerprint": "fp_stub",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_chars, "completion_tokens": len(text),
                      "total_tokens": prompt_chars + len(text)},
        }

    def chunks(self, text: str, request: dict[str, Any]) -> list[dict[str, Any]]:
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        model = request.get("model", self.model)

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                    "system_fingerprint": "fp_stub",
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

        out = [chunk({"role": "assistant", "content": ""}, None)]
        out += [chunk({"content": piece}, None) for piece in split_pieces(text, self.piece_chars)]
        out.append(chunk({}, "stop"))
        return out


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the access log
        pass

    def _send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.owner.calls.append(Call("GET", self.path, dict(self.headers)))
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send_json(200, {"object": "list", "data": [
                {"id": self.owner.model, "object": "model", "created": 0, "owned_by": "stub"}]})
        else:
            self._error(404, f"no route {self.path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        self.owner.calls.append(Call("POST", self.path, dict(self.headers), body))
        if self.path.split("?")[0].rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._error(404, f"no route {self.path}", "not_found")
            return
        if not isinstance(body, dict):
            self._error(400, "the request body is not a JSON object", "invalid_request_error")
            return
        messages = body.get("messages")
        if not body.get("model") or not isinstance(messages, list) or not messages or not all(
                isinstance(m, dict) and "role" in m and "content" in m for m in messages):
            self._error(400, "'model' and 'messages' (a list of {role, content}) are required",
                        "invalid_request_error")
            return
        reply = self.owner._next_reply()
        try:
            if reply is TIMEOUT:
                # Sleep past the client's timeout (or until the stub closes), then answer anyway.
                self.owner._closing.wait(self.owner.timeout_sleep_s)
                reply = "太迟了。"
            if reply is HTTP_500:
                self._error(500, "the stub server failed (scripted)", "server_error")
                return
            text = str(reply)
            if body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in self.owner.chunks(text, body):
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True
            else:
                self._send_json(200, self.owner.completion(text, body))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout): nothing to answer


@pytest.fixture
def openai_stub():
    """A running :class:`OpenAIStub`, closed after the test."""
    with OpenAIStub() as stub:
        yield stub
