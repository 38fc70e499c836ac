"""Retrieve: BM25 over jieba tokens and dense vectors, fused by reciprocal rank, with metadata filters.

Example::

    retriever = HybridRetriever(Index.open(Path("index")))
    hits = retriever.search("算力券怎么申请", top_k=10, filters=Filters(region="河北省"))
    hits[0].passage.section_path, hits[0].document.meta.title, hits[0].score
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .bm25 import document_frequency
from .embed import Embedder, make_embedder
from .index import Index
from .metadata import ARTICLE_NUMBER, DOC_NUMBER, QUOTED_TITLE
from .places import Gazetteer
from .relevance import ASKS_SANCTION, STATES_PENALTY, QueryTerms, SentenceScorer, named_years
from .store import StoredDocument, StoredPassage
from .synonyms import expansions
from .tokenize import Tokenizer

# A question that names the State Council or a national ministry alongside a place compares them.
_NATIONAL = re.compile(r"国务院|国办|国家|全国|中央|财政部|人社部|人力资源社会保障部|税务总局")
# A document's name unquoted before an article of it: "个人所得税法第六条".
_UNQUOTED_NAME = re.compile(r"([\u4e00-\u9fa5]{4,30}?(?:法|条例|办法|规定|细则))(?=" + ARTICLE_NUMBER.pattern + ")")
_MOST_NAMED = 5  # documents one quoted title may name (the Markdown and PDF copies, their 解读 …)
_OPENING = 3  # passages of a named document that stand for it when no article of it is named
# A rule's own article ("第三条") and where a penalty clause points back at it ("违反本规定第三条规定",
# "违反本条例第十三条第一款、第十六条……规定"); and what a penalty clause does.
_ARTICLE_LABEL = re.compile(r"^第[一二三四五六七八九十百零〇\d]+条$")
_BREACH = re.compile(r"违反(?:本(?:条例|规定|办法|细则|决定))?[^，,。；;：:]{0,80}?规定")
_RULES_FOLLOWED = 5  # the leading hits whose penalty clauses are looked up (3 left d021 refused on the full corpus)
_BRACKETS = str.maketrans({"[": "〔", "［": "〔", "【": "〔", "(": "〔", "（": "〔",
                           "]": "〕", "］": "〕", "】": "〕", ")": "〕", "）": "〕"})


def named_articles(query: str) -> list[str]:
    """The articles ``query`` names: ["第二十二条"] of "穗府办规〔2024〕13号第二十二条怎么规定的"."""
    return ARTICLE_NUMBER.findall(query)


def normal_doc_number(text: str) -> str:
    """One spelling of a 文号: no spaces, 〔〕 brackets, no 第 before the number
    ("京政数发[2025] 第12号" -> "京政数发〔2025〕12号")."""
    return re.sub(r"〕第", "〕", re.sub(r"\s+", "", text).translate(_BRACKETS))


# A piece of a multi-word written form is searched only when rarer than this share of passages:
# 非现场消费 should bring 非现场 along, not 消费 and every consumption-tax passage with it.
_RARE_PIECE = 0.005


class FilterError(ValueError):
    """A filter expression the user typed is malformed; the message shows the accepted form."""


FILTER_KEYS = ("region", "issuer", "kind", "date_from", "date_to", "in_force", "source")


@dataclass(frozen=True)
class Filters:
    """Metadata conditions a passage's document must meet. Empty fields do not filter.

    ``region``/``issuer``/``kind`` match by substring (issuer "北京市" matches every Beijing bureau);
    dates compare ISO strings, so a partial date "2024" works as a bound.
    """

    region: str = ""
    issuer: str = ""
    kind: str = ""
    date_from: str = ""
    date_to: str = ""
    in_force: bool | None = None
    source: str = ""

    @classmethod
    def parse(cls, expressions: Sequence[str]) -> Filters:
        """From CLI-style ``key=value`` strings: ``region=北京市``, ``in_force=true``, ``date_from=2020``."""
        values: dict[str, object] = {}
        for expression in expressions:
            key, sep, value = expression.partition("=")
            key = key.strip()
            if not sep or key not in FILTER_KEYS:
                raise FilterError(f"bad filter '{expression}'; use KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
            if key == "in_force":
                lowered = value.strip().lower()
                if lowered not in ("true", "false", "1", "0", "yes", "no"):
                    raise FilterError(f"bad filter '{expression}'; in_force takes true or false")
                values[key] = lowered in ("true", "1", "yes")
            else:
                values[key] = value.strip()
        return cls(**values)  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        return any((self.region, self.issuer, self.kind, self.date_from, self.date_to, self.in_force is not None,
                    self.source))

    def accepts(self, document: StoredDocument, today: date | None = None) -> bool:
        meta = document.meta
        if self.region and self.region not in meta.region:
            return False
        if self.issuer and self.issuer not in meta.issuer:
            return False
        if self.kind and self.kind not in meta.kind:
            return False
        if self.source and not document.source.startswith(self.source):
            return False
        when = meta.date or meta.publish_date or meta.effective_date
        if self.date_from and (not when or when < self.date_from):
            return False
        if self.date_to and (not when or when[: len(self.date_to)] > self.date_to):
            return False
        if self.in_force is not None and meta.in_force(today) != self.in_force:
            return False
        return True


@dataclass
class Hit:
    """One retrieved passage with its document, fused score and the rank each retriever gave it."""

    passage: StoredPassage
    document: StoredDocument
    score: float
    ranks: dict[str, int] = field(default_factory=dict)

    def to_dict(self, today: date | None = None) -> dict[str, object]:
        """The ``passages`` entry of the answer JSON."""
        meta = self.document.meta
        return {
            "source": self.document.source,
            "title": meta.title,
            "doc_number": meta.doc_number,
            "issuer": meta.issuer,
            "section_path": list(self.passage.section_path),
            "pages": list(self.passage.pages),
            "date": meta.date,
            "in_force": meta.in_force(today),
            "expiry_date": meta.expiry_date,
            "text": self.passage.text,
            "char_start": self.passage.char_start,
            "char_end": self.passage.char_end,
            "score": round(self.score, 6),
        }


@dataclass
class HybridRetriever:
    """BM25 + dense retrieval fused by weighted reciprocal rank (see the module docstring)."""

    index: Index
    embedder: Embedder | None = None
    candidates: int = 100
    rrf_k: int = 60
    # Measured on the dev set (README, "Retrieval"): dense vectors find the paraphrased questions,
    # BM25 at a lower weight adds the exact terms (文号, place names, 条 numbers) without drowning them.
    weights: dict[str, float] = field(default_factory=lambda: {"bm25": 0.3, "dense": 1.0})
    place_boost: float = 1.5  # passages of a document about a place the question names
    named_boost: float = 3.0  # passages of a document the question names by its 文号 or 《title》
    demote: bool = True  # other places' local rules after everything else (see demote_other_places)
    year_boost: float = 1.2  # passages of a document whose title names a year the question names
    rerank_depth: int = 30  # fused candidates the rerank stage reorders
    rerank_weight: float = 0.3  # weight of the best sentence's relevance against the fused score
    # ... when only BM25 ranks (an index without vectors, or dense weighed 0): its rank alone says
    # less than BM25 and dense fused, so the sentence relevance weighs more (README, "Retrieval").
    lexical_rerank_weight: float = 0.5
    # A question that names no place is asked where national rules apply everywhere: of two
    # passages that answer about as well, the national law's comes before a province's or a city's
    # (README, "Retrieval": 0.05 gained hit@1 on two question sets and lost nothing; 0.1 cost answers).
    national_prior: float = 0.05
    reranker: Any | None = None  # optional cross-encoder (embed.CrossEncoderReranker)
    tokenizer: Tokenizer = field(default_factory=Tokenizer)

    def __post_init__(self) -> None:
        if self.candidates <= 0:
            raise ValueError(f"candidates must be greater than 0; got {self.candidates}")
        if self.embedder is None and self.index.has_dense and self.index.embedder_name:
            self.embedder = make_embedder(self.index.embedder_name)
        self._vocab = self.index.bm25.vocab_dict
        self.gazetteer = Gazetteer.from_documents(self.index.documents.values())
        # Place and year -> positions of the documents they select, so a question's boost is a lookup.
        self._place_docs: dict[str, list[int]] = {}
        self._year_docs: dict[str, list[int]] = {}
        self._number_docs: dict[str, list[int]] = {}
        # Titles without spaces, by position: a title quoted in 《》 is looked up among them.
        self._titles = ["".join(self.index.documents[d].meta.title.split()) for d in self.index.doc_order]
        self._named_cache: dict[str, tuple[int, ...]] = {}
        for position, doc_id in enumerate(self.index.doc_order):
            number = self.index.documents[doc_id].meta.doc_number
            if number:
                self._number_docs.setdefault(normal_doc_number(number), []).append(position)
            for place in self.gazetteer.scope(doc_id):
                self._place_docs.setdefault(place, []).append(position)
            # Only a title's "2025年": a bare "2025北京市……" would boost every notice of a yearly series
            # (the twelfth and thirteenth question sets lost four answers to it).
            for year in named_years(self.index.documents[doc_id].meta.title):
                self._year_docs.setdefault(year, []).append(position)

    def named_documents(self, query: str) -> list[int]:
        """Positions (in ``index.doc_order``) of the documents ``query`` names by 文号 or by a title
        in 《》 (the quoted words found in the title: 《广州市公共租赁住房管理办法》 names the notice
        that issues it), or by a title unquoted before an article it names ("个人所得税法第六条"). A
        title of fewer than four characters (《意见》), or one found in more than ``_MOST_NAMED``
        titles (《实施意见》), names nothing."""
        named = self._named_cache.get(query)  # asked for several times per question
        if named is None:
            if len(self._named_cache) > 256:
                self._named_cache.clear()
            named = self._named_cache[query] = self._find_named(query)
        return list(named)

    def _find_named(self, query: str) -> tuple[int, ...]:
        named = [i for match in DOC_NUMBER.finditer(query)
                 for i in self._number_docs.get(normal_doc_number(match.group(0)), ())]
        for quoted in QUOTED_TITLE.findall(query):
            named += self._titled("".join(quoted.split()))
        # Unquoted before an article: "个人所得税法第六条", "按照劳动合同法第十四条" (the longest tail of
        # the words before 第 that is in a title).
        for before in _UNQUOTED_NAME.findall(query):
            for start in range(len(before) - 3):
                titled = self._titled(before[start:])
                if titled:
                    named += titled
                    break
        return tuple(dict.fromkeys(named))

    def missing_numbers(self, query: str, hits: Sequence[Hit]) -> list[str]:
        """The 文号 ``query`` names that no indexed document has and no retrieved passage quotes:
        "穗府办规〔2099〕99号第二条" asks about a document the collection does not hold."""
        missing = []
        for match in DOC_NUMBER.finditer(query):
            number = normal_doc_number(match.group(0))
            if number not in self._number_docs and not any(number in normal_doc_number(h.passage.text) for h in hits):
                missing.append(match.group(0))
        return missing

    def _titled(self, name: str) -> list[int]:
        """Positions of the documents whose title holds ``name``: those whose title ends with it
        when there are any (《劳动合同法》 is the law, not its 实施条例); none when more than
        ``_MOST_NAMED`` titles hold it (《实施意见》 is in hundreds)."""
        titled = [i for i, title in enumerate(self._titles) if name in title]
        exact = [i for i in titled if self._titles[i].endswith(name)]
        titled = exact or titled
        return titled if len(titled) <= _MOST_NAMED else []

    def _doc_weights(self, query: str) -> np.ndarray | None:
        """Per-document score multiplier: ``place_boost`` for documents about a place the query
        names, times ``year_boost`` for documents whose title names a year the query names, times
        ``named_boost`` for the documents it names (:meth:`named_documents`).

        A yearly report or notice ("2023年政府信息公开工作年度报告") differs from the next year's
        one by little more than its numbers, so the year the question asks about has to decide.
        """
        weights = None
        selected = (([i for place in self.gazetteer.places_in(query) for i in self._place_docs.get(place, ())],
                     self.place_boost),
                    ([i for year in named_years(query) for i in self._year_docs.get(year, ())], self.year_boost),
                    (self.named_documents(query), self.named_boost))
        for positions, boost in selected:
            if not positions or boost == 1.0:
                continue
            matches = np.zeros(len(self.index.doc_order), dtype=bool)
            matches[positions] = True
            weights = (1.0 if weights is None else weights) * np.where(matches, boost, 1.0)
        return weights

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask over BM25 positions, or None when nothing is filtered."""
        if not filters:
            return None
        allowed_docs = np.fromiter((filters.accepts(self.index.documents[d]) for d in self.index.doc_order),
                                   dtype=bool, count=len(self.index.doc_order))
        return allowed_docs[self.index.passage_docs]

    def _written_tokens(self, query: str) -> list[str]:
        """BM25 tokens of the documents' words for the query's spoken ones (养狗 -> 养犬): a word
        the index knows whole, or else those of its pieces that are rare in the index."""
        tokens: list[str] = []
        limit = _RARE_PIECE * max(self.index.bm25.scores["num_docs"], 1)
        for _, written in expansions(query):
            for form in written:
                if form in self._vocab:
                    tokens.append(form)
                    continue
                for piece in self.tokenizer.tokens(form):
                    piece_id = self._vocab.get(piece)
                    if piece_id is not None and document_frequency(self.index.bm25, piece_id) < limit:
                        tokens.append(piece)
        return tokens

    def bm25_ranking(self, query: str, mask: np.ndarray | None, doc_weights: np.ndarray | None = None) -> np.ndarray:
        """Positions of the best BM25 candidates, best first (only those with a positive score)."""
        tokens = [t for t in self.tokenizer.tokens(query) if t in self._vocab] + self._written_tokens(query)
        if not tokens:
            return np.zeros(0, dtype=np.int64)
        scores = self.index.bm25.get_scores(tokens)
        if doc_weights is not None:
            scores = scores * doc_weights[self.index.passage_docs]
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(self.candidates, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top[scores[top] > 0]

    def dense_ranking(self, query: str, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Passage ids of the nearest dense candidates, best first, and their similarities to the query."""
        nothing = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.index.dense is None or self.embedder is None:
            return nothing
        import faiss

        vector = self.embedder.embed_query(query)[None, :]
        params = None
        if mask is not None:
            allowed = self.index.positions[mask]
            if len(allowed) == 0:
                return nothing
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed.astype(np.int64)))
        k = min(self.candidates, self.index.dense.ntotal)
        similarities, ids = self.index.dense.search(vector, k, params=params)
        found = ids[0] >= 0
        return ids[0][found], similarities[0][found]

    def search(self, query: str, top_k: int = 10, filters: Filters | None = None) -> list[Hit]:
        return self.search_with_nearest(query, top_k, filters)[0]

    def search_with_nearest(self, query: str, top_k: int = 10,
                            filters: Filters | None = None) -> tuple[list[Hit], float | None]:
        """:meth:`search`, and the dense similarity of the passage nearest to the query (None
        without dense vectors): how close the question comes to anything in the collection."""
        if top_k <= 0:
            raise ValueError(f"top_k must be greater than 0; got {top_k}")
        mask = self._mask(filters)
        doc_weights = self._doc_weights(query)
        empty = np.zeros(0, dtype=np.int64)
        bm25_ids = (self.index.positions[self.bm25_ranking(query, mask, doc_weights)]
                    if self.weights.get("bm25", 1.0) else empty)
        dense_ids, similarities = (self.dense_ranking(query, mask) if self.weights.get("dense", 1.0)
                                   else (empty, np.zeros(0, dtype=np.float32)))
        nearest = float(similarities[0]) if len(similarities) else None
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        for name, ids in (("bm25", bm25_ids), ("dense", dense_ids)):
            weight = self.weights.get(name, 1.0)
            for rank, pid in enumerate(ids.tolist(), start=1):
                fused[pid] = fused.get(pid, 0.0) + weight / (self.rrf_k + rank)
                ranks.setdefault(pid, {})[name] = rank
        if doc_weights is not None and fused:
            passage_docs = self.index.passage_docs[np.searchsorted(self.index.positions, list(fused))]
            for pid, doc in zip(list(fused), passage_docs.tolist()):
                fused[pid] *= float(doc_weights[doc])
        best = sorted(fused, key=lambda pid: -fused[pid])[: max(top_k, self.rerank_depth)]
        passages = self.index.store.passages(best)
        hits = [Hit(p, self.index.documents[p.doc_id], fused[p.id], ranks[p.id]) for p in passages]
        hits = self.follow_penalties(query, self.rerank(query, hits))
        hits = self.cover_places(query, self.demote_other_places(query, hits))
        return self.lead_with_named(query, hits, filters)[:top_k], nearest

    def lead_with_named(self, query: str, hits: list[Hit], filters: Filters | None = None) -> list[Hit]:
        """A document the question names by its 文号 or 《title》 comes first: the article the
        question names in it ("穗府办规〔2024〕13号第二十二条怎么规定的"), or else the passages of it
        that retrieval found, completed by its opening ones (its words may not be the question's:
        "……的主要内容"). They are fetched from the document if retrieval did not bring them."""
        named = self.named_documents(query)
        if not named:
            return hits
        articles = set(named_articles(query))
        leaders: list[Hit] = []
        for position in named:
            document = self.index.documents[self.index.doc_order[position]]
            if filters and not filters.accepts(document):
                continue
            passages = self.index.store.passages_of(document.doc_id)
            if articles:
                chosen = [p for p in passages if articles & set(p.section_path)]
            else:  # what retrieval found of it, then its opening, up to _OPENING passages
                found = [h.passage for h in hits if h.document.doc_id == document.doc_id]
                chosen = found + [p for p in passages if p not in found][: max(0, _OPENING - len(found))]
            for passage in chosen:
                hit = next((h for h in hits if h.passage.id == passage.id), None)
                leaders.append(hit or Hit(passage, document, 0.0, {}))
        if not leaders:
            return hits
        top = max((h.score for h in hits), default=0.0)
        for leader in leaders:
            leader.score = max(leader.score, top)
        return leaders + [h for h in hits if h not in leaders]

    def follow_penalties(self, query: str, hits: list[Hit]) -> list[Hit]:
        """For a question about what happens to someone who breaks a rule ("私家车喷成出租车的颜色……
        会怎么处罚"), put the article that punishes it ("违反本规定第三条规定……没收其车辆……罚款")
        before the rule itself ("第三条 ……禁止对其他汽车喷涂客运出租汽车专用车身颜色"): the rule
        shares the question's words, the penalty answers it."""
        if not ASKS_SANCTION.search(query):  # not ASKS_PENALTY: "信息变了又怎么办" asks what to do
            return hits
        penalties: dict[str, list[StoredPassage]] = {}  # a document's penalty clauses, read once
        for rule in list(hits[:_RULES_FOLLOWED]):
            label = rule.passage.section_path[-1] if rule.passage.section_path else ""
            if not _ARTICLE_LABEL.match(label) or STATES_PENALTY.search(rule.passage.text):
                continue
            doc_id = rule.document.doc_id
            if doc_id not in penalties:
                penalties[doc_id] = [p for p in self.index.store.passages_of(doc_id) if STATES_PENALTY.search(p.text)]
            penalty = next((p for p in penalties[doc_id]
                            if any(label in m.group(0) for m in _BREACH.finditer(p.text))), None)
            if penalty is None:
                continue
            hit = next((h for h in hits if h.passage.id == penalty.id), None)
            if hit is not None and hits.index(hit) < hits.index(rule):
                continue  # already ahead of the rule
            if hit is None:
                hit = Hit(penalty, rule.document, rule.score, {})
            else:
                hits.remove(hit)
            hit.score = max(hit.score, rule.score)
            hits.insert(hits.index(rule), hit)
        return hits

    def nearest_similarity(self, text: str) -> float | None:
        """The dense similarity of the passage nearest to ``text``; None without dense vectors."""
        similarities = self.dense_ranking(text, None)[1]
        return float(similarities[0]) if len(similarities) else None

    def demote_other_places(self, query: str, hits: list[Hit]) -> list[Hit]:
        """Put local rules of places the question does not ask about after everything else: the
        Zhengzhou question's best words may be in 三门峡's regulation, but that is not its answer."""
        asked = self.gazetteer.places_in(query)
        if not asked or not self.demote:
            return hits
        elsewhere = [h for h in hits if h.document.meta.region != "national"
                     and self.gazetteer.document_places.get(h.document.doc_id)
                     and not self.gazetteer.about(h.document.doc_id, asked)]
        return [h for h in hits if h not in elsewhere] + elsewhere

    def cover_places(self, query: str, hits: list[Hit]) -> list[Hit]:
        """A question that names two or more places ("北京和上海对献血者……有什么不一样"), or a place and
        the State Council ("国务院的若干意见和广安市的实施办法"), compares them: put the best passage of
        each side at the top, so that every side is in view."""
        sides: list[str | None] = sorted(self.gazetteer.places_in(query, with_provinces=False))
        if sides and _NATIONAL.search(query):
            sides.append(None)  # the national side: documents whose region is national
        if len(sides) < 2:
            return hits
        leaders: list[Hit] = []
        for side in sides:
            best = next((h for h in hits if (h.document.meta.region == "national" if side is None
                                             else side in self.gazetteer.document_places.get(h.document.doc_id, set()))),
                        None)
            if best is not None and best not in leaders:
                leaders.append(best)
        leaders.sort(key=lambda h: -h.score)
        return leaders + [h for h in hits if h not in leaders]

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """Reorder fused candidates: by a cross-encoder when configured, else by their best sentence.

        The lexical rerank adds to each candidate's normalised fused score the relevance of its
        best sentence (:class:`~assistant.relevance.SentenceScorer`), which knows what kind of fact
        the question asks for: the passage that states the amount beats one that only names the topic.
        A question that names no place puts national documents a little ahead (``national_prior``).
        """
        if not hits:
            return hits
        if self.reranker is not None:
            scores = self.reranker.score(query, [h.passage.text for h in hits])
            for hit, score in zip(hits, scores):
                hit.score = float(score)
            return sorted(hits, key=lambda h: -h.score)
        dense = self.index.dense is not None and self.embedder is not None and self.weights.get("dense", 1.0) > 0
        weight = self.rerank_weight if dense else self.lexical_rerank_weight
        if weight <= 0:
            return hits
        scorer = SentenceScorer(QueryTerms(self.index, self.tokenizer, query), query)
        top = max(h.score for h in hits) or 1.0
        national = 0.0 if self.gazetteer.places_in(query) else self.national_prior
        for hit in hits:
            hit.score = hit.score / top + weight * scorer.passage_score(
                hit.passage.text, hit.passage.section_path, hit.document.meta.title)
            if hit.document.meta.region == "national":
                hit.score += national
        return sorted(hits, key=lambda h: -h.score)


class PolicyRetriever(BaseRetriever):
    """:class:`HybridRetriever` as a LlamaIndex ``BaseRetriever``, to compose with query engines.

    Each node carries the passage text, its citation metadata (``Hit.to_dict`` without the text),
    and the fused score.

    Example::

        retriever = PolicyRetriever(HybridRetriever(Index.open(Path("index"))), top_k=5)
        nodes = retriever.retrieve("算力券怎么申请")
        nodes[0].node.metadata["section_path"], nodes[0].score
    """

    def __init__(self, hybrid: HybridRetriever, top_k: int = 10, filters: Filters | None = None) -> None:
        super().__init__()
        self.hybrid = hybrid
        self.top_k = top_k
        self.filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        nodes = []
        for hit in self.hybrid.search(query_bundle.query_str, top_k=self.top_k, filters=self.filters):
            record = hit.to_dict()
            text = record.pop("text")
            node = TextNode(id_=f"passage-{hit.passage.id}", text=text, metadata=record)
            nodes.append(NodeWithScore(node=node, score=hit.score))
        return nodes
