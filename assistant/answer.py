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

import re
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .index import Index
from .relevance import (
    ASKS_PENALTY,
    Matcher,
    QueryTerms,
    SentenceScorer,
    asked_kinds,
    asks_beyond_quantity,
    issue_years,
    named_editions,
    named_years,
    split_sentences,
    states_contact,
    states_quantity,
    states_time,
    title_years,
    without_fines,
    wraps_document,
)
from .retrieve import Hit, normal_doc_number
from .structure import TABLE_ROW
from .tokenize import Tokenizer

EXTRACTIVE_NOTE = "（以上内容由系统从文件原文中摘录组成，未使用大语言模型，请以原文为准。）"

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
            "query": self.query or self.question,
            "answer": self.answer,
            "mode": self.mode,
            "refused": self.refused,
            "sentences": [s.to_dict() for s in self.sentences],
            "citations": [{"n": n, **hit.to_dict(today)} for n, hit in self.citations],
            "passages": [hit.to_dict(today) for hit in self.passages],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "warnings": self.warnings,
        }


def book_title(title: str) -> str:
    """The title between 《》, unless it already is one book title: '《X》' stays, 'X' -> '《X》'.

    A book title inside it takes the single marks 〈〉, as GB/T 15834 writes nested titles:
    '《意见》政策解读' -> '《〈意见〉政策解读》', not '《《意见》政策解读》'.
    """
    title = (title or "").strip() or "（无标题）"
    if title.startswith("《") and title.endswith("》") and title.count("《") == 1:
        return title
    return "《" + title.replace("《", "〈").replace("》", "〉") + "》"


def page_label(pages: Sequence[int]) -> str:
    """A passage's PDF pages as a reader cites them: '第3页', '第3-5页', or '' when it has none."""
    if not pages:
        return ""
    return f"第{pages[0]}页" if pages[0] == pages[-1] else f"第{pages[0]}-{pages[-1]}页"


def expiry_note(hit: Hit, today: date | None = None) -> str:
    """'（该文件已于2023-12-31失效）' for a citation of a document no longer in force, else ''."""
    meta = hit.document.meta
    if meta.in_force(today):
        return ""
    if meta.expiry_date:
        return f"（该文件已于{meta.expiry_date}失效）"
    return "（该文件已废止或失效）"


def _introduces(hit: Hit, sentence: str, start: int) -> bool:
    """Whether ``sentence`` announces what follows it: a '：' lead-in, or the section heading."""
    sentence = sentence.rstrip()
    if sentence.endswith(("：", ":")):
        return True
    label = hit.passage.section_path[-1] if hit.passage.section_path else ""
    heading = start == 0 and bool(label) and sentence.startswith(label.rstrip("…")[:8])
    return heading or (start == 0 and sentence.endswith(("？", "?")))


# "第十一条：16. " or "（三）" before the words: not part of what is said.
_LIST_MARKER = re.compile(r"^(?:第[一二三四五六七八九十百\d]+条[：:]?)?"
                          r"(?:[（(][一二三四五六七八九十\d]{1,3}[）)]|[一二三四五六七八九十\d]{1,3}[、.．](?!\d))?")


def _number(hit: Hit) -> str:
    return f"（{hit.document.meta.doc_number}）" if hit.document.meta.doc_number else ""


def _section_label(hit: Hit) -> str:
    """The innermost heading of a passage, short enough to stand before a quoted sentence."""
    path = hit.passage.section_path
    if not path:
        return ""
    label = path[-1]
    return label if len(label) <= 24 else ""


# A heading inside a passage, as a sentence of its own: "（一）申报条件与要求", "（五）巩固全科继续医学教育。"
# (the heading run into its paragraph), "二、申报说明". Its enumerator, then a few words without a pause.
_ENUMERATOR = re.compile(r"(?:[（(][一二三四五六七八九十]{1,3}[）)]|[一二三四五六七八九十]{1,3}、|第[一二三四五六七八九十百]+([章节]))")
_HEADING_WORDS = re.compile(r"[^，,；;：:。！？!?]{1,24}。?")


def _enumerator_kind(sentence: str) -> str:
    """'（）', '、', '章' or '节': the kind of enumerator ``sentence`` starts with; '' for none."""
    match = _ENUMERATOR.match(sentence)
    if not match:
        return ""
    return "（）" if sentence[0] in "（(" else match.group(1) or "、"


def inner_headings(text: str) -> dict[int, str]:
    """The headings inside a passage's text, by where they start: an enumerator and a few words
    without a pause, not an item of a list. "（三）其他材料" after "（二）身份证明；" is an item: a
    heading's neighbours are its section's text, not more of its own kind.

    Example::

        inner_headings("二、申报说明\n（一）申报条件\n1.依法设立的企业。")   # {0: '二、申报说明', 7: '（一）申报条件'}
        inner_headings("应提交：\n（一）申请书；\n（二）身份证明")           # {}
    """
    spans = split_sentences(text)
    kinds = [_enumerator_kind(text[s:e]) for s, e in spans]
    found: dict[int, str] = {}
    for i, ((start, end), kind) in enumerate(zip(spans, kinds)):
        neighbours = (kinds[i - 1] if i else "", kinds[i + 1] if i + 1 < len(kinds) else "")
        enumerator = _ENUMERATOR.match(text, start, end)
        if kind and kind not in neighbours and enumerator and _HEADING_WORDS.fullmatch(text, enumerator.end(), end):
            found[start] = text[start:end].rstrip("。")
    return found


_ITEM = re.compile(r"\d{1,2}[.．、]|[（(]\d{1,2}[）)]")


def _run_in(label: str, text: str) -> str:
    """``text`` as shown under its heading ``label``: a heading run into its text without a stop
    ("三、加大科技型企业培育后扶持11.对新认定的……") gets one ("……扶持：11.对新认定的……")."""
    rest = text[len(label):]
    if not (label and rest and text.startswith(label)) or rest[0] in "，,。：:；;？?、 　（(":
        return text
    if _ITEM.match(label) and _ITEM.match(rest):  # "1.……流程2.……协议": items of a list run together
        return text
    return f"{label}：{rest}"


def _heading_over(headings: dict[int, str], start: int) -> int | None:
    """Where the nearest of ``headings`` at or before ``start`` begins; None when there is none."""
    return max((h for h in headings if h <= start), default=None)


def _labels(hit: Hit, inner: dict[int, str], start: int) -> tuple[str, str]:
    """What the sentence at ``start`` of ``hit``'s passage stands under: the section's heading
    (:func:`_section_label`), and the heading inside the passage above it (``inner``: of
    :meth:`ExtractiveAnswerer._headings`), or '' when there is none, it is the section's own
    heading, or the sentence is its sibling ("（十五）……" after the heading "（十三）……")."""
    section = _section_label(hit)
    over = _heading_over(inner, start)
    path = hit.passage.section_path
    if (over is None or over == start or inner[over] == (path[-1] if path else "").rstrip("。")
            or _enumerator_kind(hit.passage.text[start:]) == _enumerator_kind(inner[over])):  # (十五) is not under (十三)
        return section, ""
    return section, inner[over]


# A question using a policy term no indexed document uses keeps this share of its evidence strength:
# the rest of its words may match well, but its subject is not in the documents.
MISSING_TERM_FACTOR = 0.5


def about_other_years(hit: Hit, years: set[str], issued: AbstractSet[str] = frozenset()) -> bool:
    """Whether ``hit``'s document is about another time than all of ``years`` (the years a question
    names): its title names other years ("关于2019年部分节假日安排的通知" for a 2020 question), or it
    expired before them (a 2014–2016 tax relief for someone discharged in 2020). A document issued
    in a year of ``issued`` (those the question dates a document by, :func:`issue_years`) is the one
    asked about, whatever year its title names."""
    if not years:
        return False
    meta = hit.document.meta
    if issued and {meta.date[:4], meta.publish_date[:4]} & issued:
        return False
    titled = title_years(meta.title)
    if titled and not titled & years:
        return True
    return bool(meta.expiry_date) and meta.expiry_date[:4] < min(years)


def about_other_editions(hit: Hit, editions: set[str]) -> bool:
    """Whether ``hit``'s document is about another edition than all of ``editions`` (those a question
    names): the rewards for the 14th provincial games do not answer what the 15th will pay."""
    titled = named_editions(hit.document.meta.title)
    return bool(editions) and bool(titled) and not titled & editions


def evidence_strength(terms: QueryTerms, hits: Sequence[Hit], question: str = "") -> float:
    """How well one retrieved sentence, read with its document title and section, covers the
    question (0..1): the refusal test's input.

    A question that asks for a quantity (多少, 几项, 多久 …) is only covered by a sentence that
    states one: "考评以响应率、解决率、满意率为核心内容" mentions every word of "三项各占多大权重"
    but answers nothing; one asking a count in a unit of its own (多少项) needs that unit stated.
    The number of an article ("第三十一条") states no quantity. A question that asks besides who
    does it, where, or with what papers ("上牌要在多少天内去办？去哪办、带什么？") is covered as well
    by a sentence answering that part (:func:`~assistant.relevance.asks_beyond_quantity`).
    A count or a sum may also be stated by a row of a table that came out as text ("本年新收政府信息
    公开申请数量 95 0 0 0 0 0 95" states 件 without writing it). One asking when ("报名截止到哪天")
    needs a date or a period (or a time of day, for 几点); one asking both a quantity and a time
    ("超过多少分贝算超标？夜间从几点算起？") is covered by a sentence stating either. One asking for a telephone number
    or a website needs one (:func:`~assistant.relevance.states_contact`). The sum of a fine ("……的，处五百元
    罚款") answers only a question about penalties, not what registering costs.
    A question naming a year is not covered by a document about other years
    (:func:`about_other_years`) unless the sentence itself names the year; nor is one naming an
    edition (第十五届, 十五运) or a batch (第六批) by a document about another (:func:`about_other_editions`).
    A question using a policy term that no indexed document uses ("数电发票") asks about
    something the documents do not cover: whatever else matches, its strength is halved.
    """
    contact = states_contact(question)
    counted = states_quantity(question)
    when = states_time(question)
    quantity = contact or counted or when
    if contact is None and asks_beyond_quantity(question):
        counted = quantity = None  # a sentence answering the other part covers the question too
    counts = quantity is counted is not None  # a count or sum, which a table row's cells may state
    if counts and when is not None:
        # "超过多少分贝算超标？夜间从几点算起？" asks both: a sentence answering either covers it.
        quantity = re.compile(f"(?:{counted.pattern})|(?:{when.pattern})")

    def states(text: str) -> bool:
        return quantity is None or bool(quantity.search(text)) or bool(counts and TABLE_ROW.search(text))

    # A fine states an amount, but not the one a question about fees, prices or subsidies asks for.
    fines_count = bool(ASKS_PENALTY.search(question))
    years = named_years(question)
    issued = issue_years(question)
    editions = named_editions(question)
    best = 0.0
    for hit in hits[:5]:
        # The 文号 as well, when the question names the document by it ("国办发〔2019〕6号的主要内容").
        number = hit.document.meta.doc_number
        named = bool(number) and normal_doc_number(number) in normal_doc_number(question)
        context = " ".join((hit.document.meta.title, number if named else "", *hit.passage.section_path)).lower()
        text = hit.passage.text
        other_time = about_other_years(hit, years, issued) or about_other_editions(hit, editions)
        for start, end in split_sentences(text):
            sentence = text[start:end]
            if not states(sentence) or wraps_document(sentence, hit.document.meta.title):
                continue
            if not fines_count and not states(without_fines(sentence)):
                continue  # the only amount it states is a fine's
            if other_time and not (named_years(sentence) & years or named_editions(sentence) & editions):
                continue
            best = max(best, terms.coverage(context + " " + sentence.lower()))
    return best * MISSING_TERM_FACTOR if terms.missing else best


def refusal_text(hits: Sequence[Hit], place: str = "", relevant: Sequence[Hit] | None = None,
                 off_topic: bool = False, departments: Sequence[str] | None = None,
                 numbers: Sequence[str] = ()) -> str:
    """The answer when the documents do not cover the question: say so, name the nearest, say whom to ask.

    ``place`` is the place the question names when every document found is another place's local
    rule: the answer says the collection has nothing for that place and sends the asker to its
    own departments. ``relevant`` are the hits whose issuers may be suggested (those of the asked
    place or national ones); by default all of them. ``off_topic``: the question is about nothing
    in the collection (红烧肉怎么做); the nearest documents are named as what the collection is
    about, and no issuer of theirs is suggested. ``departments``: whom to suggest asking, when the
    caller knows better than the documents' issuers (``PolicyAssistant.whom_to_ask``).
    ``numbers``: the 文号 the question names that no document of the collection has.
    """
    names = "、".join(book_title(h.document.meta.title) for h in distinct_documents(hits, 3))
    if off_topic:
        text = "这个问题不在知识库政策文件的范围内，无法作答。"
        if names:
            text += f"与之最接近的文件是{names}，内容与这个问题无关。"
        return text + ("本助手根据政策文件回答申请条件、补贴标准、办理流程、办理期限和主管部门等问题；"
                       "政务咨询也可拨打12345政务服务便民热线。")
    if place:
        text = f"知识库中没有{place}的相关文件，无法根据现有文件作答。"
        if names:
            text += f"其他地方的相近规定有{names}，仅供参考，不适用于{place}。"
        return text + f"建议向{place}当地的主管部门咨询，或拨打12345政务服务便民热线。"
    text = "知识库中的文件没有涉及这个问题，无法根据现有文件作答。"
    if numbers:
        text = f"知识库中没有文号为{'、'.join(numbers)}的文件，无法根据现有文件作答。"
    if names:
        text += f"最接近的文件是{names}，但其中没有找到能回答该问题的内容。"
    if departments is None:
        candidates = distinct_documents(hits if relevant is None else relevant, 3)
        departments = [h.document.meta.issuer for h in candidates if h.document.meta.issuer]
    issuers = list(dict.fromkeys(departments))
    if issuers:
        return text + f"建议向{'、'.join(issuers[:2])}等主管部门咨询，或拨打12345政务服务便民热线。"
    return text + "建议向相关主管部门咨询，或拨打12345政务服务便民热线。"


def distinct_documents(hits: Sequence[Hit], limit: int) -> list[Hit]:
    """The first hit of each of the first ``limit`` documents."""
    seen: list[Hit] = []
    for hit in hits:
        if all(h.document.doc_id != hit.document.doc_id for h in seen):
            seen.append(hit)
        if len(seen) == limit:
            break
    return seen


@dataclass
class ExtractiveAnswerer:
    """Composes an answer from the retrieved passages' own sentences (see the module docstring)."""

    index: Index
    tokenizer: Tokenizer = field(default_factory=Tokenizer)
    max_sentences: int = 6
    max_passages: int = 6
    min_relative: float = 0.45  # keep sentences scoring at least this share of the best one
    max_following: int = 12  # sentences brought along after a heading or a '：' introduction
    lead_in_relative: float = 0.6  # ... when that lead-in scores at least this share of the best sentence
    # More of a passage already cited costs no citation and completes its clause ("……由起步价、……
    # 春节假日运价六部分组成"): up to this many of its sentences scoring this share of the best.
    # 0.2 rather than 0.3: must_include +0.04 on two of the question sets, precision unchanged.
    same_passage_relative: float = 0.2
    same_passage_extra: int = 3
    ask_relative: float = 0.3  # a sentence for an ask nothing else answers must score this share of the best
    # An FAQ or 解读 section whose heading asks the user's very question (covers this share of its
    # words, and asks for the same kinds of fact) is the whole answer; its neighbours answer other
    # questions. "失业保险金能领多久？能领多少钱？" asks two things and keeps both sections.
    faq_heading_covers: float = 0.8
    mode: str = "extractive"

    def select(self, question: str, hits: Sequence[Hit]) -> list[tuple[Hit, int, int, float]]:
        """The sentences to answer with: (hit, start, end, score), in reading order."""
        scorer = SentenceScorer(QueryTerms(self.index, self.tokenizer, question), question)
        candidates: list[tuple[float, int, Hit, int, int]] = []
        for rank, hit in enumerate(hits[: self.max_passages]):
            text = hit.passage.text
            path_cover = scorer.terms.coverage(" ".join(hit.passage.section_path).lower())
            prior = 1.0 / (1.0 + 0.35 * rank)
            for start, end in split_sentences(text):
                sentence = text[start:end]
                if scorer.says_nothing(sentence, hit.document.meta.title):
                    continue
                score = scorer.score(sentence) + 0.3 * path_cover
                candidates.append((score * prior, rank, hit, start, end))
        if not candidates:
            return []
        best = max(c[0] for c in candidates)
        chosen = sorted((c for c in candidates if c[0] >= best * self.min_relative), key=lambda c: -c[0])
        chosen = chosen[: self.max_sentences]
        chosen = self._complete_lists(chosen, candidates)
        chosen += self._more_of_cited(chosen, candidates)
        chosen += self._answer_each_ask(chosen, candidates, scorer.cues)
        leader = max(chosen, key=lambda c: c[0])[2]
        path = leader.passage.section_path
        # ... when it asks for the same kinds of fact: "……能领多少钱？" is not "……能领多久？", although
        # it names the same subject.
        if ((scorer.heading_asks(path) or 0.0) >= self.faq_heading_covers
                and asked_kinds(question) <= asked_kinds(path[-1])):
            section = (leader.document.doc_id, path)
            chosen = [c for c in chosen if (c[2].document.doc_id, c[2].passage.section_path) == section]
        # Documents in retrieval order; inside one, the passage with the best sentence first (it is
        # cited [1]); inside a passage, the document's own order.
        doc_order: dict[str, int] = {}
        for c in sorted(chosen, key=lambda c: c[1]):
            doc_order.setdefault(c[2].document.doc_id, len(doc_order))
        passage_order: dict[int, int] = {}
        for c in sorted(chosen, key=lambda c: -c[0]):
            passage_order.setdefault(c[2].passage.id, len(passage_order))
        chosen.sort(key=lambda c: (doc_order[c[2].document.doc_id], passage_order[c[2].passage.id], c[3]))
        # The same words twice — a heading repeated by a PDF's layout, or the PDF and the web page of
        # one document — are quoted once, where they come first.
        seen: set[str] = set()
        unique = []
        for c in chosen:
            key = _LIST_MARKER.sub("", "".join(c[2].passage.text[c[3]:c[4]].split()))
            if key not in seen:
                seen.add(key)
                unique.append(c)
        return [(hit, start, end, score) for score, _, hit, start, end in unique]

    def _complete_lists(self, chosen: list, candidates: list) -> list:
        """A chosen sentence that introduces what follows — it ends in '：', or it is the section's
        heading ("五、…提出了哪些保障措施?") — says nothing by itself: bring the next sentences along."""
        picked = {(c[2].passage.id, c[3]) for c in chosen}
        extra = []
        best = max((c[0] for c in chosen), default=0.0)
        for score, rank, hit, start, end in chosen:
            # Only a strong lead-in speaks for its section; a heading picked up for a shared word
            # would pour a whole unrelated section into the answer.
            if score < self.lead_in_relative * best or not _introduces(hit, hit.passage.text[start:end], start):
                continue
            following = [c for c in candidates if c[2].passage.id == hit.passage.id and c[3] > start]
            for c in sorted(following, key=lambda c: c[3])[: self.max_following]:
                if (c[2].passage.id, c[3]) not in picked:
                    picked.add((c[2].passage.id, c[3]))
                    extra.append(c)
        return chosen + extra

    def _more_of_cited(self, chosen: list, candidates: list) -> list:
        """The best further sentences of the passages already chosen (see ``same_passage_relative``)."""
        best = max((c[0] for c in chosen), default=0.0)
        cited = {c[2].passage.id for c in chosen}
        picked = {(c[2].passage.id, c[3]) for c in chosen}
        more = [c for c in candidates if c[2].passage.id in cited and (c[2].passage.id, c[3]) not in picked
                and c[0] >= self.same_passage_relative * best]
        return sorted(more, key=lambda c: -c[0])[: self.same_passage_extra]

    def _answer_each_ask(self, chosen: list, candidates: list, cues: list[Matcher]) -> list:
        """A question that asks several things ("要带哪些材料？多久能办好？") gets a sentence for each:
        for every kind of fact asked that no chosen sentence states, the best sentence stating it
        (if it scores at least ``ask_relative`` of the best)."""
        best = max((c[0] for c in chosen), default=0.0)
        have = list(chosen)
        extra = []
        for cue in cues:
            if any(cue.search(c[2].passage.text[c[3]:c[4]]) for c in have):
                continue
            options = [c for c in candidates if c[0] >= self.ask_relative * best and c not in have
                       and cue.search(c[2].passage.text[c[3]:c[4]])]
            if options:
                pick = max(options, key=lambda c: c[0])
                have.append(pick)
                extra.append(pick)
        return extra

    def answer(self, question: str, hits: Sequence[Hit], today: date | None = None) -> Answer:
        selected = self.select(question, hits)
        numbers: dict[int, int] = {}
        citations: list[tuple[int, Hit]] = []
        sentences: list[Sentence] = []
        lines: list[str] = ["根据知识库中的文件，相关规定如下："]
        current_doc = None
        last_label = ""
        previous: tuple[int, int] | None = None  # (passage id, end) of the last quoted sentence
        headings: dict[int, dict[int, str]] = {}  # passage id -> its inner headings
        shown_sections: set[str] = set()  # section headings already written in the current document
        folded = ""  # a heading left out to stand before the next sentence
        for i, (hit, start, end, _) in enumerate(selected):
            text = hit.passage.text[start:end].strip()
            inner = headings.setdefault(hit.passage.id, self._headings(hit))
            after = selected[i + 1] if i + 1 < len(selected) else None
            if (start in inner and after is not None and after[0].passage.id == hit.passage.id
                    and _heading_over(inner, after[1]) == start):
                # A heading quoted with its section's text stands before that text, not as a point of its own.
                folded = inner[start]
                continue
            between = hit.passage.text[previous[1]:start] if previous and previous[0] == hit.passage.id else None
            if between is not None and between.strip() == "" and "\n" not in between and lines[-1].startswith("- "):
                # The next sentence of the same line: one bullet, as the document wrote it.
                n = numbers[hit.passage.id]
                lines[-1] = lines[-1][: -len(f"[{n}]")] + text + f"[{n}]"
                sentences[-1].text += text
                previous = (hit.passage.id, end)
                continue
            previous = (hit.passage.id, end)
            if hit.passage.id not in numbers:
                numbers[hit.passage.id] = len(numbers) + 1
                citations.append((numbers[hit.passage.id], hit))
            n = numbers[hit.passage.id]
            if hit.document.doc_id != current_doc:
                current_doc = hit.document.doc_id
                lines.append(f"\n{book_title(hit.document.meta.title)}{_number(hit)}{expiry_note(hit, today)}：")
                last_label = ""
                shown_sections = set()
            section, under = _labels(hit, inner, start)
            if folded:
                under = "" if folded == section.rstrip("。") else folded
                folded = ""
            # A heading quoted alone (nothing of its section is) is its own label.
            label = inner[start] if start in inner else under or section
            if section and text.startswith(section):  # "第二十五条公共租赁住房保障的申请……" names its section
                shown_sections.add(section)
            # The section's own heading goes before the first heading inside it that is shown:
            # "二、申报要求与说明 > （一）申报条件与要求：1.……", then "（二）申报时间与流程：1.……".
            shown = (f"{section} > {under}" if section and under and section not in shown_sections
                     and not under.startswith(section) else label)  # "三、落实扶持政策（一）……" names its section
            # "三、如何申领？" already ends in its own mark: no "：" after it.
            colon = "" if label.endswith(("？", "?", "：", ":")) else "："
            prefix = ""
            if label and label != last_label and not text.startswith(label):
                prefix = f"{shown}{colon}"
                shown_sections.add(section)
            last_label = label
            sentences.append(Sentence(text=text, citations=[n], supported=True))
            lines.append(f"- {prefix}{_run_in(label, text)}[{n}]")
        body = "\n".join(lines) + "\n\n" + EXTRACTIVE_NOTE
        return Answer(question=question, answer=body, mode=self.mode, refused=False, sentences=sentences,
                      citations=citations, passages=list(hits))

    @staticmethod
    def _headings(hit: Hit) -> dict[int, str]:
        """The headings inside ``hit``'s passage (:func:`inner_headings`) from its section's own
        heading on: one above it is not what its sentences stand under ("第二章 …… 第七条 ……").
        The section's own heading is one of them where it is a sentence of its own that reads as a
        heading: a question ("三、失业保险金能领多久？"), or words without a pause. A lead-in ("……按以下
        规定执行：") or a statement taken for a heading ("二、调整后……每小时21元。") is not."""
        text = hit.passage.text
        path = hit.passage.section_path
        own = text.find(path[-1]) if path else -1
        found = {h: t for h, t in inner_headings(text).items() if h >= own}
        heading = path[-1].rstrip("。") if path else ""
        end = next((e for s, e in split_sentences(text) if s == own), None) if own >= 0 else None
        sentence = text[own:end] if end is not None else ""
        if sentence.rstrip("。") == heading and (heading.endswith(("？", "?")) or (
                not re.search(r"[，,；;：:]", heading) and (not sentence.endswith("。") or len(heading) <= 20))):
            found[own] = heading
        return found

    def stream(self, question: str, hits: Sequence[Hit], today: date | None = None) -> Iterator[str | Answer]:
        """Yields the answer text in pieces, then the :class:`Answer` (same interface as the LLM answerer)."""
        answer = self.answer(question, hits, today)
        yield from answer.answer.splitlines(keepends=True)
        yield answer


