"""The engine: one loaded index, and `ask` / `stream` / `chat` over it.

    engine = qa.load()                  # builds the index on first use
    engine.ask("When did Russia lift the ban on tourist flights to Turkey?")
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa import cite, extractive, guard, prompt
from qa.abstain import abstention
from qa.chat import Chat, turns_from
from qa.config import Settings, settings_from_env
from qa.corpus import open_corpus
from qa.errors import ConfigError, IndexMissing, LLMError, LLMSkipped, QuestionError
from qa.prompt import Numbered
from qa.question import check_question, parts_of
from qa.retrieve import Retriever, Sentence
from qa.schema import Answer
from qa.terms import visible
from qa.threads import single_blas_thread

if TYPE_CHECKING:
    from qa.llamaindex import NewsChatEngine, NewsQueryEngine, NewsRetriever
    from qa.llm import LLM

_LABEL = re.compile(r"^\s*(standalone )?question:\s*", re.I)  # "Standalone question: ..." -> "..."


class Engine:
    """Answers questions over one index. Build it with `qa.load()`."""

    def __init__(self, settings: Settings) -> None:
        from index.encoder import make_embedder
        from index.store import (
            as_built,
            check_filled,
            damage_reported,
            generation,
            open_collection,
            open_sentences,
            reopen,
        )

        if settings.answerer not in ("rules", "reader"):
            raise ConfigError(f"Unknown answerer {settings.answerer!r} (QA_ANSWERER): use rules or reader.")
        with damage_reported(settings):
            settings = as_built(settings)  # the encoder and sentence vectors the store was built with
        self.settings = settings
        retriever = _retriever_class(settings)
        self.generation = generation(settings)  # read first: a newer index written meanwhile is seen as newer
        reopen(settings)  # the store as it is on disk now, not as this process last read it
        with damage_reported(settings):
            collection = open_collection(settings)
            sentences = open_sentences(settings)
            encoder = make_embedder(settings.embedding, settings.openai_api_key, settings.openai_base_url,
                                    settings.encoder, settings.cache)
            self.corpus = open_corpus(settings, collection, sentences)
            self.retriever = retriever(collection, sentences, encoder, self.corpus, settings.top_k)
        check_filled(settings, len(self.corpus.ids))
        self.rarity = self.corpus.rarity
        single_blas_thread()  # answers multiply small matrices (qa/threads.py); after bm25s brought scipy's BLAS
        _return_freed_memory()
        self.llm: LLM | None = _make_llm(settings) if settings.llm_enabled else None

    @property
    def mode(self) -> str:
        """The answering mode: "llm" when an LLM is configured (an answer falls back to "extractive")."""
        return "llm" if self.llm else "extractive"

    @property
    def mode_line(self) -> str:
        """One line for the CLI or UI to show once at start."""
        return self.llm.describe() if self.llm else "offline (no OPENAI_API_KEY): answers quote the articles"

    @property
    def stats(self) -> dict[str, int]:
        return self.corpus.stats

    def articles(self) -> list[dict[str, str]]:
        """Every indexed article (source, title, outlet, date), newest first."""
        return [dict(a) for a in self.corpus.articles]

    def ask(self, question: str, *, resolved: str | None = None) -> Answer:
        """Answer one question from the articles, citing them, or say they don't cover it.

        `resolved` is the standalone form of a follow-up (see `chat()`); it is what gets searched.
        With an LLM that fails, the answer is the offline one with a `notice` saying why.
        """
        found = self.find(question, resolved=resolved)
        if self.llm is None or not found.passages:
            return found.offline
        given = self._given(found)
        limit = self.settings.llm_max_reply_chars
        try:
            reply = self.llm.complete(self._prompt(found, given))
            return _noting_cut(self._checked(found, given, _whole_sentences(reply, limit)), len(reply) > limit, limit)
        except LLMError as e:
            return _fallback(found.offline, e)

    def stream(self, question: str, *, resolved: str | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the final Answer.

        The final Answer is what to show: its markers are checked and renumbered, and after an
        LLM failure it is the offline answer (with a notice) in place of the pieces streamed.
        """
        found = self.find(question, resolved=resolved)
        if self.llm is None or not found.passages:
            yield from re.findall(r"\S+\s*", found.offline.text)
            yield found.offline
            return
        given = self._given(found)
        pieces: list[str] = []
        limit, size, cut = self.settings.llm_max_reply_chars, 0, False
        replies = self.llm.stream(self._prompt(found, given))
        asked = first = time.perf_counter()
        try:
            for piece in replies:
                first = first if pieces else time.perf_counter()
                cut = len(piece) > limit - size
                piece = piece[: limit - size]
                size += len(piece)
                if piece:
                    pieces.append(piece)
                    yield piece
                if cut:
                    break  # the rest of the reply is never read
            reply = _whole_sentences("".join(pieces), limit) if cut else "".join(pieces)
            final = _noting_cut(self._checked(found, given, reply), cut, limit)
            final.timing = _timing(asked, first, len(pieces))
        except LLMError as e:
            final = _fallback(found.offline, e)
        finally:
            getattr(replies, "close", lambda: None)()  # a cut stream ends now, not when collected
        yield final

    def standalone(self, question: str, turns: list[tuple[str, Answer]]) -> str | None:
        """A follow-up rewritten by the LLM as a standalone question; None without an LLM or when it fails."""
        if self.llm is None:
            return None
        history = [(q, cite.MARKS.sub("", a.text)) for q, a in turns]
        try:
            reply = self.llm.complete(prompt.condense_messages(history, question))
        except LLMError:
            return None
        lines = [_LABEL.sub("", line).strip().strip('"“”') for line in cite.clean(reply).splitlines() if line.strip()]
        if len(lines) != 1 or not _asks(lines[0]):
            return None  # an answer, or talk about the question, is not a question to search for
        try:
            return check_question(lines[0])
        except QuestionError:
            return None

    def chat(self, history: Sequence[object] = ()) -> Chat:
        """A conversation: follow-up questions are resolved against its history.

        `history` continues a conversation kept elsewhere: the earlier questions (strings) or the
        answers given to them (dicts, as `Answer.to_dict()` returns them); see `qa.chat.turns_from`.
        """
        return Chat(self, turns_from(history))

    def as_retriever(self, similarity_top_k: int | None = None) -> NewsRetriever:
        """This index's retrieval as a LlamaIndex retriever (qa/llamaindex.py); imports LlamaIndex."""
        from qa.llamaindex import NewsRetriever

        return NewsRetriever(self, similarity_top_k)

    def as_query_engine(self) -> NewsQueryEngine:
        """`ask` as a LlamaIndex query engine: our answer, the cited quotes as `source_nodes`."""
        from qa.llamaindex import NewsQueryEngine

        return NewsQueryEngine(engine=self)

    def as_chat_engine(self) -> NewsChatEngine:
        """`chat()` as a LlamaIndex chat engine: follow-ups resolved as ours are."""
        from qa.llamaindex import NewsChatEngine

        return NewsChatEngine(self)

    def find(self, question: str, *, resolved: str | None = None) -> Found:
        """What retrieval found for the question, without asking an LLM: the passages numbered as the
        LLM would see them, every sentence of them, and the offline answer (the fallback, and a
        conflict detector)."""
        from index.store import damage_reported

        question = check_question(question)
        search_for = visible(check_question(resolved) if resolved else question)  # "Mei\u200bling" is "Meiling"
        refusal = guard.screen(question, self.rarity)
        if refusal:
            return Found(replace(abstention(question), text=refusal, resolved_question=search_for), [], [])
        with damage_reported(self.settings):
            qvec = self.retriever.embed(search_for)
            hits = self.retriever.search(search_for, qvec)
            parts = [(p, self.retriever.embed(p)) for p in parts_of(search_for)]
            for p, vec in parts:  # a compound question: each part retrieves its own passages too
                hits += [h for h in self.retriever.search(p, vec) if all(h.id != k.id for k in hits)]
            sentences = self.retriever.sentences_of(hits)
            offline = self._offline(search_for, qvec, sentences, parts)
        offline.question = question
        offline.resolved_question = search_for
        offline.retrieved = _unique([h.meta["source"] for top in hits for h in [top, *top.also]])
        return Found(offline, prompt.number(hits, sentences), sentences)

    def _offline(self, question: str, qvec: np.ndarray, sentences: list[Sentence],
                 parts: list[tuple[str, np.ndarray]]) -> Answer:
        """The offline answer, by the answerer the settings name (the hand rules, or the trained reader)."""
        if self.settings.answerer == "rules":
            return extractive.answer(question, qvec, sentences, self.rarity, parts)
        from qa import reading
        from qa.reader import shared_reader

        return reading.answer(question, qvec, sentences, self.rarity, shared_reader(), parts)

    def _given(self, found: Found) -> list[Numbered]:
        """The passages the LLM gets, within the prompt budget (`Settings.llm_budget`)."""
        most, chars, _ = self.settings.llm_budget
        return prompt.fit(found.passages, found.offline.resolved_question, most, chars)

    def _prompt(self, found: Found, given: list[Numbered]) -> list[dict[str, str]]:
        return prompt.answer_messages(found.offline.resolved_question, given, _conflict_note(found, given))

    def _checked(self, found: Found, given: list[Numbered], reply: str) -> Answer:
        """The LLM's reply as an Answer, its citations checked against the passages given.

        A reply that is mostly unsupported is not shown as an answer: the offline one is, saying why.
        """
        base = found.offline
        if not cite.clean(reply):
            raise LLMError(f"the model sent an empty reply: check QA_LLM_MODEL ({self.llm.model if self.llm else ''})")
        if cite.abstains(reply):
            return replace(abstention(base.question), mode="llm", resolved_question=base.resolved_question,
                           retrieved=base.retrieved)
        checked = cite.check_reply(reply, given, found.sentences)
        if not checked.claims:
            return replace(base, notice="Offline answer: the model's reply held no statement, only citation marks.")
        if len(checked.unsupported) * 2 > checked.claims:
            return replace(base, notice=f"Offline answer: the articles do not support what the model wrote "
                                        f"({len(checked.unsupported)} of {checked.claims} sentences).")
        return Answer(text=checked.text, citations=checked.citations, abstained=False, mode="llm",
                      question=base.question, resolved_question=base.resolved_question,
                      unsupported=checked.unsupported, conflicts=base.conflicts, retrieved=base.retrieved)


_QUESTION_WORD = re.compile(r"^(who|whom|whose|what|when|where|which|why|how|is|are|was|were|do|does|did|has|have|"
                            r"had|can|could|will|would|should|shall|may|might)\b", re.I)


def _asks(line: str) -> bool:
    """Is a model's one-line rewrite a question? Example: "When did Russia lift the ban?" -> True;
    "Russia lifted the ban on June 30 [1]." -> False."""
    return not cite.MARKS.search(line) and (line.rstrip().endswith("?") or bool(_QUESTION_WORD.match(line)))


@dataclass
class Found:
    """What retrieval found for one question."""

    offline: Answer  # the extractive answer
    passages: list[Numbered]  # the hits as numbered for the prompt
    sentences: list[Sentence]  # every sentence of the hits and their repeats


def _conflict_note(found: Found, given: list[Numbered]) -> str:
    """When the offline answerer saw two sources disagree (a date or a count), which passages hold
    them: the disagreeing pair is always its last two citations."""
    if not found.offline.conflicts:
        return ""
    cited = [_holding(given, c.source, c.start) for c in found.offline.citations[-2:]]
    if None in cited:
        return "the passages may give different dates or counts for this event."
    return (f"passages [{cited[0]}] and [{cited[1]}] give different dates or counts for this event "
            f"({found.offline.conflicts[0]}).")


def _holding(passages: list[Numbered], source: str, at: int) -> int | None:
    """The number of the passage holding offset `at` of `source`."""
    for p in passages:
        start = int(p.hit.meta["start"])
        if p.source == source and start <= at < start + len(p.hit.text):
            return p.n
    return None


def _whole_sentences(reply: str, limit: int) -> str:
    """The reply if it fits in `limit` characters, else its whole sentences that do (a cut mid-sentence
    would be checked, and flagged, as a claim). Example: ("Yes. No more", 9) -> "Yes."."""
    if len(reply) < limit:
        return reply
    ends = [m.end() for m in re.finditer(r"[.!?][\"'”’)\]]*(?:\s*\[\d+\])*(?=\s)", reply[: limit + 1])]
    return reply[: ends[-1]] if ends else reply[:limit]


def _noting_cut(answer: Answer, cut: bool, limit: int) -> Answer:
    if not cut or answer.notice:
        return answer
    return replace(answer, notice=f"The LLM's reply was cut at {limit:,} characters (QA_LLM_MAX_REPLY); "
                                  "ask a narrower question, or raise the limit.")


def _timing(asked: float, first: float, pieces: int) -> dict[str, float]:
    """How fast the reply came, from the times the prompt was sent and the first piece came back.
    Example: {"first_token_s": 0.8, "reply_s": 3.1, "tokens": 40, "tokens_per_s": 17.0}
    (a streamed piece is one token for llama.cpp and most servers)."""
    now = time.perf_counter()
    rate = (pieces - 1) / (now - first) if pieces > 1 and now > first else 0.0
    return {"first_token_s": round(first - asked, 3), "reply_s": round(now - asked, 3), "tokens": pieces,
            "tokens_per_s": round(rate, 1)}


def _fallback(offline: Answer, e: LLMError) -> Answer:
    if isinstance(e, LLMSkipped):
        return replace(offline, notice=f"Offline answer: {e}.")
    return replace(offline, notice=f"Offline answer, the LLM failed: {e}.")


def load(articles: str | Path | None = None, store: str | Path | None = None,
         settings: Settings | None = None, build: bool = True) -> Engine:
    """An engine over `articles` (default: the project's) with its index in `store`.

    The index is built first when it does not exist yet (and `build` is true).
    """
    settings = (settings or settings_from_env()).with_paths(articles, store)
    try:
        return Engine(settings)
    except IndexMissing:
        if not build:
            raise
    from index import build_index

    build_index(settings)
    return Engine(settings)


def _return_freed_memory() -> None:
    """Give the heap that loading used and freed back to the OS: glibc keeps it (~50 MB at 100,000 chunks)."""
    import ctypes
    import ctypes.util

    libc = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(libc), "malloc_trim", None) if libc else None
    if trim is not None:  # glibc only
        trim(0)


def _make_llm(settings: Settings) -> LLM:
    """The LLM client: a local GGUF model when QA_LLM_GGUF is set, else the OpenAI-compatible endpoint."""
    if settings.llm_gguf is not None:
        from qa.local import LocalLLM

        return LocalLLM(settings)
    from qa.llm import LLM

    return LLM(settings)


def _retriever_class(settings: Settings) -> type[Retriever]:
    if settings.retriever == "llamaindex":
        from qa.reference import LlamaIndexRetriever

        return LlamaIndexRetriever
    if settings.retriever != "fused":
        raise ConfigError(f"Unknown QA_RETRIEVER={settings.retriever!r}; use 'fused' (the default) or 'llamaindex'.")
    return Retriever


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
