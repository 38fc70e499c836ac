"""Ingest: folders of policy documents in, a new index generation out.

Only what changed is re-processed: a file whose size and mtime (or, failing that, content hash)
match the live generation's manifest is carried over as it is; files that vanished from the
folders being ingested are removed; a file that fails to load keeps its previously indexed version.
Vectors come from the embedding cache, so an unchanged passage is never embedded twice.

Example::

    summary = Ingestor(settings).run([Path("corpus")])
    print(summary.describe())
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .bm25 import Vocabulary, build_bm25
from .chunk import Chunker
from .config import Settings
from .documents import Passage, PolicyDocument, content_hash
from .embed import Embedder, make_embedder
from .index import (
    CURRENT,
    FORMAT_VERSION,
    MANIFEST,
    current_generation,
    fsync_dir,
    read_manifest,
    remove_stale_generations,
    write_atomic,
)
from .load import LoadError, Skipped, SourceFile, discover, file_hash, load_document
from .store import ChunkStore
from .tokenize import Tokenizer, dictionary_fingerprint
from .vectors import VectorCache, cache_path

PARSER_VERSION = 10  # bump when load/structure/chunk change what they produce
EMBED_BATCH = 32
# A file modified this recently when it was read may change again within the same mtime tick
# (file times are coarse, and some file systems keep whole seconds): its size and mtime cannot vouch
# for its content next time, so the manifest marks it (RECHECK) to be hashed again.
RACY_NS = 2_000_000_000
RECHECK = -1


class IngestError(Exception):
    """Ingest cannot start (index folder unwritable, another ingest running, bad settings)."""


@dataclass
class IngestSummary:
    """What one ingest did; :meth:`describe` is the closing summary printed by the CLI."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    documents: int = 0
    passages: int = 0
    embedded: int = 0
    chars: int = 0
    seconds: float = 0.0
    generation: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        # One line per failed file, whatever its name: control characters (a newline in a file
        # name) are shown escaped.
        lines = [f"  failed: {_printable(source)}: {' '.join(_printable(message).split())}"
                 for source, message in self.failed]
        lines.append(
            f"documents: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed, {len(self.failed)} failed; {self.documents} in the index, "
            f"{self.passages} passages, {self.embedded} newly embedded; {self.seconds:.1f} s"
        )
        return "\n".join(lines)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _fingerprint(before: os.stat_result, after: os.stat_result | None = None) -> tuple[int, int]:
    """(size, mtime_ns) of a file for the manifest, taken *before* it was read.

    mtime is RECHECK (the next ingest hashes the file again instead of trusting size and mtime)
    when the file changed while it was read (``after`` differs) or was modified too recently
    (RACY_NS) for a later change to be sure to show in its mtime.
    """
    stable = after is None or (before.st_size, before.st_mtime_ns, before.st_ctime_ns, before.st_ino) == (
        after.st_size, after.st_mtime_ns, after.st_ctime_ns, after.st_ino)
    racy = time.time_ns() - before.st_mtime_ns < RACY_NS
    return before.st_size, before.st_mtime_ns if stable and not racy else RECHECK


def _fsync_tree(folder: Path) -> None:
    """Flush every file of a new generation to disk before it can become live."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    for path in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        fsync_dir(path)


def _write_failure(exc: BaseException, index_dir: Path) -> str:
    """One sentence for an error writing a new generation (a full disk, above all)."""
    if isinstance(exc, OSError):
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        detail = exc.strerror or str(exc)
    else:
        full = "full" in str(exc).lower()
        detail = str(exc)
    if full:
        return (f"the disk is full: the new index could not be written to {index_dir} ({detail}); free some "
                "space and run the ingest again. The previous index is unchanged and still usable")
    return (f"the new index could not be written to {index_dir} ({detail}); the previous index is unchanged "
            "and still usable")


def index_text(title: str, section_path: Iterable[str], text: str) -> str:
    """What BM25 and the embedder see: the title and section path take part in retrieval."""
    path = " > ".join(section_path)
    return f"{title}\n{path}\n{text}" if path else f"{title}\n{text}"


_tokenizer: Tokenizer | None = None


@dataclass
class _Parsed:
    """A file loaded, chunked and tokenized by a worker."""

    document: PolicyDocument
    passages: list[Passage]
    tokens: list[str]
    chars: int
    fingerprint: tuple[int, int]  # (size, mtime_ns) for the manifest; see _fingerprint


def _load_and_chunk(args: tuple[SourceFile, int, int, int]) -> tuple[SourceFile, Any]:
    """Worker: one file to (document, passages, BM25 tokens per passage), or the error message.

    Runs in a process pool, so segmentation, the costliest step, runs on every core. The file may
    change while it is read: the document's hash is that of the bytes parsed, and a stat before and
    after tells whether its size and mtime may be trusted next time.
    """
    global _tokenizer
    item, max_bytes, min_chars, max_chars = args
    try:
        before = os.stat(item.path)
        document = load_document(item, max_bytes=max_bytes)
        fingerprint = _fingerprint(before, os.stat(item.path))
        passages = Chunker(min_chars, max_chars).split(document)
        if not passages:
            return item, "contains no text to index"
        _tokenizer = _tokenizer or Tokenizer()
        tokens = [" ".join(_tokenizer.tokens(index_text(document.meta.title, p.section_path, p.text)))
                  for p in passages]
        # The passages carry all the text the index keeps: don't ship the whole text back too.
        chars = len(document.text)
        return item, _Parsed(replace(document, text=""), passages, tokens, chars, fingerprint)
    except LoadError as exc:
        return item, str(exc)
    except OSError as exc:  # it vanished or became unreadable since it was found
        return item, f"cannot be read ({exc.strerror or exc}); check that it exists and its permissions"
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
        return item, f"could not be processed ({type(exc).__name__}: {exc}); please report this file"


def _under(path: str, roots: list[Path]) -> bool:
    """Whether ``path`` is one of ``roots`` or lies inside one of them."""
    return any(path == str(r) or path.startswith(str(r).rstrip("/") + "/") for r in roots)


class _Postings:
    """BM25 input gathered during ingest: token ids per passage, in the order passages are stored."""

    def __init__(self) -> None:
        self.vocab = Vocabulary()
        self.token_ids: list[np.ndarray] = []
        self.positions: list[int] = []

    def add(self, passage_ids: list[int], tokens: list[str]) -> None:
        for passage_id, token_text in zip(passage_ids, tokens):
            self.token_ids.append(self.vocab.ids(token_text.split()))
            self.positions.append(passage_id)

    def add_stored(self, store: ChunkStore, since: int = 0) -> None:
        """Passages copied from the previous generation: their tokens come from the store."""
        rows = list(store.iter_tokens(since=since))
        self.add([r[0] for r in rows], [r[1] for r in rows])


class _Lock:
    """An exclusive lock on the index folder, so two ingests never interleave generations."""

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / ".lock"
        self.handle: Any = None

    def __enter__(self) -> _Lock:
        try:
            self.handle = self.path.open("w")
        except OSError as exc:  # a full disk or a read-only folder, before anything was written
            raise IngestError(f"cannot create the lock file {self.path} ({exc.strerror or exc}); "
                              "check that the index folder is writable and the disk not full") from None
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            raise IngestError(f"another ingest is running on {self.path.parent}; wait for it to finish") from None
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


class Ingestor:
    """Builds index generations from folders of documents (see the module docstring).

    ``embedder`` may be passed in (tests, benchmarks); otherwise it is made from
    ``settings.embedder`` when the first passage needs a vector.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None, progress: bool = True,
                 workers: int | None = None) -> None:
        self.settings = settings
        self.index_dir = settings.index_dir
        self._embedder = embedder
        self.progress = progress
        self.workers = workers if workers is not None else min(4, os.cpu_count() or 1)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings.embedder, self.settings.query_prefix,
                                           self.settings.passage_prefix)
        return self._embedder

    def _settings_key(self) -> dict[str, Any]:
        # The dictionary decides the BM25 tokens: a new policy term must reach the documents too.
        return {"parser": PARSER_VERSION, "chunk": [self.settings.chunk_min_chars, self.settings.chunk_max_chars],
                "dictionary": dictionary_fingerprint()}

    def run(self, roots: list[Path], on_event: Callable[[str], None] | None = None) -> IngestSummary:
        started = time.perf_counter()
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise IngestError(f"cannot create the index folder {self.index_dir} ({exc.strerror}); choose another with --index") from None
        if not os.access(self.index_dir, os.W_OK):
            raise IngestError(f"the index folder {self.index_dir} is not writable; choose another with --index")
        with _Lock(self.index_dir):
            summary = self._run_locked([Path(r).resolve() for r in roots], on_event or (lambda _: None))
        summary.seconds = time.perf_counter() - started
        return summary

    # -- the steps ---------------------------------------------------------------------------

    def _run_locked(self, roots: list[Path], emit: Callable[[str], None]) -> IngestSummary:
        summary = IngestSummary()
        live = current_generation(self.index_dir)
        old_manifest = read_manifest(live) if live else {"documents": {}}
        old_docs: dict[str, dict[str, Any]] = old_manifest.get("documents", {})
        # Read once: the manifest records the very settings (and dictionary) this run compared.
        settings_key = self._settings_key()
        reparse_all = old_manifest.get("settings") != settings_key
        self._old_sources = set(old_docs)
        # Leftovers of a killed ingest are never live; clear them before writing a new one.
        remove_stale_generations(self.index_dir, {live} if live else set())
        for leftover in self.index_dir.glob(f"{CURRENT}.tmp*"):
            leftover.unlink(missing_ok=True)

        t0 = time.perf_counter()
        found: dict[str, SourceFile] = {}
        for entry in discover(roots, self.settings.ignore):
            if isinstance(entry, Skipped):
                summary.failed.append((entry.source, entry.reason))
            elif entry.source in found:
                summary.failed.append((entry.source, f"has the same relative path as {found[entry.source].path}; "
                                                     "ingest the two folders into separate indexes"))
            else:
                found[entry.source] = entry

        keep: dict[str, dict[str, Any]] = {}
        todo: list[tuple[SourceFile, int]] = []  # files to parse, with their size
        for source, item in found.items():
            old = old_docs.get(source)
            try:
                before = item.path.stat()
                retry = bool(old and old.get("retry"))  # kept from before after failing: try it again
                if old and not reparse_all and not retry and old["size"] == before.st_size \
                        and old["mtime_ns"] == before.st_mtime_ns:
                    keep[source] = old
                    summary.unchanged += 1
                    continue
                if not old or reparse_all or retry:
                    todo.append((item, before.st_size))
                    continue
                digest = file_hash(item.path)
                size, mtime = _fingerprint(before, item.path.stat())
            except OSError as exc:
                summary.failed.append((source, f"cannot be read ({exc.strerror}); check its permissions"))
                if old:
                    keep[source] = old
                continue
            if old["file_hash"] == digest:
                keep[source] = {**old, "size": size, "mtime_ns": mtime}
                summary.unchanged += 1
                continue
            todo.append((item, size))

        failed_sources = {source for source, _ in summary.failed}
        for source, old in old_docs.items():
            if source in found:
                continue
            if source in failed_sources:
                keep[source] = old  # unreadable now, but what was indexed stays
            elif _under(old.get("path", ""), roots):
                summary.removed += 1
            else:
                keep[source] = old  # from a folder not being ingested now: leave it alone

        embedder_name = self.settings.embedder if self.settings.dense else None

        def up_to_date(parsed_any: bool) -> bool:
            """Nothing to write: report the live generation as it is."""
            if live is None or parsed_any or summary.removed or reparse_all \
                    or old_manifest.get("embedder") != embedder_name:
                return False
            emit("nothing changed; the index is up to date")
            summary.generation = live.name
            summary.documents = len(old_docs)
            summary.passages = int(old_manifest.get("passages", 0))
            return True

        if up_to_date(bool(todo)):
            return summary

        # Microseconds in the name: two ingests by one process within a second must not collide.
        generation = self.index_dir / f"gen-{datetime.now(UTC):%Y%m%d-%H%M%S-%f}-{os.getpid()}"
        store: ChunkStore | None = None
        switched = False
        try:
            generation.mkdir()
            store = ChunkStore(generation / "store.sqlite")
            postings = _Postings()
            if live is not None:
                store.copy_documents_from(live / "store.sqlite", [v["doc_id"] for v in keep.values()])
                postings.add_stored(store)
            parsed = self._parse_into(todo, store, postings, summary)
            # Marked for a retry: kept as it was parsed before (perhaps by another parser version), it
            # is not "unchanged" next time even if the file is.
            recovered = {s: {**old_docs[s], "retry": True} for s, _ in summary.failed
                         if s in old_docs and s not in keep}
            if recovered and live is not None:
                # A file that fails now keeps the version indexed before: nothing indexed is lost.
                first_new = store.next_id()
                store.copy_documents_from(live / "store.sqlite", [v["doc_id"] for v in recovered.values()])
                postings.add_stored(store, since=first_new)
                keep.update(recovered)
            store.commit()
            summary.timings["parse_chunk"] = time.perf_counter() - t0
            if not keep and not parsed:
                emit("no documents could be indexed; nothing was written")
                return summary
            if up_to_date(bool(parsed)):  # every changed file failed to load
                return summary
            self._build_search(generation, store, postings, summary)
            store.close()
            _fsync_tree(generation)  # the data is on disk before the manifest and CURRENT say it is there
            documents = {**keep, **parsed}
            summary.documents = len(documents)
            manifest = {
                "format": FORMAT_VERSION,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "settings": settings_key,
                "embedder": embedder_name,
                "passages": summary.passages,
                "documents": documents,
            }
            write_atomic(generation / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
            fsync_dir(generation)
            # The switch: one rename. Before it the old generation is live, after it the new one.
            write_atomic(self.index_dir / CURRENT, generation.name + "\n")
            switched = True
        except (OSError, sqlite3.Error) as exc:
            # A full disk, above all: fail with one sentence; the previous generation stays live.
            raise IngestError(_write_failure(exc, self.index_dir)) from None
        finally:
            if store is not None:
                store.close()
            if not switched:
                shutil.rmtree(generation, ignore_errors=True)
        summary.generation = generation.name
        # Keep the generation just replaced: a server may still be reading from it.
        remove_stale_generations(self.index_dir, {generation} | ({live} if live else set()))
        return summary

    def _parse_into(self, todo: list[tuple[SourceFile, str]], store: ChunkStore, postings: _Postings,
                    summary: IngestSummary) -> dict[str, dict[str, Any]]:
        """Load, chunk and tokenize ``todo`` in worker processes, storing each result as it arrives.

        Returns the manifest entries of the documents added or updated.
        """
        s = self.settings
        # Largest first: the workers finish together.
        jobs = [(item, int(s.max_file_mb * 1_000_000), s.chunk_min_chars, s.chunk_max_chars)
                for item, _size in sorted(todo, key=lambda entry: -entry[1])]
        entries: dict[str, dict[str, Any]] = {}
        known = {source for source in self._old_sources}
        bar = tqdm(total=len(jobs), desc="parse", unit="file", disable=not self.progress or not jobs,
                   dynamic_ncols=True)
        pool = ProcessPoolExecutor(self.workers) if self.workers > 1 and len(jobs) > 20 else None
        try:
            results = pool.map(_load_and_chunk, jobs, chunksize=8) if pool else map(_load_and_chunk, jobs)
            for item, result in results:
                bar.update()
                if isinstance(result, str):
                    summary.failed.append((item.source, result))
                    continue
                ids = store.add_document(result.document, result.passages, result.tokens, result.chars)
                postings.add(ids, result.tokens)
                size, mtime = result.fingerprint
                entries[item.source] = {
                    "doc_id": result.document.doc_id,
                    "path": str(item.path),
                    "size": size,
                    "mtime_ns": mtime,
                    "file_hash": result.document.file_hash,
                    "passages": len(result.passages),
                    "passage_hashes": content_hash("".join(p.hash for p in result.passages)),
                }
                summary.chars += result.chars
                if item.source in known:
                    summary.updated += 1
                else:
                    summary.added += 1
                bar.set_postfix(passages=len(postings.positions), refresh=False)
        finally:
            bar.close()
            if pool:
                pool.shutdown(cancel_futures=True)
        return entries

    def _build_search(self, generation: Path, store: ChunkStore, postings: _Postings, summary: IngestSummary) -> None:
        t0 = time.perf_counter()
        summary.passages = len(postings.positions)
        build_bm25(postings.token_ids, postings.vocab.mapping).save(str(generation / "bm25"), show_progress=False)
        np.save(generation / "positions.npy", np.asarray(postings.positions, dtype=np.int64))
        summary.timings["bm25"] = time.perf_counter() - t0
        if self.settings.dense:
            t1 = time.perf_counter()
            titles = {d.doc_id: d.meta.title for d in store.documents()}
            texts: dict[int, str] = {}
            for passage in store.iter_passages():
                texts[passage.id] = index_text(titles[passage.doc_id], passage.section_path, passage.text)
            self._build_dense(generation, postings.positions, texts, summary)
            summary.timings["dense"] = time.perf_counter() - t1

    def _build_dense(self, generation: Path, positions: list[int], texts: dict[int, str],
                     summary: IngestSummary) -> None:
        import faiss

        keys = [content_hash(texts[pid]) for pid in positions]
        texts_by_key = {key: texts[pid] for key, pid in zip(keys, positions)}
        embedder = self.embedder
        cache = VectorCache(cache_path(self.index_dir, embedder.name), embedder.dim)
        try:
            missing = cache.missing(keys)
            bar = tqdm(total=len(missing), desc="embed", unit="passage", disable=not self.progress or not missing,
                       dynamic_ncols=True)
            for start in range(0, len(missing), EMBED_BATCH):
                batch = missing[start:start + EMBED_BATCH]
                cache.put(batch, embedder.embed_passages([texts_by_key[k] for k in batch]))
                summary.embedded += len(batch)
                bar.update(len(batch))
            bar.close()
            matrix = cache.get(keys) if keys else np.zeros((0, embedder.dim), dtype=np.float32)
        finally:
            cache.close()
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dim))
        if len(keys):
            index.add_with_ids(matrix, np.asarray(positions, dtype=np.int64))
        faiss.write_index(index, str(generation / "dense.faiss"))
