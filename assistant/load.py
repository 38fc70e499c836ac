"""Load: files on disk to :class:`PolicyDocument` objects.

:func:`discover` walks the folders given to ingest (recursively, without following directory
symlinks, so a symlink loop cannot trap it); :func:`load_document` reads one file: text
extraction and encoding detection (``extract``), front matter and metadata (``metadata``).

Example::

    for item in discover([Path("corpus")]):
        document = load_document(item)
        document.meta.title, document.source
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .documents import PolicyDocument, content_hash
from .extract import SUPPORTED_SUFFIXES, ExtractError, extract, read_file
from .metadata import read_metadata, split_front_matter


class LoadError(Exception):
    """One file could not be read; ``str()`` is one sentence saying what is wrong and what to do."""


@dataclass(frozen=True)
class SourceFile:
    """A file found by :func:`discover`: where it is and the ``source`` name it is cited by."""

    path: Path
    source: str  # path relative to the folder given to ingest, with '/' separators

    @property
    def doc_id(self) -> str:
        return content_hash(self.source)[:12]


@dataclass(frozen=True)
class Skipped:
    """A file that discovery refused, with the reason (an unsupported type, a broken link …)."""

    source: str
    reason: str


def _ignored(name: str, patterns: Iterable[str]) -> bool:
    return name.startswith(".") or any(fnmatch.fnmatch(name, p) for p in patterns)


def discover(roots: Iterable[Path], ignore: Iterable[str] = ()) -> Iterator[SourceFile | Skipped]:
    """Every file under ``roots`` in a stable order; unsupported or unreadable ones as :class:`Skipped`.

    Files matching ``ignore`` (README*, SOURCES* … by default) and hidden files are passed over
    silently: they are about the corpus, not policy documents.
    """
    ignore = tuple(ignore)
    for root in roots:
        root = Path(root)
        if root.is_file():
            yield _classify(root, root.name)
            continue
        if not root.is_dir():
            yield Skipped(str(root), "does not exist; check the path")
            continue
        for folder, dirs, files in os.walk(root, followlinks=False, onerror=None):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            # A link to a folder is not followed (it may loop back): say so rather than drop it silently.
            for name in [d for d in dirs if (Path(folder) / d).is_symlink()]:
                dirs.remove(name)
                path = Path(folder) / name
                yield Skipped(path.relative_to(root).as_posix(),
                              "is a symbolic link to a folder, which is not followed; ingest the folder it "
                              "points to directly")
            for name in sorted(files):
                if _ignored(name, ignore):
                    continue
                path = Path(folder) / name
                yield _classify(path, path.relative_to(root).as_posix())


def _classify(path: Path, source: str) -> SourceFile | Skipped:
    if path.is_symlink() and not path.exists():
        return Skipped(source, "is a broken or looping symbolic link; fix or remove it")
    if not path.is_file():
        return Skipped(source, "is not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        return Skipped(source, f"has an unsupported file type '{suffix or '(none)'}'; supported: {kinds}")
    return SourceFile(path, source)


def file_hash(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:20]


def bytes_hash(data: bytes) -> str:
    """:func:`file_hash` of a file holding ``data``."""
    return hashlib.sha1(data).hexdigest()[:20]


def load_document(item: SourceFile, max_bytes: int = 50_000_000, digest: str | None = None) -> PolicyDocument:
    """Read one file into a :class:`PolicyDocument`; raise :class:`LoadError` for a bad file.

    The file is read once; ``file_hash`` is the hash of exactly the bytes that were parsed, even if
    the file changes while it is read. (``digest``, a hash taken earlier, is no longer trusted for
    that and is ignored; the parameter stays for callers that pass it.)
    """
    try:
        data = read_file(item.path, max_bytes=max_bytes)
        extracted = extract(item.path, max_bytes=max_bytes, data=data)
    except ExtractError as exc:
        raise LoadError(str(exc)) from None
    text = extracted.text
    fields: dict = {}
    if item.path.suffix.lower() in (".md", ".markdown", ".txt"):
        try:
            text, fields = split_front_matter(text)
        except ValueError as exc:
            raise LoadError(str(exc)) from None
    if not text.strip():
        raise LoadError("has front matter but no text; add the document's text below the --- block")
    meta = read_metadata(text, fields, fallback_title=item.path.stem)
    return PolicyDocument(
        doc_id=item.doc_id,
        source=item.source,
        text=text,
        meta=meta,
        page_starts=extracted.page_starts,
        file_hash=bytes_hash(data),
    )
