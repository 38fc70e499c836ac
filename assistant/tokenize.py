"""Chinese word tokens for BM25 and for highlighting.

jieba's dictionary and algorithm, run by jieba-rs (the ``rjieba`` binding): the same
segmentation, about ten times faster, which is what makes parse+chunk+BM25 over the whole corpus
take seconds instead of minutes. A user dictionary of policy terms (东数西算, 算力券, 专精特新 …)
ships in ``assistant/data/userdict.txt`` (jieba format; :func:`load_user_dict` adds more).

Search mode also emits the shorter words inside long ones ("最低工资标准" -> 最低, 工资, 标准,
最低工资, 最低工资标准), so a question's wording need not match the document's exactly.

Example::

    tok = Tokenizer()
    tok.tokens("算力券申领条件")   # ['算力券', '申领', '条件']
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import rjieba

USER_DICT = Path(__file__).with_name("data") / "userdict.txt"

# Function words and question words: frequent in questions, useless as evidence.
STOPWORDS = frozenset(
    """的 了 和 与 及 或 是 在 对 为 由 等 将 把 被 从 向 于 以 并 其 之 也 而 且 就 都 还 又 这 那 此 该 个 些 有 无
    吗 呢 吧 啊 呀 么 嘛 哪 啥 谁 什么 怎么 怎样 如何 多少 几 哪些 哪个 是否 能否 可否 能不能 可不可以 有没有 是不是
    我 你 他 她 它 我们 你们 他们 咱们 自己 一下 一个 这个 那个 这些 那些 以及 或者 还是 但是 如果 要是 因为 所以
    可以 能 会 要 想 请问 需要 应该 现在 已经 具体 到底 一般 大概 一样 相关 有关 规定 问 说 让 给 去 来 着 过 得 地
    """.split()
)

_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_lock = threading.Lock()
_loaded = False
# The words of the loaded user dictionaries: policy terms, never colloquial wording, so a question
# using one that no indexed document uses asks about something the documents do not cover.
DOMAIN_TERMS: set[str] = set()


def _ensure_user_dict() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        load_user_dict(USER_DICT)
        _loaded = True


def load_user_dict(path: Path) -> int:
    """Add the words of a jieba-format user dictionary (``word [freq] [tag]`` per line)."""
    count = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        rjieba.add_word(parts[0], freq, tag)
        DOMAIN_TERMS.add(normalize(parts[0]))
        count += 1
    return count


def dictionary_fingerprint() -> str:
    """A short hash of the shipped user dictionary: an index tokenized with another one is re-tokenized."""
    return hashlib.sha256(USER_DICT.read_bytes()).hexdigest()[:12]


# A yes-or-no question asked as "A不A" (能不能, 可不可以, 有没有, 符不符合) asks about A: without this,
# the segmenter's 不能, 可不, 没有 would be matched as words, and "小区里能不能养鸡" answered with every
# clause where something 不能满足 a standard.
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])[不没]\1")

_FULL_WIDTH = re.compile(r"[０-９Ａ-Ｚａ-ｚ％．]")
_TO_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def normalize(text: str) -> str:
    """Full-width digits and letters to ASCII, lower case: one spelling per token.

    (Full NFKC would do it too, but costs as much as segmentation itself; full-width digits are
    rare, so the translation runs only where one is present.)
    """
    if _FULL_WIDTH.search(text):
        text = text.translate(_TO_HALF_WIDTH)
    return text.lower()


def word_bounds(text: str) -> tuple[set[int], set[int]]:
    """Where the words of ``text`` begin and where they end, by jieba's precise segmentation (user
    dictionary loaded): '出租房屋' -> ({0, 2}, {2, 4}), so that 租房 is not read across 出租 and 房屋."""
    _ensure_user_dict()
    words = rjieba.tokenize(text)
    return {start for _, start, _ in words}, {end for _, _, end in words}


class Tokenizer:
    """Segments text into BM25 tokens: jieba search-mode words, stopwords and punctuation dropped."""

    def __init__(self, search_mode: bool = True) -> None:
        _ensure_user_dict()
        self.search_mode = search_mode

    def words(self, text: str) -> list[str]:
        """All words in order, punctuation included: the raw segmentation, for highlighting."""
        return rjieba.cut(text)

    def tokens(self, text: str) -> list[str]:
        text = _A_NOT_A.sub(r"\1", normalize(text))
        raw = rjieba.cut_for_search(text) if self.search_mode else rjieba.cut(text)
        return [t for t in raw if (t.isalnum() or (len(t) > 1 and _TOKEN_OK.search(t))) and t not in STOPWORDS]
