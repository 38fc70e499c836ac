"""The HTTP API through real HTTP: uvicorn on 127.0.0.1, httpx and the official openai client.

The index is built here from a few Chinese documents (BM25 only). Tests that change documents get
a server of their own; the others share one.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import NEW_DOCUMENT, NEW_QUESTION, LiveServer, build_index, cites_new_document

from assistant.api import create_api
from assistant.index import CURRENT
from assistant.pipeline import MAX_QUESTION_CHARS, PolicyAssistant
from assistant.service import AssistantService, _TrackedIngestor

TOKEN = "test-admin-token"
PORTAL = "http://portal.test:8080"
ANSWER_KEYS = {"id", "question", "query", "answer", "mode", "refused", "sentences", "citations", "passages", "timings_ms",
               "warnings"}
PASSAGE_KEYS = {"source", "title", "doc_number", "issuer", "section_path", "pages", "date", "in_force",
                "expiry_date", "text", "char_start", "char_end", "score"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server shared by the read-only tests."""
    settings = build_index(tmp_path_factory.mktemp("api"), admin_token=TOKEN,
                           sites=[{"key": "portal-key", "origins": [PORTAL]},
                                  {"key": "other-key", "origins": ["https://elsewhere.example.gov.cn"]}])
    with LiveServer(create_api(AssistantService(settings))) as live:
        yield live


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[tuple[LiveServer, AssistantService]]:
    """A server of its own, for tests that upload, delete and re-index."""
    service = AssistantService(build_index(tmp_path, admin_token=TOKEN, max_upload_mb=0.05))
    with LiveServer(create_api(service)) as live:
        yield live, service


def ask(url: str, question: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{url}/api/ask", json={"question": question, **body}, timeout=30)


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a server-sent event stream; event is 'message' when not named."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            payload = "\n".join(data)
            events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
    return events


def admin(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def document_count(url: str) -> int:
    return httpx.get(f"{url}/healthz").json()["documents"]


def wait_idle(url: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/api/reindex", headers=admin()).json()
        if not status["running"]:
            return status
        time.sleep(0.05)
    raise AssertionError("the re-index did not finish")


def test_without_an_index_the_api_says_so_until_ensure_index_builds_it(tmp_path: Path) -> None:
    built = build_index(tmp_path / "built")
    settings = replace(built, index_dir=tmp_path / "fresh-index")
    service = AssistantService(settings)
    with LiveServer(create_api(service)) as server:
        health = httpx.get(f"{server.url}/healthz")
        assert health.status_code == 503 and health.json()["status"] == "no_index"
        response = ask(server.url, "上海生活垃圾分几类？")
        assert response.status_code == 503 and "policyqa ingest" in response.json()["error"]
        summary = service.ensure_index(progress=False)
        assert summary is not None and summary.added == 4
        assert service.ensure_index(progress=False) is None
        assert httpx.get(f"{server.url}/healthz").json()["documents"] == 4
        assert ask(server.url, "上海生活垃圾分几类？").json()["citations"]


# -- answers ------------------------------------------------------------------------------------


def test_healthz_reports_the_live_generation(server: LiveServer) -> None:
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok" and health["documents"] == 4 and health["passages"] >= 8
    assert health["generation"].startswith("gen-")


def test_ask_returns_the_answer_json(server: LiveServer) -> None:
    response = ask(server.url, "北京算力券每年最多补贴多少钱？")
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == ANSWER_KEYS
    assert not answer["refused"] and "500万元" in answer["answer"] and "[1]" in answer["answer"]
    citation = answer["citations"][0]
    assert citation["n"] == 1 and set(citation) == PASSAGE_KEYS | {"n"}
    assert citation["title"] == "北京市算力券管理办法（试行）" and citation["doc_number"] == "京经信发〔2024〕12号"
    assert answer["passages"] and all(set(p) == PASSAGE_KEYS for p in answer["passages"])
    assert all(set(s) == {"text", "citations", "supported"} for s in answer["sentences"])


def test_ask_takes_history_and_filters(server: LiveServer) -> None:
    history = [{"role": "user", "content": "广州公共租赁住房有什么规定？"},
               {"role": "assistant", "content": "申请公共租赁住房的家庭，人均住房建筑面积应当低于15平方米。[1]"}]
    answer = ask(server.url, "公共租赁住房租金怎么确定？", history=history, filters={"in_force": False}).json()
    assert answer["citations"] and all(not c["in_force"] for c in answer["citations"])
    assert "60%" in answer["answer"]
    refused = ask(server.url, "公共租赁住房租金怎么确定？", filters={"region": "上海市", "in_force": True}).json()
    assert all(p["title"] != "广州市公共租赁住房保障办法" for p in refused["passages"])


def test_unknown_questions_are_refused(server: LiveServer) -> None:
    answer = ask(server.url, "火星移民的落户政策是什么？").json()
    assert answer["refused"] and answer["citations"] == [] and "12345" in answer["answer"]


def test_stream_sends_tokens_then_the_answer_then_done(server: LiveServer) -> None:
    response = httpx.post(f"{server.url}/api/ask/stream", json={"question": "上海生活垃圾分几类？"}, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[-2:] == ["answer", "done"] and set(names[:-2]) == {"token"} and len(names) > 3
    answer = events[-2][1]
    assert set(answer) == ANSWER_KEYS and answer["citations"] and answer["passages"]
    assert "".join(data["text"] for name, data in events if name == "token") == answer["answer"]
    assert "湿垃圾" in answer["answer"]


def test_a_failure_mid_stream_is_an_error_event(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_stream(self: PolicyAssistant, *args: Any, **kw: Any) -> Iterator[Any]:
        yield "根据知识库中的文件，"
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(PolicyAssistant, "stream", failing_stream)
    response = httpx.post(f"{server.url}/api/ask/stream", json={"question": "上海生活垃圾分几类？"}, timeout=30)
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["token", "error"]
    assert "ask again" in events[1][1]["error"] and "disk on fire" not in response.text
    chat = httpx.post(f"{server.url}/v1/chat/completions", timeout=30, json={
        "stream": True, "messages": [{"role": "user", "content": "上海生活垃圾分几类？"}]})
    chunks = sse_events(chat.text)
    assert "error" in chunks[-1][1] and ("message", "[DONE]") not in chunks


def test_chat_completions_carries_references(server: LiveServer) -> None:
    body = {"model": "policyqa", "messages": [{"role": "system", "content": "你是助手"},
                                              {"role": "user", "content": "北京算力券每年最多补贴多少钱？"}]}
    completion = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=30).json()
    assert completion["object"] == "chat.completion" and completion["model"] == "policyqa"
    content = completion["choices"][0]["message"]["content"]
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert "500万元" in content and "参考来源" in content and "[1] 《北京市算力券管理办法（试行）》" in content
    assert completion["references"][0]["n"] == 1 and completion["references"][0]["doc_number"] == "京经信发〔2024〕12号"


def test_chat_completions_stream_ends_with_references(server: LiveServer) -> None:
    body = {"model": "policyqa", "stream": True, "messages": [
        {"role": "user", "content": "广州公共租赁住房有什么规定？"},
        {"role": "assistant", "content": "……"},
        {"role": "user", "content": [{"type": "text", "text": "公共租赁住房租金怎么确定？"}]}]}
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[-1] == ("message", "[DONE]")
    chunks = [data for _, data in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert "60%" in content and "参考来源" in content and "已失效" in content
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop" and final["references"]
    assert final["references"][0]["title"] == "广州市公共租赁住房保障办法"
    assert all("references" not in c for c in chunks[:-1])


def test_the_openai_client_works(server: LiveServer) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=30)
    assert [m.id for m in client.models.list()] == ["policyqa"]
    messages = [{"role": "user", "content": "上海生活垃圾分几类？"}]
    completion = client.chat.completions.create(model="policyqa", messages=messages)
    assert "湿垃圾" in completion.choices[0].message.content
    assert completion.model_extra["references"][0]["title"] == "上海市生活垃圾分类实施办法"
    chunks = list(client.chat.completions.create(model="policyqa", messages=messages, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "湿垃圾" in text and "参考来源" in text
    assert chunks[-1].model_extra["references"][0]["n"] == 1


# -- bad requests -------------------------------------------------------------------------------


def post_raw(url: str, content: bytes | str) -> httpx.Response:
    return httpx.post(f"{url}/api/ask", content=content, headers={"Content-Type": "application/json"}, timeout=30)


@pytest.mark.parametrize(("content", "status", "words"), [
    ('{"question": "上海', 400, "not valid JSON"),
    ("[1, 2]", 400, "JSON object"),
    ("", 400, "JSON object"),
    ("{}", 422, "'question' is required"),
    ('{"question": 5}', 422, "must be text"),
    ('{"question": "   "}', 400, "empty"),
    ('{"question": "\\u0000\\u0007\\u001b"}', 400, "empty"),
    (json.dumps({"question": "垃圾" * 1500}), 400, str(MAX_QUESTION_CHARS)),
    (json.dumps({"question": "问" * 100_000}), 413, "larger than 64 KiB"),
    (json.dumps({"question": "上海垃圾", "filters": {"colour": "red"}}), 400, "colour"),
    (json.dumps({"question": "上海垃圾", "mode": "poetry"}), 400, "unknown mode"),
    (json.dumps({"question": "上海垃圾", "history": "not a list"}), 422, "history"),
])
def test_bad_requests_get_one_clear_json_error(server: LiveServer, content: str, status: int, words: str) -> None:
    response = post_raw(server.url, content)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"] and words in body["error"] and "Traceback" not in response.text


def test_an_oversized_chunked_body_is_refused_while_it_is_read(server: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(20):
            yield "问".encode() * 2000
        yield b'"}'

    response = httpx.post(f"{server.url}/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "64 KiB" in response.json()["error"]
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_control_characters_inside_a_question_are_dropped(server: LiveServer) -> None:
    response = ask(server.url, "上海生活\x00垃圾\x1b分几类？\x07")
    assert response.status_code == 200 and response.json()["question"] == "上海生活垃圾分几类？"


def test_wrong_routes_and_methods_answer_json(server: LiveServer) -> None:
    for response, status in ((httpx.get(f"{server.url}/api/ask"), 405), (httpx.get(f"{server.url}/api/nothing"), 404),
                             (httpx.delete(f"{server.url}/v1/models"), 405)):
        assert response.status_code == status and list(response.json()) == ["error"]
    stream = httpx.post(f"{server.url}/api/ask/stream", json={"question": ""})
    assert stream.status_code == 400 and "empty" in stream.json()["error"]
    chat = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]})
    assert chat.status_code == 400 and "no user message" in chat.json()["error"]


def test_openapi_documents_every_route(server: LiveServer) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/api/ask", "/api/ask/stream", "/v1/chat/completions", "/v1/models", "/api/documents",
            "/api/documents/{doc_id}", "/api/reindex", "/healthz"} <= set(schema["paths"])
    assert httpx.get(f"{server.url}/docs").status_code == 200


# -- origins and site keys ----------------------------------------------------------------------


def test_cors_answers_only_allowed_origins_and_never_star(server: LiveServer) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-site-key"}
    allowed = httpx.options(f"{server.url}/api/ask/stream", headers={"Origin": PORTAL, **preflight})
    assert allowed.status_code == 204 and allowed.headers["access-control-allow-origin"] == PORTAL
    assert "x-site-key" in allowed.headers["access-control-allow-headers"]
    refused = httpx.options(f"{server.url}/api/ask/stream", headers={"Origin": "https://evil.example", **preflight})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers

    question = {"question": "上海生活垃圾分几类？"}
    good = httpx.post(f"{server.url}/api/ask", json=question, headers={"Origin": PORTAL, "X-Site-Key": "portal-key"})
    assert good.status_code == 200 and good.headers["access-control-allow-origin"] == PORTAL
    for headers in ({"Origin": PORTAL}, {"Origin": PORTAL, "X-Site-Key": "nope"},
                    {"Origin": PORTAL, "X-Site-Key": "other-key"}, {"Origin": PORTAL, "X-Site-Key": "demo"},
                    {"Origin": "https://evil.example", "X-Site-Key": "portal-key"}):
        response = httpx.post(f"{server.url}/api/ask", json=question, headers=headers)
        assert response.status_code == 403 and list(response.json()) == ["error"], headers
        assert response.headers.get("access-control-allow-origin") in (None, PORTAL)
    # The server's own pages (the web UI, /widget-demo) need no key.
    own = httpx.post(f"{server.url}/api/ask", json=question, headers={"Origin": server.url})
    assert own.status_code == 200 and "access-control-allow-origin" not in own.headers


# -- a client that goes away --------------------------------------------------------------------


def test_a_client_leaving_mid_stream_does_not_hurt_the_server(server: LiveServer, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    closed, completed = threading.Event(), threading.Event()
    original = PolicyAssistant.stream

    def slow_stream(self: PolicyAssistant, *args: Any, **kw: Any) -> Iterator[Any]:
        try:
            for piece in original(self, *args, **kw):
                yield piece
                time.sleep(0.3)
            completed.set()
        finally:
            closed.set()

    monkeypatch.setattr(PolicyAssistant, "stream", slow_stream)
    caplog.set_level(logging.WARNING)
    host, port = server.url.removeprefix("http://").split(":")
    body = json.dumps({"question": "上海生活垃圾分几类？"}).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /api/ask/stream HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (server.url[7:].encode(), len(body), body))
        received = b""
        while b"event: token" not in received:
            received += sock.recv(4096)
    assert b"event: answer" not in received
    assert closed.wait(5), "the answer generator was not closed after the client left"
    assert not completed.is_set(), "the server kept answering a client that had left"
    monkeypatch.undo()
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    assert ask(server.url, "上海生活垃圾分几类？").status_code == 200
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, [r.getMessage() for r in problems]


# -- administration -----------------------------------------------------------------------------


def test_admin_routes_refuse_without_the_token_and_change_nothing(admin_server: tuple[LiveServer, AssistantService]) -> None:
    server, service = admin_server
    before = document_count(server.url)
    doc_id = next(iter(service.assistant().index.documents))
    files = {"files": ("new.md", NEW_DOCUMENT.encode(), "text/markdown")}
    for headers in ({}, admin("wrong-token"), {"X-Admin-Token": "wrong-token"}, {"Authorization": "Basic eDp5"}):
        calls = [httpx.get(f"{server.url}/api/documents", headers=headers),
                 httpx.post(f"{server.url}/api/documents", headers=headers, files=files),
                 httpx.delete(f"{server.url}/api/documents/{doc_id}", headers=headers),
                 httpx.post(f"{server.url}/api/reindex", headers=headers),
                 httpx.get(f"{server.url}/api/reindex", headers=headers)]
        for response in calls:
            assert response.status_code == 401 and "admin token" in response.json()["error"], response.text
    assert not service.uploads_dir.exists() and document_count(server.url) == before
    assert not service.ingest_status()["running"]
    listing = httpx.get(f"{server.url}/api/documents", headers={"X-Admin-Token": TOKEN})
    assert listing.status_code == 200 and listing.json()["count"] == before


def test_admin_api_is_off_without_a_configured_token(tmp_path: Path) -> None:
    service = AssistantService(build_index(tmp_path))
    with LiveServer(create_api(service)) as server:
        for response in (httpx.get(f"{server.url}/api/documents", headers=admin()),
                         httpx.post(f"{server.url}/api/documents", headers=admin(),
                                    files={"files": ("a.md", NEW_DOCUMENT.encode())}),
                         httpx.post(f"{server.url}/api/reindex", headers=admin())):
            assert response.status_code == 403 and "POLICYQA_ADMIN_TOKEN" in response.json()["error"]
        assert not service.uploads_dir.exists() and document_count(server.url) == 4


def test_documents_list(admin_server: tuple[LiveServer, AssistantService]) -> None:
    server, _ = admin_server
    listing = httpx.get(f"{server.url}/api/documents", headers=admin()).json()
    assert listing["count"] == 4
    by_source = {d["source"]: d for d in listing["documents"]}
    rental = by_source["gz-rental-2016.md"]
    assert set(rental) == {"doc_id", "source", "title", "doc_number", "issuer", "date", "region", "kind",
                           "in_force", "passages", "uploaded"}
    assert rental["title"] == "广州市公共租赁住房保障办法" and rental["doc_number"] == "穗府办规〔2016〕9号"
    assert rental["in_force"] is False and rental["passages"] >= 1 and rental["uploaded"] is False
    assert rental["region"] == "广州市" and rental["kind"] == "办法"


def test_upload_sanitises_names_then_delete(admin_server: tuple[LiveServer, AssistantService]) -> None:
    server, service = admin_server
    assert not cites_new_document(ask(server.url, NEW_QUESTION).json())
    files = [("files", ("../../evil.md", NEW_DOCUMENT.encode(), "text/markdown")),
             ("files", ("/etc/x.md", "第一条 测试文件内容，用于检查绝对路径。".encode(), "text/markdown")),
             ("files", ("..\\..\\.hidden.txt", "第一条 隐藏文件名的测试内容。".encode(), "text/plain"))]
    response = httpx.post(f"{server.url}/api/documents", headers=admin(), files=files)
    assert response.status_code == 202, response.text
    assert [s["name"] for s in response.json()["saved"]] == ["evil.md", "x.md", "hidden.txt"]
    root = service.index_dir.parent
    assert sorted(p.name for p in service.uploads_dir.iterdir()) == ["evil.md", "hidden.txt", "x.md"]
    assert not (root / "evil.md").exists() and not (root.parent / "evil.md").exists()
    status = wait_idle(server.url)
    assert status["last"]["added"] == 3 and status["error"] is None and status["files_done"] == 3

    answer = ask(server.url, NEW_QUESTION).json()
    assert cites_new_document(answer) and "300元" in answer["answer"]
    listing = httpx.get(f"{server.url}/api/documents", headers=admin()).json()["documents"]
    uploaded = {d["source"]: d for d in listing if d["uploaded"]}
    assert set(uploaded) == {"evil.md", "x.md", "hidden.txt"}

    corpus_doc = next(d for d in listing if not d["uploaded"])
    refused = httpx.delete(f"{server.url}/api/documents/{corpus_doc['doc_id']}", headers=admin())
    assert refused.status_code == 409 and "corpus folder" in refused.json()["error"]
    assert (service.settings.corpus_dir / corpus_doc["source"]).exists()
    missing = httpx.delete(f"{server.url}/api/documents/0123456789ab", headers=admin())
    assert missing.status_code == 404

    deleted = httpx.delete(f"{server.url}/api/documents/{uploaded['evil.md']['doc_id']}", headers=admin())
    assert deleted.status_code == 202 and deleted.json()["deleted"] == "evil.md"
    assert not (service.uploads_dir / "evil.md").exists()
    assert wait_idle(server.url)["last"]["removed"] == 1
    assert not cites_new_document(ask(server.url, NEW_QUESTION).json()) and document_count(server.url) == 6


def test_bad_uploads_are_refused_and_nothing_is_saved(admin_server: tuple[LiveServer, AssistantService]) -> None:
    server, service = admin_server
    cases = [
        ([("files", ("tool.exe", b"MZ...", "application/octet-stream"))], 400, "unsupported type"),
        ([("files", ("..", b"x", "text/plain"))], 400, "no usable name"),
        ([("files", ("ok.md", NEW_DOCUMENT.encode(), "text/markdown")), ("files", ("empty.md", b"", "text/plain"))],
         400, "empty"),
        ([("files", ("sh-waste.md", NEW_DOCUMENT.encode(), "text/markdown"))], 409, "corpus folder"),
        ([("files", ("big.md", "条".encode() * 40_000, "text/markdown"))], 413, "0.05 MB"),
    ]
    for files, status, words in cases:
        response = httpx.post(f"{server.url}/api/documents", headers=admin(), files=files)
        assert response.status_code == status and words in response.json()["error"], response.text
    not_multipart = httpx.post(f"{server.url}/api/documents", headers=admin(), json={"files": []})
    assert not_multipart.status_code == 400
    assert not service.uploads_dir.exists() or not any(service.uploads_dir.iterdir())
    assert not service.ingest_status()["running"] and document_count(server.url) == 4


def test_reindex_while_asking(admin_server: tuple[LiveServer, AssistantService], monkeypatch: pytest.MonkeyPatch) -> None:
    server, service = admin_server
    release = threading.Event()
    original = _TrackedIngestor.run

    def paused_run(self: _TrackedIngestor, *args: Any, **kw: Any) -> Any:
        release.wait(30)
        return original(self, *args, **kw)

    monkeypatch.setattr(_TrackedIngestor, "run", paused_run)
    first_generation = httpx.get(f"{server.url}/healthz").json()["generation"]
    upload = httpx.post(f"{server.url}/api/documents", headers=admin(),
                        files={"files": ("shenzhen-charging.md", NEW_DOCUMENT.encode(), "text/markdown")})
    assert upload.status_code == 202

    # One ingest at a time: a second request is refused and changes nothing.
    again = httpx.post(f"{server.url}/api/reindex", headers=admin())
    assert again.status_code == 409 and "already running" in again.json()["error"]
    another = httpx.post(f"{server.url}/api/documents", headers=admin(),
                         files={"files": ("another.md", NEW_DOCUMENT.encode(), "text/markdown")})
    assert another.status_code == 409 and not (service.uploads_dir / "another.md").exists()
    status = httpx.get(f"{server.url}/api/reindex", headers=admin()).json()
    assert status["running"] and status["reason"] == "upload"

    failures: list[str] = []
    found = threading.Event()
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                for question in ("上海生活垃圾分几类？", NEW_QUESTION):
                    response = client.post(f"{server.url}/api/ask", json={"question": question})
                    if response.status_code != 200:
                        failures.append(response.text)
                    elif question == NEW_QUESTION and cites_new_document(response.json()):
                        found.set()

    askers = [threading.Thread(target=keep_asking) for _ in range(3)]
    for thread in askers:
        thread.start()
    try:
        time.sleep(0.5)
        assert not found.is_set(), "the new document was found before its ingest ran"
        release.set()
        assert found.wait(20), "the new document never became findable"
    finally:
        stop.set()
        for thread in askers:
            thread.join(30)
    assert failures == []
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["generation"] != first_generation and health["documents"] == 5
    assert health["generation"] == (service.index_dir / CURRENT).read_text().strip()
    assert (service.index_dir / first_generation).is_dir(), "the previous generation must stay on disk"
    assert wait_idle(server.url)["last"]["added"] == 1


def test_a_broken_new_generation_leaves_the_live_one_serving(admin_server: tuple[LiveServer, AssistantService],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    server, service = admin_server
    live = httpx.get(f"{server.url}/healthz").json()["generation"]
    broken = service.index_dir / "gen-broken"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"format": 999}', encoding="utf-8")
    (service.index_dir / CURRENT).write_text("gen-broken\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="policyqa.service"):
        for _ in range(3):
            assert ask(server.url, "上海生活垃圾分几类？").status_code == 200
    assert httpx.get(f"{server.url}/healthz").json()["generation"] == live
    assert len([r for r in caplog.records if "gen-broken" in r.getMessage()]) == 1, "one attempt per switch"
