"""Whether a cited passage supports an answer sentence, measured lexically.

A sentence is supported by a passage when (1) every number, amount, percentage and date in the
sentence also appears in the passage (after normalisation: 三十日 = 30日), and (2) enough of the
sentence's content is in the passage: the share of its words (jieba) or of its character bigrams
found in the passage reaches ``min_overlap``. The second test lets an LLM paraphrase; the first
never lets it change a figure.

Example::

    check_support("逾期未缴纳的，处100元罚款。", "……逾期未缴纳停车费的，处一百元罚款。")
    # Support(supported=True, overlap=0.83, missing_numbers=[])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .numbers import compact, numbers_in
from .tokenize import Tokenizer

MIN_OVERLAP = 0.5
_tokenizer: Tokenizer | None = None
_CJK_OR_WORD = re.compile(r"[\u4e00-\u9fff]|[a-z0-9]+")


@dataclass(frozen=True)
class Support:
    supported: bool
    overlap: float
    missing_numbers: list[str] = field(default_factory=list)


def _bigrams(text: str) -> set[str]:
    chars = _CJK_OR_WORD.findall(text.lower())
    return {a + b for a, b in zip(chars, chars[1:])}


def _contains_number(number: str, evidence: str) -> bool:
    """Whether ``number`` occurs in ``evidence`` as a whole number: '50元' is not in '150元'."""
    after = r"(?!\d|\.\d)" if number[-1].isdigit() else ""
    return re.search(r"(?<![\d.])" + re.escape(number) + after, evidence) is not None


def check_support(sentence: str, passages: Sequence[str] | str, min_overlap: float = MIN_OVERLAP) -> Support:
    """Check ``sentence`` against the text of the passage(s) it cites (together)."""
    global _tokenizer
    _tokenizer = _tokenizer or Tokenizer(search_mode=False)
    evidence = passages if isinstance(passages, str) else "\n".join(passages)
    evidence_compact = compact(evidence)
    missing = [n for n in numbers_in(sentence) if not _contains_number(n, evidence_compact)]
    terms = [t for t in _tokenizer.tokens(sentence) if len(t) > 1 or t.isdigit()]
    evidence_terms = set(_tokenizer.tokens(evidence))
    word_overlap = sum(1 for t in terms if t in evidence_terms or t in evidence) / len(terms) if terms else 1.0
    grams = _bigrams(compact(sentence))
    gram_overlap = len(grams & _bigrams(evidence_compact)) / len(grams) if grams else 1.0
    overlap = max(word_overlap, gram_overlap)
    return Support(supported=not missing and overlap >= min_overlap, overlap=round(overlap, 3), missing_numbers=missing)
