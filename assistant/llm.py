"""Generated answers through any llama-index LLM; OpenAI-compatible endpoints by configuration.

DeepSeek, Qwen (DashScope compatible mode), GLM, Moonshot, vLLM, llama.cpp server and Ollama all
speak the OpenAI chat-completions protocol: set ``POLICYQA_LLM_BASE_URL``, ``POLICYQA_LLM_MODEL``
and ``POLICYQA_LLM_API_KEY`` (or ``[llm]`` in policyqa.toml). The prompts live in ``prompts/``.

The documents reach the model only inside the sources block, each wrapped in delimiters that
carry a random nonce, so a document cannot close the block and speak as the system; the system
prompt tells the model that nothing inside it is an instruction.

After generation every citation is checked (:mod:`assistant.support`): a number that names no
source is dropped, a sentence its sources do not support is marked 【未核实】 and flagged in the JSON.

Example::

    answerer = LLMAnswerer.from_settings(settings.llm, index)
    for piece in answerer.stream("算力券怎么申请", hits):
        ...  # text deltas, then the checked Answer
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .answer import Answer, Sentence, book_title, expiry_note
from .config import LLMSettings
from .index import Index
from .numbers import numbers_in
from .relevance import split_sentences
from .retrieve import Hit
from .support import check_support

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
UNVERIFIED = "【未核实】"
_MARKER = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】]")
_REFUSAL = re.compile(r"没有涉及|未涉及|无法回答|无法根据|没有找到|资料中没有|未找到")


class LLMError(Exception):
    """The language model could not be reached or did not answer; the message says which endpoint."""


def load_prompt(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8")


def _neutralise(text: str) -> str:
    """Document text with the delimiter brackets replaced, so it cannot open or close a source."""
    return text.replace("<<<", "‹‹‹").replace(">>>", "›››")


def format_sources(hits: Sequence[Hit], nonce: str, today: date | None = None) -> str:
    """The numbered sources block: metadata line, then the passage between nonce delimiters."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        meta = hit.document.meta
        facts = [book_title(meta.title)]
        if meta.doc_number:
            facts.append(f"文号：{meta.doc_number}")
        if meta.issuer:
            facts.append(f"发文机关：{meta.issuer}")
        if meta.date:
            facts.append(f"日期：{meta.date}")
        if hit.passage.section_path:
            facts.append("章节：" + " > ".join(hit.passage.section_path))
        if hit.passage.pages:
            facts.append(f"页码：{hit.passage.pages[0]}")
        if not meta.in_force(today):
            facts.append(f"状态：已失效{('（' + meta.expiry_date + '）') if meta.expiry_date else ''}")
        # The delimiter text cannot be forged: the nonce is new for every request; and nothing from
        # the document (its text, nor its title or headings in the facts line) can look like one.
        header = _neutralise("；".join(facts))
        body = _neutralise(hit.passage.text)
        blocks.append(f"<<<资料 {n} {nonce}>>>\n{header}\n{body}\n<<<资料结束 {nonce}>>>")
    return "\n\n".join(blocks)


def build_messages(question: str, hits: Sequence[Hit], today: date | None = None) -> list[dict[str, str]]:
    nonce = secrets.token_hex(6)
    user = load_prompt("answer_user.md").format(nonce=nonce, sources=format_sources(hits, nonce, today),
                                                question=question)
    return [{"role": "system", "content": load_prompt("answer_system.md")}, {"role": "user", "content": user}]


def check_citations(text: str, hits: Sequence[Hit], today: date | None = None) -> tuple[str, list[Sentence], list[int]]:
    """Parse ``[n]`` markers sentence by sentence; drop unknown numbers; mark unsupported sentences;
    note, at its first citation, that a cited document is no longer in force.

    Returns the cleaned text, the sentences, and the source numbers actually cited.
    """
    sentences: list[Sentence] = []
    pieces: list[str] = []
    cited: list[int] = []
    noted: set[str] = set()
    last = 0
    for start, end in _sentence_spans_with_markers(text):
        pieces.append(text[last:start])
        last = end
        raw = text[start:end]
        numbers = [int(n) for group in _MARKER.findall(raw) for n in re.split(r"\s*[,，、]\s*", group)]
        valid = list(dict.fromkeys(n for n in numbers if 1 <= n <= len(hits)))
        plain = _MARKER.sub("", raw).strip()
        if not plain:
            continue
        if valid:
            support = check_support(plain, [hits[n - 1].passage.text for n in valid])
            supported = support.supported
        else:
            # No citation: acceptable only for a sentence that states no fact (no figures).
            supported = not numbers_in(plain) and bool(_REFUSAL.search(plain) or len(plain) < 40)
        rebuilt = _MARKER.sub("", raw).rstrip()
        tail = "".join(f"[{n}]" for n in valid)
        for n in valid:
            doc = hits[n - 1].document
            if doc.doc_id not in noted and (note := expiry_note(hits[n - 1], today)):
                noted.add(doc.doc_id)
                tail += note
        rebuilt = _attach(rebuilt, tail + ("" if supported else UNVERIFIED))
        pieces.append(rebuilt)
        sentences.append(Sentence(text=plain, citations=valid, supported=supported))
        cited.extend(n for n in valid if n not in cited)
    pieces.append(text[last:])
    return "".join(pieces).strip(), sentences, cited


def _attach(sentence: str, tail: str) -> str:
    """Put citation markers before the sentence's closing punctuation: '……罚款[1]。'."""
    match = re.search(r"[。！？；!?;]+$", sentence)
    if match and tail:
        return sentence[: match.start()] + tail + sentence[match.start():]
    return sentence + tail


def _sentence_spans_with_markers(text: str) -> list[tuple[int, int]]:
    """Sentence spans that keep a citation marker written just after the full stop ('…。[2]')."""
    spans = split_sentences(text)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and _MARKER.fullmatch(text[start:end].strip()):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    out = []
    for i, (start, end) in enumerate(merged):
        stop = merged[i + 1][0] if i + 1 < len(merged) else len(text)
        following = _MARKER.match(text, end) if end < stop else None
        while following:
            end = following.end()
            following = _MARKER.match(text, end)
        out.append((start, end))
    return out


@dataclass
class LLMAnswerer:
    """Answers with a chat LLM from the numbered sources (see the module docstring)."""

    llm: Any  # llama_index.core.llms.LLM
    index: Index
    endpoint: str = ""
    mode: str = "llm"

    @classmethod
    def from_settings(cls, settings: LLMSettings, index: Index) -> LLMAnswerer:
        from llama_index.llms.openai_like import OpenAILike

        llm = OpenAILike(
            model=settings.model or "default",
            api_base=settings.base_url,
            api_key=settings.api_key or "not-needed",
            is_chat_model=True,
            timeout=settings.timeout_s,
            max_retries=0,
            temperature=settings.temperature,
        )
        return cls(llm=llm, index=index, endpoint=settings.base_url)

    def _chat_messages(self, messages: list[dict[str, str]]) -> list[Any]:
        from llama_index.core.llms import ChatMessage

        return [ChatMessage(role=m["role"], content=m["content"]) for m in messages]

    def rewrite(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """The follow-up as a standalone question, by the LLM; '' when it fails (the caller falls back)."""
        lines = "\n".join(f"{'用户' if t.get('role') == 'user' else '助手'}：{t.get('content', '')}" for t in history[-6:])
        prompt = load_prompt("rewrite.md").format(history=lines, question=question)
        try:
            reply = self.llm.chat(self._chat_messages([{"role": "user", "content": prompt}]))
        except Exception:  # noqa: BLE001 - rewriting is an optimisation; retrieval proceeds without it
            return ""
        text = (reply.message.content or "").strip().splitlines()
        return text[0].strip() if text else ""

    def stream(self, question: str, hits: Sequence[Hit], today: date | None = None) -> Iterator[str | Answer]:
        messages = self._chat_messages(build_messages(question, hits, today))
        parts: list[str] = []
        try:
            for chunk in self.llm.stream_chat(messages):
                delta = chunk.delta or ""
                if delta:
                    parts.append(delta)
                    yield delta
        except Exception as exc:  # noqa: BLE001 - any transport failure is reported the same way
            raise LLMError(f"the language model at {self.endpoint} failed ({type(exc).__name__}); "
                           "check POLICYQA_LLM_BASE_URL / the server, or use --mode extractive") from None
        raw = "".join(parts)
        text, sentences, cited = check_citations(raw, hits, today)
        refused = not cited and bool(_REFUSAL.search(text))
        yield Answer(question=question, answer=text, mode=self.mode, refused=refused, sentences=sentences,
                     citations=[(n, hits[n - 1]) for n in sorted(cited)], passages=list(hits))
