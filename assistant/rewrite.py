"""Follow-up questions made standalone, so that retrieval sees what the user means.

"那申请材料要哪些？" after "广州公租房怎么申请？" means "广州公租房申请材料要哪些". Without an LLM,
the previous user turn's key terms (words of two or more characters that are not function words
and not already in the question) are carried over in front of the follow-up. With an LLM, the
answer layer asks it to rewrite instead (see ``assistant.llm``).

Example::

    standalone_query("那申请材料要哪些？", [{"role": "user", "content": "广州公租房怎么申请？"}])
    # '广州 公租房 申请 那申请材料要哪些？'
"""

from __future__ import annotations

from collections.abc import Sequence

from .tokenize import Tokenizer

_MAX_CARRIED = 12  # terms from earlier turns; more would drown the follow-up's own words
_tokenizer: Tokenizer | None = None


def standalone_query(question: str, history: Sequence[dict[str, str]] | None) -> str:
    """``question`` with the key terms of the last user turns in ``history`` carried over."""
    global _tokenizer
    if not history:
        return question
    _tokenizer = _tokenizer or Tokenizer(search_mode=False)
    present = set(_tokenizer.tokens(question))
    carried: list[str] = []
    for turn in reversed(history):
        if turn.get("role") != "user":
            continue
        for term in _tokenizer.tokens(str(turn.get("content", ""))):
            if len(term) >= 2 and term not in present and term not in carried:
                carried.append(term)
        if len(carried) >= _MAX_CARRIED:
            break
    if not carried:
        return question
    return " ".join(carried[:_MAX_CARRIED]) + " " + question
