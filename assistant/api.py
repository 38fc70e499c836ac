"""The HTTP API: answers as JSON and server-sent events, an OpenAI-compatible chat endpoint,
document administration, and the embeddable widget. FastAPI documents it at ``/docs``.

Routes (``/openapi.json`` has the schemas)::

    POST   /api/ask                 {question, history?, filters?, mode?} -> the answer JSON
    POST   /api/ask/stream          the same, as SSE: token* answer done (or error)
    POST   /v1/chat/completions     OpenAI-compatible, stream or not; references in "references"
    GET    /v1/models               one model, "policyqa"
    GET    /api/documents           admin: the indexed documents
    POST   /api/documents           admin: upload files (multipart "files"), then re-index
    DELETE /api/documents/{doc_id}  admin: delete an uploaded document, then re-index
    POST   /api/reindex             admin: start a re-index;  GET /api/reindex: its status
    GET    /healthz                 {"status": "ok", "documents", "passages", "generation"}
    GET    /widget.js               the chat widget;  GET /widget-demo: a page embedding it

Admin routes need ``Authorization: Bearer <token>`` (or ``X-Admin-Token``) equal to
``POLICYQA_ADMIN_TOKEN``; without a configured token they are off. Browser calls from other
origins need a site key (``assistant/sites.py``). Every error is ``{"error": "one sentence"}``.

Example::

    app = create_api(AssistantService(load_settings()))
    # uvicorn.run(app) -- or mount the Gradio UI on it: gr.mount_gradio_app(app, blocks, path="/")
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import aclosing
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders, UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .answer import Answer, book_title, page_label
from .config import load_settings
from .index import IndexUnavailable
from .pipeline import MAX_QUESTION_CHARS, QuestionError
from .retrieve import FilterError, Filters
from .service import AssistantService, DocumentConflict, IngestBusy, UploadError
from .sites import DEMO_KEY, SitePolicy

log = logging.getLogger("policyqa.api")

STATIC = Path(__file__).resolve().parent / "static"
MODEL_NAME = "policyqa"
QUESTION_ROUTES = frozenset({"/api/ask", "/api/ask/stream", "/v1/chat/completions"})
UPLOAD_ROUTE = "/api/documents"
_END = object()


# -- request bodies -----------------------------------------------------------------------------


class Turn(BaseModel):
    role: str = Field("user", description="user or assistant")
    content: str


class FiltersIn(BaseModel):
    """Metadata filters; every field is optional and an empty one does not filter."""

    model_config = ConfigDict(extra="allow")  # unknown keys reach Filters.parse, which names them

    region: str | None = Field(None, description="substring of the document's region, e.g. 北京市")
    issuer: str | None = Field(None, description="substring of the issuing body (发文机关)")
    kind: str | None = Field(None, description="document kind: 意见, 通知, 办法 …")
    date_from: str | None = Field(None, description="earliest date, ISO, may be partial: 2020 or 2020-05")
    date_to: str | None = Field(None, description="latest date, ISO, may be partial")
    in_force: bool | None = Field(None, description="true: only documents in force; false: only expired ones")
    source: str | None = Field(None, description="prefix of the document's path in the corpus")


class AskRequest(BaseModel):
    question: str = Field(..., description=f"the question, at most {MAX_QUESTION_CHARS} characters",
                          examples=["河北省在优化算力布局方面提出了哪些意见？"])
    history: list[Turn] | None = Field(None, description="earlier turns of the conversation, oldest first")
    filters: FiltersIn | None = None
    mode: str | None = Field(None, description="extractive (offline) or llm; default: llm when configured")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens … are accepted and ignored

    model: str = MODEL_NAME
    messages: list[ChatMessage]
    stream: bool = False
    filters: FiltersIn | None = Field(None, description="PolicyQA extension: metadata filters")


class ErrorOut(BaseModel):
    error: str = Field(..., description="one sentence saying what is wrong and what to do")


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers of a route: all are ErrorOut."""
    meaning = {400: "bad request: invalid JSON, empty or too long question, unknown filter",
               401: "missing or wrong admin token", 403: "admin API off, or origin/site key refused",
               404: "no such document", 409: "an ingest is running, or the document is in the corpus folder",
               413: "request body too large", 422: "a required field is missing or has the wrong type",
               429: "rate limit; see Retry-After", 503: "no index yet"}
    return {code: {"model": ErrorOut, "description": meaning[code]} for code in codes}


_ASK_ERRORS = _errors(400, 403, 413, 422, 429, 503)
_ADMIN_ERRORS = _errors(401, 403, 409)


# -- helpers ------------------------------------------------------------------------------------


def _filters(model: FiltersIn | None) -> Filters | None:
    if model is None:
        return None
    expressions = []
    for key, value in model.model_dump(exclude_none=True).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value != "":
            expressions.append(f"{key}={value}")
    return Filters.parse(expressions)


def _history(turns: Sequence[Turn] | None) -> list[dict[str, str]]:
    return [{"role": t.role, "content": t.content} for t in turns or []]


def _next(pieces: Iterator[Any]) -> Any:
    """The next piece of a stream, or _END (StopIteration cannot cross into a coroutine)."""
    return next(pieces, _END)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _error_body(message: str) -> dict[str, str]:
    return {"error": message}


def reference_text(citations: Sequence[dict[str, Any]]) -> str:
    """The "参考来源" list appended to an OpenAI-style answer: one line per citation."""
    lines = ["参考来源："]
    for c in citations:
        parts = [f"[{c['n']}] {book_title(c['title'])}"]
        if c.get("doc_number"):
            parts.append(f"（{c['doc_number']}）")
        details = [" > ".join(c.get("section_path") or [])] if c.get("section_path") else []
        if c.get("pages"):
            details.append(page_label(c["pages"]))
        if c.get("date"):
            details.append(c["date"])
        if not c.get("in_force", True):
            details.append("已失效")
        line = "".join(parts) + (" " + "，".join(details) if details else "")
        lines.append(line)
    return "\n".join(lines)


def _chat_question(messages: Sequence[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """The last user message is the question; the user and assistant messages before it, the history."""
    def text(message: ChatMessage) -> str:
        if isinstance(message.content, list):
            return "".join(str(part.get("text", "")) for part in message.content if part.get("type") == "text")
        return message.content or ""

    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise QuestionError("the messages contain no user message; the last user message is the question")
    history = [{"role": m.role, "content": text(m)} for m in messages[:last] if m.role in ("user", "assistant")]
    return text(messages[last]), history


class EventStream(StreamingResponse):
    """Server-sent events; the event generator is closed however the response ends (disconnect too)."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[str]) -> None:
        super().__init__(events, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]


async def _answer_pieces(pieces: Iterator[str | Answer], first: Any) -> AsyncIterator[str | Answer | Exception]:
    """Pieces of an assistant stream, pulled in worker threads; a failure arrives as the last item.

    Closing this generator (the client went away) closes the assistant's stream too.
    """
    try:
        piece = first
        while piece is not _END:
            yield piece
            piece = await run_in_threadpool(_next, pieces)
    except (QuestionError, FilterError) as exc:
        yield exc
    except Exception:  # noqa: BLE001 - the stream has started: report in-band, log here
        log.exception("answering failed mid-stream")
        yield RuntimeError("the answer failed part-way; please ask again")
    finally:
        pieces.close()


# -- middleware ---------------------------------------------------------------------------------


def _guarded(path: str) -> bool:
    return path.startswith(("/api/", "/v1/"))


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": "Retry-After"}


class SiteGate:
    """Origin and site-key checks, CORS answers and rate limits for /api and /v1 (ASGI middleware)."""

    def __init__(self, app: ASGIApp, policy: SitePolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        host = headers.get("host", "")
        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            decision = self.policy.preflight(origin, host)
            if not decision.allowed:
                await JSONResponse(_error_body(decision.error), 403)(scope, receive, send)
                return
            preflight = {**_cors_headers(origin), "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                         "Access-Control-Allow-Headers": "content-type, x-site-key", "Access-Control-Max-Age": "600"}
            await Response(status_code=204, headers=preflight)(scope, receive, send)
            return
        client = (scope.get("client") or ("", 0))[0]
        question = scope["method"] == "POST" and scope["path"] in QUESTION_ROUTES
        decision = self.policy.admit(origin, host, headers.get("x-site-key"), client, question)
        if not decision.allowed:
            extra = _cors_headers(decision.cors_origin) if decision.cors_origin else {}
            if decision.retry_after:
                extra["Retry-After"] = str(decision.retry_after)
            await JSONResponse(_error_body(decision.error), decision.status, headers=extra)(scope, receive, send)
            return
        if decision.cors_origin is None:
            await self.app(scope, receive, send)
            return
        cors = _cors_headers(decision.cors_origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in cors.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)


_DRAIN_MAX = 4 * 1024 * 1024


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


class BodyLimit:
    """Refuse request bodies over the limit with 413, before or while they are read (ASGI middleware)."""

    def __init__(self, app: ASGIApp, request_limit: int, upload_limit: int) -> None:
        self.app = app
        self.request_limit = request_limit
        self.upload_limit = upload_limit

    def _message(self, limit: int, upload: bool) -> str:
        if upload:
            return f"the upload is larger than the limit of {limit / 1_000_000:g} MB; upload fewer or smaller files"
        return (f"the request body is larger than {limit // 1024} KiB; a question may have at most "
                f"{MAX_QUESTION_CHARS} characters, so shorten the question or the history")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH") or not _guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        upload = scope["path"] == UPLOAD_ROUTE
        limit = self.upload_limit if upload else self.request_limit
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await JSONResponse(_error_body("the Content-Length header is not a number"), 400)(scope, receive, send)
                return
            if int(declared) > limit:
                # Read a moderate excess so that the client, still sending, gets the answer rather
                # than a reset connection; past that, answer and close.
                headers = {}
                if int(declared) <= limit + _DRAIN_MAX:
                    await _drain(receive)
                else:
                    headers["Connection"] = "close"
                await JSONResponse(_error_body(self._message(limit, upload)), 413, headers=headers)(scope, receive, send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, self._message(limit, upload))
            return message

        await self.app(scope, limited_receive, send)


# -- errors -------------------------------------------------------------------------------------


def _validation_error(exc: RequestValidationError) -> tuple[int, str]:
    """One sentence for the first problem pydantic found in a request."""
    for error in exc.errors():
        kind = error.get("type", "")
        where = [str(p) for p in error.get("loc", ()) if p != "body"]
        field = ".".join(where)
        if kind == "json_invalid":
            return 400, 'the request body is not valid JSON; send a JSON object such as {"question": "……"}'
        if not where and kind in ("missing", "model_attributes_type", "dict_type", "model_type"):
            return 400, 'the request body must be a JSON object such as {"question": "……"}'
        if kind == "missing":
            return 422, f"the field '{field}' is required"
        if kind == "string_type":
            return 422, f"the field '{field}' must be text"
        return 422, f"the field '{field}' is invalid: {error.get('msg', 'wrong value')}"
    return 422, "the request is invalid"


def _install_error_handlers(app: FastAPI) -> None:
    def reply(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(_error_body(message), status, headers=headers)

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"there is no route {request.url.path}; see /docs for the API"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
        return reply(exc.status_code, message, getattr(exc, "headers", None))

    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return reply(*_validation_error(exc))

    async def bad_question(request: Request, exc: Exception) -> JSONResponse:
        return reply(400, str(exc))

    async def no_index(request: Request, exc: Exception) -> JSONResponse:
        return reply(503, str(exc))

    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        return reply(409, str(exc))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return reply(500, "the server failed to handle the request; try again, and report it if it persists")

    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid)  # type: ignore[arg-type]
    for kind in (QuestionError, FilterError, UploadError):
        app.add_exception_handler(kind, bad_question)
    app.add_exception_handler(IndexUnavailable, no_index)
    for kind in (IngestBusy, DocumentConflict):
        app.add_exception_handler(kind, conflict)
    app.add_exception_handler(Exception, unexpected)


# -- the app ------------------------------------------------------------------------------------

API_DESCRIPTION = """
政策问答助手 (PolicyQA): answers questions about Chinese government policy documents; every answer
sentence cites `[n]` the passage it comes from.

* Answers: `POST /api/ask` (JSON), `POST /api/ask/stream` (server-sent events `token`, `answer`,
  `done`, or `error`), and the OpenAI-compatible `POST /v1/chat/completions`.
* Documents (admin): send `Authorization: Bearer <POLICYQA_ADMIN_TOKEN>`; without a configured token
  the admin routes answer 403.
* Browser calls from other origins need a site key (`X-Site-Key`) configured in `[[sites]]`.
* Errors are `{"error": "one sentence"}` with the matching status code.
"""


def create_api(service: AssistantService) -> FastAPI:
    """The FastAPI app serving ``service``: the routes above, middleware and error handlers."""
    settings = service.settings
    app = FastAPI(title="PolicyQA 政策问答助手 API", version="0.1.0", description=API_DESCRIPTION)
    app.state.service = service
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, request_limit=settings.max_request_kb * 1024,
                       upload_limit=int(settings.max_upload_mb * 1_000_000))
    app.add_middleware(SiteGate, policy=SitePolicy.from_settings(settings))
    _answer_routes(app, service)
    _openai_routes(app, service)
    _admin_routes(app, service)
    _widget_routes(app)

    @app.get("/healthz", tags=["health"], summary="Liveness and what the live index holds")
    def healthz() -> JSONResponse:
        try:
            return JSONResponse(service.health())
        except IndexUnavailable as exc:
            return JSONResponse({"status": "no_index", "error": str(exc)}, 503)

    service.refresh()  # open the index now rather than on the first question
    return app


def default_app() -> FastAPI:
    """The app on the configured settings: ``uvicorn --factory assistant.api:default_app``."""
    return create_api(AssistantService(load_settings()))


def _answer_routes(app: FastAPI, service: AssistantService) -> None:
    @app.post("/api/ask", tags=["answers"], summary="Answer a question", responses=_ASK_ERRORS,
              description="Returns the answer JSON: `answer` text with `[n]` citations, `sentences` with "
                          "their citations and support, `citations` (n + passage), all retrieved `passages`, "
                          "`refused`, `timings_ms`, `warnings`.")
    def ask(body: AskRequest) -> JSONResponse:
        answer = service.assistant().ask(body.question, history=_history(body.history), filters=_filters(body.filters),
                                         mode=body.mode)
        return JSONResponse(answer.to_dict())

    @app.post("/api/ask/stream", tags=["answers"], summary="Answer a question, streamed as server-sent events",
              responses=_ASK_ERRORS,
              description="Events: `token` {\"text\"} for each piece of the answer, then `answer` with the full "
                          "answer JSON (as POST /api/ask), then `done`; a failure after the start is an `error` "
                          "event {\"error\"}.", response_class=EventStream, status_code=200)
    async def ask_stream(body: AskRequest) -> EventStream:
        filters = _filters(body.filters)
        assistant = await run_in_threadpool(service.assistant)  # may open a new generation
        pieces = assistant.stream(body.question, history=_history(body.history), filters=filters, mode=body.mode)
        first = await run_in_threadpool(_next, pieces)  # a bad question fails here, as a 400

        async def events() -> AsyncIterator[str]:
            async with aclosing(_answer_pieces(pieces, first)) as stream:
                async for piece in stream:
                    if isinstance(piece, Exception):
                        yield _sse("error", _error_body(str(piece)))
                        return
                    if isinstance(piece, Answer):
                        yield _sse("answer", piece.to_dict())
                    else:
                        yield _sse("token", {"text": piece})
            yield _sse("done", {})

        return EventStream(events())


def _openai_routes(app: FastAPI, service: AssistantService) -> None:
    @app.get("/v1/models", tags=["openai"], summary="The one model: policyqa")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0,
                                            "owned_by": "policyqa"}]}

    @app.post("/v1/chat/completions", tags=["openai"], summary="OpenAI-compatible chat completion",
              description="The last user message is the question, earlier user/assistant messages the history. "
                          "The answer's references are appended to the content as a 参考来源 list and returned "
                          "in the extra top-level field `references`; when streaming, the last chunk before "
                          "`[DONE]` carries `references`.",
              responses={200: {"content": {"application/json": {}, "text/event-stream": {}}}, **_ASK_ERRORS})
    async def chat_completions(body: ChatRequest) -> Any:
        question, history = _chat_question(body.messages)
        filters = _filters(body.filters)
        assistant = await run_in_threadpool(service.assistant)  # may open a new generation
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if not body.stream:
            answer = await run_in_threadpool(assistant.ask, question, history, filters)
            record = answer.to_dict()
            content = record["answer"]
            if record["citations"]:
                content += "\n\n" + reference_text(record["citations"])
            return JSONResponse({
                "id": completion_id, "object": "chat.completion", "created": created, "model": MODEL_NAME,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "references": record["citations"],
            })
        pieces = assistant.stream(question, history=history, filters=filters)
        first = await run_in_threadpool(_next, pieces)

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            data = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_NAME,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        async def events() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            references: list[dict[str, Any]] = []
            async with aclosing(_answer_pieces(pieces, first)) as stream:
                async for piece in stream:
                    if isinstance(piece, Exception):
                        yield f"data: {json.dumps(_error_body(str(piece)), ensure_ascii=False)}\n\n"
                        return
                    if isinstance(piece, Answer):
                        references = piece.to_dict()["citations"]
                        if references:
                            yield chunk({"content": "\n\n" + reference_text(references)})
                    else:
                        yield chunk({"content": piece})
            yield chunk({}, "stop", references=references)
            yield "data: [DONE]\n\n"

        return EventStream(events())


_bearer = HTTPBearer(auto_error=False, description="the admin token (POLICYQA_ADMIN_TOKEN)")
_admin_header = APIKeyHeader(name="X-Admin-Token", auto_error=False, description="the admin token, alternatively")


def _admin_routes(app: FastAPI, service: AssistantService) -> None:
    token = service.settings.admin_token

    def require_admin(bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
                      header: str | None = Depends(_admin_header)) -> None:
        if not token:
            raise HTTPException(403, "the admin API is off; set POLICYQA_ADMIN_TOKEN on the server to enable it")
        given = bearer.credentials if bearer is not None else header
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "a valid admin token is required: send Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": "Bearer"})

    admin = [Depends(require_admin)]

    @app.get("/api/documents", tags=["documents (admin)"], dependencies=admin, responses=_ADMIN_ERRORS,
             summary="The indexed documents")
    def list_documents() -> dict[str, Any]:
        documents = service.documents()
        return {"documents": documents, "count": len(documents), "generation": service.ingest_status()["generation"]}

    upload_schema = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["files"],
        "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}}

    @app.post("/api/documents", tags=["documents (admin)"], dependencies=admin, status_code=202,
              responses={**_ADMIN_ERRORS, **_errors(400, 413)},
              summary="Upload documents, then re-index", openapi_extra=upload_schema,
              description="Multipart field `files`, one or more .md .txt .pdf .docx .html files. They are saved "
                          "under <index>/uploads/ by their base name, and a re-index starts in the background "
                          "(409 while one runs).")
    async def upload_documents(request: Request) -> JSONResponse:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise HTTPException(400, "send the files as multipart/form-data in the field 'files'")
        form = await request.form(max_files=100)
        try:
            files = [(value.filename or "", value.file) for _, value in form.multi_items()
                     if isinstance(value, UploadFile)]
            saved = await run_in_threadpool(service.save_uploads, files)
        finally:
            await form.close()
        return JSONResponse({"saved": saved, "reindex": service.ingest_status()}, 202)

    @app.delete("/api/documents/{doc_id}", tags=["documents (admin)"], dependencies=admin, status_code=202,
                responses={**_ADMIN_ERRORS, **_errors(404)},
                summary="Delete an uploaded document, then re-index",
                description="Only uploaded documents can be deleted here; a corpus document answers 409.")
    def delete_document(doc_id: str) -> JSONResponse:
        try:
            source = service.delete_document(doc_id)
        except KeyError:
            raise HTTPException(404, f"there is no document with the id {doc_id}; see GET /api/documents") from None
        return JSONResponse({"deleted": source, "reindex": service.ingest_status()}, 202)

    @app.post("/api/reindex", tags=["documents (admin)"], dependencies=admin, status_code=202, responses=_ADMIN_ERRORS,
              summary="Start a re-index of the corpus folder and the uploads")
    def start_reindex() -> JSONResponse:
        return JSONResponse(service.start_ingest("reindex"), 202)

    @app.get("/api/reindex", tags=["documents (admin)"], dependencies=admin, responses=_ADMIN_ERRORS,
             summary="Re-index status",
             description="running, phase, files_done of files_total, the last summary, the last error.")
    def reindex_status() -> dict[str, Any]:
        return service.ingest_status()


def _widget_routes(app: FastAPI) -> None:
    @app.get("/widget.js", include_in_schema=False)
    def widget() -> FileResponse:
        return FileResponse(STATIC / "widget.js", media_type="text/javascript; charset=utf-8",
                            headers={"Cache-Control": "public, max-age=300"})

    @app.get("/widget-demo", include_in_schema=False)
    def widget_demo() -> HTMLResponse:
        page = (STATIC / "widget-demo.html").read_text(encoding="utf-8")
        return HTMLResponse(page.replace("{{DEMO_KEY}}", DEMO_KEY))
