"""The nouns of the policy domain: a document, a section of it, a passage cut from it.

Everything downstream (index, retrieval, answers, the API) speaks in these types.

Example::

    doc = PolicyDocument(doc_id="a1b2", source="bj/x.md", title="北京市……办法", text="第一条 ……")
    passage = Passage(doc_id=doc.doc_id, ordinal=0, text="第一条 ……", section_path=("第一条",),
                      char_start=0, char_end=7)
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date


def content_hash(text: str) -> str:
    """A short, stable hash of a text (sha1, 20 hex chars): identity for files and passages."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


@dataclass
class DocumentMeta:
    """What a reader needs to cite a document: title, 发文机关, 文号, dates, region, kind.

    Dates are ISO strings that may be partial ("2024", "2024-05", "2024-05-01"): many policy
    documents state only a year, and a made-up day would be a false citation.
    """

    title: str = ""
    issuer: str = ""
    doc_number: str = ""
    date: str = ""  # 成文日期 (or the only date stated)
    publish_date: str = ""  # 发布日期
    effective_date: str = ""  # 施行日期
    expiry_date: str = ""  # 失效日期
    region: str = ""
    kind: str = ""  # 意见/通知/办法/方案/规划/条例/解读 …
    repealed: bool = False  # marked 废止/失效 in the text or front matter
    url: str = ""

    def in_force(self, today: date | None = None) -> bool:
        """False when the document is marked repealed or its expiry date has passed."""
        if self.repealed:
            return False
        if not self.expiry_date:
            return True
        return _date_floor(self.expiry_date) >= (today or date.today()).isoformat()

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _date_floor(iso: str) -> str:
    """'2024' -> '2024-12-31': a partial expiry date means 'until the end of that period'."""
    parts = iso.split("-")
    if len(parts) == 1:
        return f"{parts[0]}-12-31"
    if len(parts) == 2:
        return f"{parts[0]}-{parts[1]}-31"
    return iso


@dataclass
class PolicyDocument:
    """One source file, read and understood: its text (front matter removed) and metadata.

    ``source`` is the path relative to the folder given to ingest; ``page_starts`` (PDFs only)
    holds the character offset at which each page starts in ``text``.
    """

    doc_id: str
    source: str
    text: str
    meta: DocumentMeta = field(default_factory=DocumentMeta)
    page_starts: list[int] | None = None
    file_hash: str = ""

    @property
    def title(self) -> str:
        return self.meta.title

    def pages_for(self, start: int, end: int) -> list[int]:
        """1-based page numbers covered by the character span [start, end)."""
        if not self.page_starts:
            return []
        first = last = 1
        for number, offset in enumerate(self.page_starts, start=1):
            if offset <= start:
                first = number
            if offset < end:
                last = number
        return list(range(first, max(first, last) + 1))


@dataclass(frozen=True)
class Section:
    """A heading-delimited span of a document: its heading path and where it lies in the text.

    ``is_article`` marks a 第X条 article: a passage never spans two of them.
    """

    path: tuple[str, ...]
    start: int
    end: int
    is_article: bool = False


@dataclass
class Passage:
    """The retrievable, citable unit: a piece of one section, with where it came from."""

    doc_id: str
    ordinal: int
    text: str
    section_path: tuple[str, ...]
    char_start: int
    char_end: int
    pages: list[int] = field(default_factory=list)

    @property
    def hash(self) -> str:
        return content_hash(self.text)
