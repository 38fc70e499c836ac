"""Answers with checked citations: the types, the extractive (offline) answerer, refusals.

An :class:`Answer` is what every front end shows: the text, its sentences with their ``[n]``
citations and whether each is supported by what it cites, the cited passages, and all retrieved
passages. The JSON form (:meth:`Answer.to_dict`) is the one documented in the README.

The extractive answerer needs no language model. It splits the best passages into sentences,
scores each by the question's key terms (weighted by rarity) and by what kind of fact the question
asks for (an amount, a deadline, a condition, a procedure, who is responsible), keeps the best
few, orders them by document and position, and writes them out verbatim, each with its citation.

Example::

    answer = ExtractiveAnswerer(index).answer("上海垃圾分几类", hits)
    print(answer.answer)      # 根据……《上海市生活垃圾管理条例》第四条规定：……[1]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .index import Index
from .retrieve import Hit
from .tokenize import Tokenizer

EXTRACTIVE_NOTE = "（以上内容由系统从文件原文中摘录组成，未使用大语言模型，请以原文为准。）"
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?[”’」』）)]*")
_CLAUSE = re.compile(r"[^；;]+[；;]?")
_LONG_SENTENCE = 160  # split a longer sentence at ；: list items; a shorter one keeps its subject
_CITATION = re.compile(r"\[(\d{1,3})\]")

# What kind of fact a question asks for, and the words of sentences that state that kind of fact.
_CUES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (re.compile(r"多少钱|多少|几[元万块]|金额|补贴|补助|奖励|罚|费|标准|比例|额度|封顶|最高|最多|上限"),
     re.compile(r"\d+(?:\.\d+)?\s*(?:%|元|万元|亿元)|[一二三四五六七八九十百千万]+元|百分之|倍|比例|标准|不超过|最高")),
    (re.compile(r"多久|多长时间|几天|期限|时限|什么时候|何时|哪天|日期|时间|期间|几个月|几年|多少天|截止"),
     re.compile(r"\d+\s*(?:个?工作日|日|天|个月|年|小时)|[一二三四五六七八九十]+(?:个?工作日|日|天|个月|年)|之日起|以内|期限|届满|至\d")),
    (re.compile(r"条件|能不能|能否|可以|可不可以|是否|资格|符合|要求|算不算|允许|合法|行不行|有没有资格|能用|能领"),
     re.compile(r"应当|须|必须|具备|符合|年满|以上|以下|不得|可以|禁止|条件|属于|视为")),
    (re.compile(r"怎么|如何|流程|步骤|程序|手续|申请|办理|材料|报批|环节|哪些环节|去哪"),
     re.compile(r"申请|提交|提出|受理|审核|审查|材料|办理|登记|报送|公示|核准|备案|复核|程序")),
    (re.compile(r"谁|哪个部门|哪家|哪个单位|什么单位|机构|部门|负责"),
     re.compile(r"负责|部门|机构|中心|主管|委员会|局|办公室")),
    (re.compile(r"哪些|哪几|分几|几类|几种|包括|有什么"),
     re.compile(r"包括|分为|以下|下列|等|、")),
]


@dataclass
class Sentence:
    """One answer sentence, the citation numbers it carries, and whether they support it."""

    text: str
    citations: list[int] = field(default_factory=list)
    supported: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": self.citations, "supported": self.supported}


@dataclass
class Answer:
    """An answer to one question; :meth:`to_dict` is the JSON of ``--json`` and ``POST /api/ask``."""

    question: str
    answer: str
    mode: str
    refused: bool
    sentences: list[Sentence]
    citations: list[tuple[int, Hit]]
    passages: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    id: str | None = None
    query: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self, today: date | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "mode": self.mode,
            "refused": self.refused,
            "sentences": [s.to_dict() for s in self.sentences],
            "citations": [{"n": n, **hit.to_dict(today)} for n, hit in self.citations],
            "passages": [hit.to_dict(today) for hit in self.passages],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "warnings": self.warnings,
        }


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``: split at 。！？ and line ends, and a long
    sentence also at ；, so that "……的；拒不改正的，处……罚款" keeps the clause it depends on."""
    spans = []
    for match in _SENTENCE.finditer(text):
        parts = [match.span()]
        if match.end() - match.start() > _LONG_SENTENCE:
            parts = [(m.start(), m.end()) for m in _CLAUSE.finditer(text, match.start(), match.end())]
        for start, end in parts:
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end - start >= 2:
                spans.append((start, end))
    return spans


def expiry_note(hit: Hit, today: date | None = None) -> str:
    """'（该文件已于2023-12-31失效）' for a citation of a document no longer in force, else ''."""
    meta = hit.document.meta
    if meta.in_force(today):
        return ""
    if meta.expiry_date:
        return f"（该文件已于{meta.expiry_date}失效）"
    return "（该文件已废止或失效）"


def _number(hit: Hit) -> str:
    return f"（{hit.document.meta.doc_number}）" if hit.document.meta.doc_number else ""


def _section_label(hit: Hit) -> str:
    """The innermost heading of a passage, short enough to stand before a quoted sentence."""
    path = hit.passage.section_path
    if not path:
        return ""
    label = path[-1]
    return label if len(label) <= 24 else ""


class QueryTerms:
    """The question's terms with rarity weights (BM25 IDF from the index)."""

    def __init__(self, index: Index, tokenizer: Tokenizer, query: str) -> None:
        vocab = index.bm25.vocab_dict
        indptr = index.bm25.scores["indptr"]
        n_docs = max(index.bm25.scores["num_docs"], 1)
        self.weights: dict[str, float] = {}
        for token in dict.fromkeys(tokenizer.tokens(query)):
            token_id = vocab.get(token)
            df = int(indptr[token_id + 1] - indptr[token_id]) if token_id is not None else 0
            # A term the corpus never uses still matters to the user: weight it as rare.
            self.weights[token] = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        self.total = sum(self.weights.values()) or 1.0

    def coverage(self, text: str) -> float:
        """Share of the query's weight whose terms occur in ``text`` (0..1)."""
        return sum(w for t, w in self.weights.items() if t in text) / self.total


def evidence_strength(terms: QueryTerms, hits: Sequence[Hit]) -> float:
    """How well the best passages cover the question: the refusal test's input (0..1)."""
    best = 0.0
    for hit in hits[:5]:
        context = " ".join((hit.document.meta.title, " ".join(hit.passage.section_path), hit.passage.text)).lower()
        best = max(best, terms.coverage(context))
    return best


def refusal_text(hits: Sequence[Hit]) -> str:
    """The answer when the documents do not cover the question: say so, name the nearest, say whom to ask."""
    seen: list[Hit] = []
    for hit in hits:
        if all(h.document.doc_id != hit.document.doc_id for h in seen):
            seen.append(hit)
        if len(seen) == 3:
            break
    text = "知识库中的文件没有涉及这个问题，无法根据现有文件作答。"
    if seen:
        names = "、".join(f"《{h.document.meta.title}》" for h in seen)
        text += f"最接近的文件是{names}，但其中没有找到能回答该问题的内容。"
        issuers = list(dict.fromkeys(h.document.meta.issuer for h in seen if h.document.meta.issuer))
        if issuers:
            text += f"建议向{'、'.join(issuers[:2])}等主管部门咨询，或拨打12345政务服务便民热线。"
            return text
    return text + "建议向相关主管部门咨询，或拨打12345政务服务便民热线。"


@dataclass
class ExtractiveAnswerer:
    """Composes an answer from the retrieved passages' own sentences (see the module docstring)."""

    index: Index
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    max_sentences: int = 6
    max_passages: int = 6
    min_relative: float = 0.45  # keep sentences scoring at least this share of the best one
    mode: str = "extractive"

    def select(self, question: str, hits: Sequence[Hit]) -> list[tuple[Hit, int, int, float]]:
        """The sentences to answer with: (hit, start, end, score), in reading order."""
        terms = QueryTerms(self.index, self.tokenizer, question)
        cues = [wanted for asks, wanted in _CUES if asks.search(question)]
        candidates: list[tuple[float, int, Hit, int, int]] = []
        for rank, hit in enumerate(hits[: self.max_passages]):
            text = hit.passage.text
            path_cover = terms.coverage(" ".join(hit.passage.section_path).lower())
            prior = 1.0 / (1.0 + 0.35 * rank)
            for start, end in split_sentences(text):
                sentence = text[start:end]
                lowered = sentence.lower()
                score = terms.coverage(lowered) + 0.3 * path_cover
                score += sum(0.25 for wanted in cues if wanted.search(sentence))
                if len(sentence) < 8:
                    score *= 0.5  # a bare heading or list marker says little on its own
                candidates.append((score * prior, rank, hit, start, end))
        if not candidates:
            return []
        best = max(c[0] for c in candidates)
        chosen = sorted((c for c in candidates if c[0] >= best * self.min_relative), key=lambda c: -c[0])
        chosen = chosen[: self.max_sentences]
        chosen = self._complete_lists(chosen, candidates)
        doc_order: dict[str, int] = {}
        for c in sorted(chosen, key=lambda c: c[1]):
            doc_order.setdefault(c[2].document.doc_id, len(doc_order))
        chosen.sort(key=lambda c: (doc_order[c[2].document.doc_id], c[2].passage.ordinal, c[3]))
        return [(hit, start, end, score) for score, _, hit, start, end in chosen]

    def _complete_lists(self, chosen: list, candidates: list) -> list:
        """A chosen sentence that ends in '：' introduces a list: bring its first items along."""
        picked = {(c[2].passage.id, c[3]) for c in chosen}
        extra = []
        for score, rank, hit, start, end in chosen:
            if not hit.passage.text[start:end].rstrip().endswith(("：", ":")):
                continue
            following = [c for c in candidates if c[2].passage.id == hit.passage.id and c[3] > start]
            for c in sorted(following, key=lambda c: c[3])[:4]:
                if (c[2].passage.id, c[3]) not in picked:
                    picked.add((c[2].passage.id, c[3]))
                    extra.append(c)
        return chosen + extra

    def answer(self, question: str, hits: Sequence[Hit], today: date | None = None) -> Answer:
        selected = self.select(question, hits)
        numbers: dict[int, int] = {}
        citations: list[tuple[int, Hit]] = []
        sentences: list[Sentence] = []
        lines: list[str] = ["根据知识库中的文件，相关规定如下："]
        current_doc = None
        last_label = ""
        for hit, start, end, _ in selected:
            if hit.passage.id not in numbers:
                numbers[hit.passage.id] = len(numbers) + 1
                citations.append((numbers[hit.passage.id], hit))
            n = numbers[hit.passage.id]
            text = hit.passage.text[start:end].strip()
            if hit.document.doc_id != current_doc:
                current_doc = hit.document.doc_id
                lines.append(f"\n《{hit.document.meta.title}》{_number(hit)}{expiry_note(hit, today)}：")
                last_label = ""
            label = _section_label(hit)
            prefix = f"{label}：" if label and label != last_label and not text.startswith(label) else ""
            last_label = label
            sentences.append(Sentence(text=text, citations=[n], supported=True))
            lines.append(f"- {prefix}{text}[{n}]")
        body = "\n".join(lines) + "\n\n" + EXTRACTIVE_NOTE
        return Answer(question=question, answer=body, mode=self.mode, refused=False, sentences=sentences,
                      citations=citations, passages=list(hits))

    def stream(self, question: str, hits: Sequence[Hit], today: date | None = None) -> Iterator[str | Answer]:
        """Yields the answer text in pieces, then the :class:`Answer` (same interface as the LLM answerer)."""
        answer = self.answer(question, hits, today)
        for line in answer.answer.splitlines(keepends=True):
            yield line
        yield answer


def citation_numbers(text: str) -> list[int]:
    return [int(n) for n in _CITATION.findall(text)]

