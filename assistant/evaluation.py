"""Evaluation against questions with gold evidence spans (the schema of shared/eval/README.md).

A retrieved passage *hits* a gold span when its text contains the evidence string, or when its
character range overlaps the evidence's range in the same document (the range is found with
``body.find(evidence)`` on the document body after the front matter, the same coordinates the
chunker records).

Example::

    questions = load_questions(Path("dev.jsonl"))
    spans = locate_evidence(questions, corpus_dir)
    report = RetrievalScores()
    report.add(question, ranked_passages, spans)
    report.summary()   # {'hit@1': ..., 'hit@5': ..., 'mrr@10': ...}
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .extract import ExtractError, extract
from .metadata import split_front_matter
from .numbers import compact

KS = (1, 3, 5, 10)


class QuestionFileError(ValueError):
    """A questions file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    type: str = ""
    gold: tuple[tuple[str, str], ...] = ()  # (doc, evidence)
    must_include: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = ()

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable" and bool(self.gold)


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file (``id``, ``question``, optional ``gold``/``must_include``/``history``)."""
    questions = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"cannot read {path}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            questions.append(
                Question(
                    id=str(data.get("id", number)),
                    question=str(data["question"]),
                    type=str(data.get("type", "")),
                    gold=tuple((g["doc"], g["evidence"]) for g in data.get("gold", [])),
                    must_include=tuple(data.get("must_include", [])),
                    history=tuple(data.get("history", []) or []),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise QuestionFileError(f"{path} line {number} is not a question object ({exc}); "
                                    "each line needs at least {\"id\", \"question\"}") from None
    return questions


def doc_key(source: str) -> str:
    """'bulk/dfxfg-x.md' -> 'bulk/dfxfg-x': the form gold ``doc`` fields use."""
    return re.sub(r"\.(md|markdown|txt|pdf|docx|html?)$", "", source)


@dataclass(frozen=True)
class Span:
    doc: str
    evidence: str
    start: int  # -1 when the evidence was not found in the document body
    end: int


def document_paths(manifest: dict[str, Any]) -> dict[str, Path]:
    """Gold ``doc`` key -> file on disk, from an index manifest (so evaluation needs no corpus flag)."""
    return {doc_key(source): Path(entry["path"]) for source, entry in manifest.get("documents", {}).items()}


def locate_evidence(questions: Sequence[Question], corpus: Path | dict[str, Path]) -> dict[str, list[Span]]:
    """Gold spans per question id, with their character ranges in the document bodies.

    ``corpus`` is the folder the gold paths are relative to, or a mapping from gold ``doc`` keys to
    files (:func:`document_paths`).
    """
    bodies: dict[str, str] = {}
    spans: dict[str, list[Span]] = {}
    for q in questions:
        out = []
        for doc, evidence in q.gold:
            if doc not in bodies:
                path = corpus.get(doc, Path("/nonexistent")) if isinstance(corpus, dict) else corpus / f"{doc}.md"
                try:
                    text = extract(path).text
                    bodies[doc] = split_front_matter(text)[0]
                except (ExtractError, ValueError):
                    bodies[doc] = ""
            start = bodies[doc].find(evidence)
            out.append(Span(doc, evidence, start, start + len(evidence) if start >= 0 else -1))
        spans[q.id] = out
    return spans


def passage_hits(passage: dict[str, Any], spans: Sequence[Span]) -> list[int]:
    """Indexes of the spans that ``passage`` (a ``passages`` record of the answer JSON) hits."""
    doc = doc_key(passage["source"])
    hits = []
    for i, span in enumerate(spans):
        if span.doc != doc:
            continue
        if span.evidence in passage["text"]:
            hits.append(i)
        elif span.start >= 0 and passage.get("char_start", -1) < span.end and span.start < passage.get("char_end", -1):
            hits.append(i)
    return hits


@dataclass
class RetrievalScores:
    """hit@k, MRR@10, strict hit@k for compare questions, span recall@k, over answerable questions."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, question: Question, passages: Sequence[dict[str, Any]], spans: Sequence[Span]) -> dict[str, Any]:
        first_rank = None
        span_rank: dict[int, int] = {}
        docs_hit_by: dict[str, int] = {}
        for rank, passage in enumerate(passages[:10], start=1):
            hit = passage_hits(passage, spans)
            if hit and first_rank is None:
                first_rank = rank
            for i in hit:
                span_rank.setdefault(i, rank)
                docs_hit_by.setdefault(spans[i].doc, rank)
        gold_docs = {s.doc for s in spans}
        row = {
            "id": question.id,
            "type": question.type,
            "first_hit_rank": first_rank,
            "span_ranks": [span_rank.get(i) for i in range(len(spans))],
            "strict_rank": max(docs_hit_by.values()) if gold_docs and set(docs_hit_by) == gold_docs else None,
        }
        self.rows.append(row)
        return row

    def summary(self) -> dict[str, float]:
        n = len(self.rows) or 1
        out: dict[str, float] = {"questions": float(len(self.rows))}
        for k in KS:
            out[f"hit@{k}"] = sum(1 for r in self.rows if r["first_hit_rank"] and r["first_hit_rank"] <= k) / n
        out["mrr@10"] = sum(1 / r["first_hit_rank"] for r in self.rows if r["first_hit_rank"]) / n
        compare = [r for r in self.rows if r["type"] == "compare"]
        if compare:
            out["compare_strict@5"] = sum(1 for r in compare if r["strict_rank"] and r["strict_rank"] <= 5) / len(compare)
        span_total = sum(len(r["span_ranks"]) for r in self.rows) or 1
        out["span_recall@5"] = sum(1 for r in self.rows for s in r["span_ranks"] if s and s <= 5) / span_total
        out["span_recall@10"] = sum(1 for r in self.rows for s in r["span_ranks"] if s and s <= 10) / span_total
        return out


def context_hit(passages: Sequence[dict[str, Any]], spans: Sequence[Span], budget: int = 2000) -> bool:
    """Whether a gold span is hit within the first ``budget`` characters of retrieved context."""
    used = 0
    for passage in passages:
        if used >= budget:
            break
        if passage_hits(passage, spans):
            return True
        used += len(passage["text"])
    return False


def must_include_coverage(answer: str, must_include: Sequence[str]) -> float:
    """Share of the must_include strings found in the answer, numbers normalised (三十日 = 30日)."""
    if not must_include:
        return 1.0
    text = compact(answer)
    return sum(1 for item in must_include if compact(item) in text) / len(must_include)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    position = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[position]


@dataclass
class AnswerScores:
    """Answer-level metrics over a question set, plus the retrieval ones (see :func:`run_evaluation`)."""

    retrieval: RetrievalScores = field(default_factory=RetrievalScores)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, question: Question, answer: dict[str, Any], spans: Sequence[Span]) -> dict[str, Any]:
        row: dict[str, Any] = {"id": question.id, "type": question.type, "refused": answer["refused"],
                               "answerable": question.answerable, "timings_ms": answer.get("timings_ms", {})}
        if question.answerable:
            row.update(self.retrieval.add(question, answer["passages"], spans))
            row["context_hit"] = context_hit(answer["passages"], spans)
            cited = answer["citations"]
            row["citations"] = len(cited)
            row["correct_citations"] = sum(1 for c in cited if passage_hits(c, spans))
            row["must_include"] = must_include_coverage(answer["answer"], question.must_include)
        row["unsupported_sentences"] = sum(1 for s in answer["sentences"] if not s["supported"])
        self.rows.append(row)
        return row

    def summary(self) -> dict[str, float]:
        answerable = [r for r in self.rows if r["answerable"]]
        unanswerable = [r for r in self.rows if not r["answerable"]]
        out = dict(self.retrieval.summary())
        n = len(answerable) or 1
        out["context_hit@2000"] = sum(1 for r in answerable if r["context_hit"]) / n
        citations = sum(r["citations"] for r in answerable)
        out["citation_precision"] = sum(r["correct_citations"] for r in answerable) / citations if citations else 0.0
        out["answers_with_correct_citation"] = sum(1 for r in answerable if r["correct_citations"]) / n
        out["must_include_coverage"] = sum(r["must_include"] for r in answerable) / n
        out["must_include_all"] = sum(1 for r in answerable if r["must_include"] == 1.0) / n
        out["refusal_accuracy"] = (sum(1 for r in unanswerable if r["refused"]) / len(unanswerable)
                                   if unanswerable else float("nan"))
        out["false_refusals"] = sum(1 for r in answerable if r["refused"]) / n
        out["unanswerable_questions"] = float(len(unanswerable))
        for stage in ("retrieve", "answer", "total"):
            values = [r["timings_ms"].get(stage, 0.0) for r in self.rows]
            out[f"{stage}_ms_p50"] = percentile(values, 50)
            out[f"{stage}_ms_p95"] = percentile(values, 95)
        return out


def report_markdown(summary: dict[str, float], rows: Sequence[dict[str, Any]], title: str) -> str:
    """The evaluation report as Markdown: the metrics table, then one line per question."""
    lines = [f"# {title}", "", "| metric | value |", "|---|---|"]
    for key, value in summary.items():
        lines.append(f"| {key} | {value:.3f} |" if isinstance(value, float) else f"| {key} | {value} |")
    lines += ["", "| id | type | first hit rank | refused | must_include | citations ok/all |", "|---|---|---|---|---|---|"]
    for r in rows:
        mi = f"{r['must_include']:.2f}" if "must_include" in r else "-"
        cites = f"{r.get('correct_citations', '-')}/{r.get('citations', '-')}"
        lines.append(f"| {r['id']} | {r['type']} | {r.get('first_hit_rank') or '-'} | {r['refused']} | {mi} | {cites} |")
    return "\n".join(lines) + "\n"
