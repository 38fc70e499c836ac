"""Follow-up questions made standalone, so that retrieval sees what the user means.

"那申请材料要哪些？" after "广州公租房怎么申请？" means "广州公租房申请材料要哪些". Without an LLM,
when the question leans on what came before (it opens with 那/还有, points back, or is short), the
previous user turn's key terms (words of two or more characters that are not function words
and not already in the question) are carried over in front of the follow-up. With an LLM, the
answer layer asks it to rewrite instead (see ``assistant.llm``).

Example::

    standalone_query("那申请材料要哪些？", [{"role": "user", "content": "广州公租房怎么申请？"}])
    # '广州 公租房 申请 那申请材料要哪些？'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .metadata import ARTICLE_NUMBER, DOC_NUMBER, QUOTED_TITLE
from .relevance import asked_kinds
from .tokenize import Tokenizer

_MAX_CARRIED = 12  # terms from earlier turns; more would drown the follow-up's own words
# The words that say what the earlier question asked rather than what it was about. A follow-up that
# asks a thing of its own ("那申请材料要哪些？" after "……申请条件是什么？") does not carry them: 条件
# would bring back the conditions instead of the materials.
# (多少, 怎么, 哪些 … are stopwords, which the tokenizer never gives.)
_ASKING = frozenset("条件 资格 要求 材料 多少钱 多久 多长时间 期限 时限 怎么样 流程 步骤 程序 手续 哪几 什么时候 何时"
                    .split())
# ... and the phrases that ask, taken out of the earlier question before it is cut into words: the
# segmenter cuts "哪几家单位发的？什么时候发的？" into 几家 and 时候, which would still ask a count of 家
# and a date of a follow-up that asks how long ("那备案要等多久？").
_ASKING_PHRASE = re.compile(r"哪几?[家个项类种条批些位所]|几[家个项类种条批年月天次件份人名所户岁]"
                            r"|多少[钱元]?|什么时候|啥时候|何时|多久|多长时间")
_tokenizer: Tokenizer | None = None
_DOCUMENT_NAME = re.compile(QUOTED_TITLE.pattern + "|" + DOC_NUMBER.pattern)


# A follow-up that leans on the previous turn: it opens with 那/还有/如果…, points back (这/该/上述),
# or is too short to stand alone. A full new question ("《意见》提出了哪些保障措施?") is left as it is.
_LEANS_BACK = re.compile(r"^(?:那|那么|还有|另外|此外|如果|要是|假如|同时|对了|然后|再问)|这个|那个|这些|那些|这种|该|上述|此项|其中|它")
_SHORT = 12


def _anchors(text: str, places: Callable[[str], set[str]] | None) -> bool:
    """Whether ``text`` names what it is about: a place, or a document in 《》."""
    return "《" in text or bool(places and places(text))


def is_follow_up(question: str, history: Sequence[dict[str, str]],
                 places: Callable[[str], set[str]] | None = None) -> bool:
    """Whether ``question`` needs the conversation to be understood: it leans back, is short, or
    names no place or document while the previous question did ("我妈住进定点护理机构……" after
    "广州的长期护理保险……")."""
    stripped = question.strip()
    if len(stripped) <= _SHORT or _LEANS_BACK.search(stripped):
        return True
    previous = next((str(t.get("content", "")) for t in reversed(history) if t.get("role") == "user"), "")
    return not _anchors(stripped, places) and _anchors(previous, places)


def standalone_query(question: str, history: Sequence[dict[str, str]] | None,
                     places: Callable[[str], set[str]] | None = None) -> str:
    """``question`` with the key terms of the last user turns in ``history`` carried over, when it
    is a follow-up (:func:`is_follow_up`; ``places`` finds place names, e.g.
    ``Gazetteer.places_in``); a question that stands alone is returned unchanged."""
    global _tokenizer
    if not history or not is_follow_up(question, history, places):
        return question
    _tokenizer = _tokenizer or Tokenizer(search_mode=False)
    present = set(_tokenizer.tokens(question))
    # "那杭州呢？" after a question about 郑州 asks the same about another place: carry the topic,
    # not the old place.
    new_place = bool(places and places(question))
    leave = _ASKING if asked_kinds(question) else frozenset()
    own_article = bool(ARTICLE_NUMBER.search(question))
    carried: list[str] = []
    for turn in reversed(history):
        if turn.get("role") != "user":
            continue
        text = str(turn.get("content", ""))
        for term in _tokenizer.tokens(_ASKING_PHRASE.sub(" ", text) if leave else text):
            if new_place and places is not None and places(term):
                continue
            if own_article and ARTICLE_NUMBER.fullmatch(term):
                continue  # "那第二十五条呢？" asks about its own article, not the one asked before
            if len(term) >= 2 and term not in present and term not in carried and term not in leave:
                carried.append(term)
        if len(carried) >= _MAX_CARRIED:
            break
    # "那第二十五条呢？" after "《广州市公共租赁住房管理办法》第二十二条……" asks about the same document:
    # its 《title》 or 文号 is carried whole, so that retrieval still knows which document is named.
    references: list[str] = []
    if not _names_document(question):
        for turn in reversed(history):
            if turn.get("role") == "user" and (references := _names_document(str(turn.get("content", "")))):
                break
    if not carried and not references:
        return question
    return " ".join(references + carried[:_MAX_CARRIED]) + " " + question


def _names_document(text: str) -> list[str]:
    """The 《titles》 and 文号 that ``text`` names a document by."""
    return [m.group(0) for m in _DOCUMENT_NAME.finditer(text)]
