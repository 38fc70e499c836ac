"""The assistant as a long-running service: hot index reload, background re-indexing, uploads.

:class:`AssistantService` holds the current :class:`PolicyAssistant`. Before each request it
compares ``index_dir/CURRENT`` (one ``stat``) with what it loaded and, when an ingest has switched
in a new generation, opens that one; a request in flight keeps the assistant it started with
(ingest keeps the previous generation on disk, so its files stay readable). Ingests run in one
background thread at a time, over the corpus folder and ``<index_dir>/uploads/``, while the
assistant keeps answering from the live generation.

Example::

    service = AssistantService(load_settings())
    service.ensure_index()                  # build from settings.corpus_dir when there is none
    service.assistant().ask("算力券怎么申请")
    service.start_ingest("reindex")         # returns at once; ingest_status() follows it
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from .config import Settings
from .embed import Embedder, EmbedderError
from .extract import SUPPORTED_SUFFIXES
from .index import CURRENT, Index, IndexUnavailable, current_generation
from .ingest import IngestError, Ingestor, IngestSummary
from .pipeline import PolicyAssistant

log = logging.getLogger("policyqa.service")

UPLOADS = "uploads"
_MAX_NAME = 120
_UNSAFE = re.compile(r"[^\w.\-()（）《》【】、，,+=~ ]+")


class IngestBusy(Exception):
    """An ingest is already running; the caller should wait for it."""


class UploadError(ValueError):
    """An uploaded file cannot be accepted; the message names it and says what to do."""


class DocumentConflict(Exception):
    """The request conflicts with where a document lives (a corpus document cannot be deleted here)."""


def safe_upload_name(name: str) -> str:
    """The base name of an uploaded file, made safe to store: no folders, no hidden or odd names.

    ``'../../evil.md'`` -> ``'evil.md'``, ``'C:\\\\x\\\\通知.docx'`` -> ``'通知.docx'``; raise
    :class:`UploadError` when nothing usable is left or the type cannot be ingested.
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem.strip(" ._"):
        raise UploadError(f"the file name {name!r} has no usable name before its type; rename the file")
    suffix = "." + suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(f"the file {name!r} has the unsupported type '{suffix}'; upload one of "
                          f"{', '.join(sorted(SUPPORTED_SUFFIXES))}")
    return stem[: _MAX_NAME - len(suffix)].rstrip(" .") + suffix


def _describe(summary: IngestSummary) -> dict[str, Any]:
    return {
        "added": summary.added, "updated": summary.updated, "unchanged": summary.unchanged,
        "removed": summary.removed, "failed": [{"source": s, "reason": r} for s, r in summary.failed],
        "documents": summary.documents, "passages": summary.passages, "embedded": summary.embedded,
        "seconds": round(summary.seconds, 2), "generation": summary.generation, "text": summary.describe(),
    }


class _TrackedIngestor(Ingestor):
    """An Ingestor whose parse step reports how many files it has done, for the status route."""

    def __init__(self, *args: Any, on_parse: Callable[[int, IngestSummary], None], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._on_parse = on_parse

    def _parse_into(self, todo: list, store: Any, postings: Any, summary: IngestSummary) -> dict[str, Any]:
        self._on_parse(len(todo), summary)
        return super()._parse_into(todo, store, postings, summary)


class AssistantService:
    """The current assistant, reloaded when the index changes, and the one background ingest."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self.uploads_dir = self.index_dir / UPLOADS
        self._embedder = embedder  # handed to every ingest, so a model loads once
        self._assistant: PolicyAssistant | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._load_error = ""
        self._reload_lock = threading.Lock()
        self._ingest_lock = threading.Lock()  # held while starting an ingest or changing uploads
        self._thread: threading.Thread | None = None
        self._status: dict[str, Any] = {"running": False, "reason": None, "phase": "idle", "started": None,
                                        "finished": None, "files_total": 0, "files_done": 0, "last": None,
                                        "error": None}
        self._summary: IngestSummary | None = None  # the summary an ingest is filling in
        self._failed_before = 0

    # -- the current assistant -----------------------------------------------------------------

    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.index_dir / CURRENT)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def refresh(self) -> None:
        """Open the live generation if it is not the one loaded (cheap when nothing changed).

        One thread loads; the others keep answering with the assistant they have meanwhile.
        """
        stamp = self._current_stamp()
        if stamp == self._stamp:
            return
        blocking = self._assistant is None
        if not self._reload_lock.acquire(blocking=blocking):
            return
        try:
            stamp = self._current_stamp()
            if stamp == self._stamp:
                return
            generation = current_generation(self.index_dir)
            if generation is None:
                self._stamp = stamp
                return
            if self._assistant is not None and self._assistant.index.generation == generation:
                self._stamp = stamp
                return
            try:
                assistant = PolicyAssistant.from_settings(self.settings, Index.open(self.index_dir))
                _ = assistant.off_topic_below  # measured by the loading thread, not by the first question
            except Exception as exc:  # noqa: BLE001 - a bad generation must not stop the one being served
                # Keep serving the generation we have; try again when CURRENT changes.
                self._load_error = f"cannot open the index generation {generation.name}: {exc}"
                self._stamp = stamp
                log.error("%s", self._load_error, exc_info=not isinstance(exc, (IndexUnavailable, EmbedderError)))
                return
            self._assistant = assistant
            self._stamp = stamp
            self._load_error = ""
            log.info("serving index generation %s (%d documents, %d passages)", generation.name,
                     len(assistant.index.documents), assistant.index.passage_count)
        finally:
            self._reload_lock.release()

    def assistant(self) -> PolicyAssistant:
        """The assistant for one request; raise :class:`IndexUnavailable` when there is no index."""
        self.refresh()
        assistant = self._assistant
        if assistant is None:
            raise IndexUnavailable(self._load_error or
                                   f"no index in {self.index_dir} yet; build one with: policyqa ingest FOLDER "
                                   f"--index {self.index_dir} (or upload documents through the admin API)")
        return assistant

    def health(self) -> dict[str, Any]:
        assistant = self.assistant()
        return {"status": "ok", "documents": len(assistant.index.documents),
                "passages": assistant.index.passage_count, "generation": assistant.index.generation.name,
                "reindexing": self._status["running"]}

    # -- documents -----------------------------------------------------------------------------

    def _is_upload(self, path: str) -> bool:
        uploads = str(self.uploads_dir.resolve()).rstrip("/") + "/"
        return path.startswith(uploads)

    def documents(self) -> list[dict[str, Any]]:
        """The documents of the live index, with their passage counts and whether they were uploaded."""
        index = self.assistant().index
        entries = index.manifest.get("documents", {})
        listing = []
        for document in index.documents.values():
            meta = document.meta
            entry = entries.get(document.source, {})
            listing.append({
                "doc_id": document.doc_id, "source": document.source, "title": meta.title,
                "doc_number": meta.doc_number, "issuer": meta.issuer, "date": meta.date, "region": meta.region,
                "kind": meta.kind, "in_force": meta.in_force(), "passages": int(entry.get("passages", 0)),
                "uploaded": self._is_upload(entry.get("path", "")),
            })
        return listing

    def save_uploads(self, files: Iterable[tuple[str, BinaryIO]]) -> list[dict[str, Any]]:
        """Store uploaded files in ``uploads/`` and start an ingest; all or nothing.

        Raise :class:`IngestBusy` while an ingest runs, :class:`UploadError` for a bad file and
        :class:`DocumentConflict` for a name a corpus document already has.
        """
        with self._ingest_lock:
            self._check_idle()
            names: list[tuple[str, BinaryIO, str]] = []
            corpus_sources = self._corpus_sources()
            for original, handle in files:
                name = safe_upload_name(original)
                if name in corpus_sources or (Path(self.settings.corpus_dir) / name).exists():
                    raise DocumentConflict(f"the corpus folder already has a document named {name}; rename the "
                                           "file before uploading it")
                if any(name == n for n, _, _ in names):
                    raise UploadError(f"two uploaded files are both named {name}; upload them with different names")
                names.append((name, handle, original))
            if not names:
                raise UploadError("no file was uploaded; send one or more files in the 'files' field")
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            staged: list[tuple[Path, Path]] = []
            saved = []
            try:
                for name, handle, original in names:
                    target = self.uploads_dir / name
                    if target.resolve().parent != self.uploads_dir.resolve():
                        raise UploadError(f"the file name {original!r} is not allowed; rename the file")
                    tmp = self.uploads_dir / f".upload-{uuid.uuid4().hex}"
                    size = 0
                    with tmp.open("wb") as out:
                        staged.append((tmp, target))
                        while block := handle.read(1 << 20):
                            size += len(block)
                            out.write(block)
                    if size == 0:
                        raise UploadError(f"the file {original!r} is empty; upload a file with text")
                    saved.append({"name": name, "bytes": size, "original": original})
                for tmp, target in staged:
                    os.replace(tmp, target)
            finally:
                for tmp, _ in staged:
                    tmp.unlink(missing_ok=True)
            self._start("upload")
            return saved

    def delete_document(self, doc_id: str) -> str:
        """Delete an uploaded document's file and start an ingest; return its source name.

        Raise KeyError for an unknown id, :class:`DocumentConflict` for a corpus document and
        :class:`IngestBusy` while an ingest runs.
        """
        index = self.assistant().index
        document = index.documents.get(doc_id)
        if document is None:
            raise KeyError(doc_id)
        path = index.manifest.get("documents", {}).get(document.source, {}).get("path", "")
        if not self._is_upload(path):
            raise DocumentConflict(f"the document {document.source} comes from the corpus folder "
                                   f"{self.settings.corpus_dir}; remove it from that folder and re-index")
        with self._ingest_lock:
            self._check_idle()
            Path(path).unlink(missing_ok=True)
            self._start("delete")
        return document.source

    def _corpus_sources(self) -> set[str]:
        try:
            index = self.assistant().index
        except IndexUnavailable:
            return set()
        return {source for source, entry in index.manifest.get("documents", {}).items()
                if not self._is_upload(entry.get("path", ""))}

    # -- ingest --------------------------------------------------------------------------------

    def roots(self) -> list[Path]:
        """What an ingest reads: the corpus folder and the uploads, those that exist."""
        roots = [Path(self.settings.corpus_dir), self.uploads_dir]
        return [root for root in roots if root.is_dir()]

    def ensure_index(self, progress: bool = True) -> IngestSummary | None:
        """Build the index from ``settings.corpus_dir`` (and uploads) when none exists; None when one does.

        Runs in the caller's thread: call it before serving.
        """
        if current_generation(self.index_dir) is not None:
            self.refresh()
            return None
        roots = self.roots()
        if not roots:
            raise IngestError(f"there is no index in {self.index_dir} and the corpus folder "
                              f"{self.settings.corpus_dir} does not exist; set corpus_dir or POLICYQA_INDEX")
        ingestor = Ingestor(self.settings, embedder=self._embedder, progress=progress)
        summary = ingestor.run(roots, on_event=lambda message: log.info("%s", message))
        self._keep_embedder(ingestor)
        self._status["last"] = _describe(summary)
        self.refresh()
        return summary

    def _keep_embedder(self, ingestor: Ingestor) -> None:
        if self._embedder is None and self.settings.dense:
            self._embedder = ingestor.embedder

    def _check_idle(self) -> None:
        if self._status["running"]:
            raise IngestBusy("an ingest is already running; wait for it to finish (GET /api/reindex)")

    def start_ingest(self, reason: str = "reindex") -> dict[str, Any]:
        """Start an ingest in the background; raise :class:`IngestBusy` if one is running."""
        with self._ingest_lock:
            self._check_idle()
            self._start(reason)
        return self.ingest_status()

    def _start(self, reason: str) -> None:
        self._status.update(running=True, reason=reason, phase="scanning", started=time.time(), finished=None,
                            files_total=0, files_done=0, error=None)
        self._summary = None
        self._thread = threading.Thread(target=self._ingest, name="policyqa-ingest", daemon=True)
        self._thread.start()

    def _on_parse(self, total: int, summary: IngestSummary) -> None:
        self._failed_before = len(summary.failed)  # files discovery refused: not part of the parse
        self._summary = summary
        self._status.update(phase="parsing", files_total=total)

    def _ingest(self) -> None:
        try:
            roots = self.roots()
            if not roots:
                raise IngestError(f"nothing to index: the corpus folder {self.settings.corpus_dir} does not exist "
                                  "and no document was uploaded")
            # One worker process: forking a threaded server for a pool is not safe.
            ingestor = _TrackedIngestor(self.settings, embedder=self._embedder, progress=False, workers=1,
                                        on_parse=self._on_parse)
            summary = ingestor.run(roots, on_event=lambda message: log.info("%s", message))
            self._keep_embedder(ingestor)
            self._status["phase"] = "loading"
            self.refresh()
            self._status.update(last=_describe(summary), phase="done")
        except (IngestError, EmbedderError, OSError) as exc:
            self._status.update(error=str(exc), phase="failed")
            log.error("ingest failed: %s", exc)
        except Exception as exc:  # noqa: BLE001 - a background thread must record, not vanish
            self._status.update(error=f"the ingest failed unexpectedly ({type(exc).__name__}: {exc})", phase="failed")
            log.exception("ingest failed")
        finally:
            self._status.update(running=False, finished=time.time(), files_done=self._files_done())
            self._summary = None

    def _files_done(self) -> int:
        summary = self._summary
        if summary is None:
            return int(self._status["files_done"])
        return summary.added + summary.updated + len(summary.failed) - self._failed_before

    def ingest_status(self) -> dict[str, Any]:
        """Whether an ingest runs, how far it is (files parsed of files to parse) and the last summary."""
        status = dict(self._status)
        status["files_done"] = self._files_done()
        assistant = self._assistant
        status["generation"] = assistant.index.generation.name if assistant is not None else None
        return status

    def wait_for_ingest(self, timeout: float = 60.0) -> dict[str, Any]:
        """Block until the running ingest (if any) has finished; return the status."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.ingest_status()
