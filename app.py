"""Run 政策问答助手 (PolicyQA): the web UI, the HTTP API and the chat widget on one server.

    python app.py                       # http://127.0.0.1:7860/
    python app.py --port 8000 --index /srv/policyqa/index --corpus /srv/policyqa/documents

The index is built first from the corpus folder (``corpus/`` by default) when there is none.
Settings come from policyqa.toml and POLICYQA_* variables (see assistant/config.py); the flags win.
The admin tab and admin API are on when POLICYQA_ADMIN_TOKEN is set.

``create_app(service)`` is the server factory: the FastAPI app of ``assistant.api`` with the Gradio
UI mounted at ``/`` behind every API route (/api/*, /v1/*, /healthz, /widget.js, /docs).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.routing import Match

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

log = logging.getLogger("policyqa.app")


def create_app(service: Any) -> Any:
    """The one ASGI app: the API routes, then the UI at ``/`` (mounted last, so the API routes win)."""
    from assistant.api import create_api
    from assistant.ui import mount_ui

    app = create_api(service)
    # Unknown /api and /v1 paths get the API's JSON 404 (or 405) rather than falling through to the UI.
    for prefix in ("/api", "/v1"):
        app.add_api_route(prefix + "/{rest:path}", _no_such_route, methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                          include_in_schema=False)
    return mount_ui(app, service, path="/")


def _no_such_route(request: Request, rest: str) -> None:
    for route in request.app.router.routes:
        if (getattr(route, "methods", None) and getattr(route, "endpoint", None) is not _no_such_route
                and route.matches(request.scope)[0] != Match.NONE):
            raise HTTPException(405, "Method Not Allowed")  # the path exists, for other methods
    raise HTTPException(404, "Not Found")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="政策问答助手 (PolicyQA): serve the web UI, the HTTP API (/api, /v1, /docs) and the chat "
                    "widget (/widget.js) on one server. Builds the index from the corpus folder first when "
                    "there is none.",
        epilog="Environment: POLICYQA_HOST, POLICYQA_PORT, POLICYQA_INDEX, POLICYQA_EMBEDDER, "
               "POLICYQA_ADMIN_TOKEN (turns on the admin tab and API), POLICYQA_LLM_BASE_URL / _MODEL / "
               "_API_KEY (answers by an LLM; default: extractive, no LLM), POLICYQA_CONFIG (a policyqa.toml). "
               "Flags override the environment, which overrides policyqa.toml.")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, help="port to listen on (default 7860)")
    parser.add_argument("--index", type=Path, metavar="FOLDER", help="index folder (default: index/ in the project)")
    parser.add_argument("--corpus", type=Path, metavar="FOLDER",
                        help="documents to index when there is no index yet, and on re-index (default: corpus/)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request and show tracebacks")
    return parser.parse_args(argv)


def _listen(host: str, port: int) -> socket.socket:
    """A bound listening socket, or SystemExit with one clear line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise SystemExit(f"error: cannot listen on host '{host}': it is not an address or a known name; "
                         "use --host 127.0.0.1 or 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(f"error: port {port} on {host} is already in use; stop the other server or choose "
                             "another port with --port") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise SystemExit(f"error: no permission to listen on port {port}; use a port above 1023") from None
        raise SystemExit(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _serve(args)
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - one line for the user; --verbose shows the traceback
        if args.verbose:
            raise
        print(f"error: {type(exc).__name__}: {exc} (run with --verbose for details)", file=sys.stderr)
        return 1


def _serve(args: argparse.Namespace) -> int:
    from assistant.config import ConfigError, load_settings
    from assistant.embed import EmbedderError
    from assistant.ingest import IngestError

    if args.port is not None and not 0 < args.port < 65536:
        raise SystemExit(f"error: --port {args.port} is not a port number; use 1 to 65535")
    try:
        settings = load_settings(index_dir=args.index, host=args.host, port=args.port, corpus_dir=args.corpus)
    except ConfigError as exc:
        raise SystemExit(f"error: {exc}") from None
    if not 0 < settings.port < 65536:
        raise SystemExit(f"error: the port {settings.port} (POLICYQA_PORT or policyqa.toml) is not a port number")
    sock = _listen(settings.host, settings.port)  # before the index build: a busy port fails at once

    import uvicorn

    from assistant.service import AssistantService

    service = AssistantService(settings)
    try:
        summary = service.ensure_index(progress=True)
    except (IngestError, EmbedderError, OSError) as exc:
        sock.close()
        raise SystemExit(f"error: cannot build the index in {settings.index_dir}: {exc}") from None
    if summary is not None:
        print(f"index built in {settings.index_dir}: {summary.documents} documents, {summary.passages} passages")
    app = create_app(service)
    config = uvicorn.Config(app, log_level="info" if args.verbose else "warning", access_log=args.verbose,
                            timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    url = _url(settings.host, settings.port)
    admin = "on" if settings.admin_token else "off (set POLICYQA_ADMIN_TOKEN to enable)"
    print(f"政策问答助手 is running at {url}  (API docs: {url}docs, admin: {admin}; Ctrl+C to stop)", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
