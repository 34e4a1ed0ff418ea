"""The engine: one loaded index, and `ask` / `stream` / `chat` over it.

    engine = qa.load()                  # builds the index on first use
    engine.ask("When did Russia lift the ban on tourist flights to Turkey?")
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

from qa import extractive
from qa.chat import Chat
from qa.config import Settings, settings_from_env
from qa.errors import IndexMissing, QuestionError
from qa.retrieve import Retriever
from qa.schema import Answer
from qa.terms import Rarity

MAX_QUESTION_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Engine:
    """Answers questions over one index. Build it with `qa.load()`."""

    def __init__(self, settings: Settings) -> None:
        from index.encoder import make_embedder
        from index.store import open_collection, open_sentences

        self.settings = settings
        collection = open_collection(settings)
        sentences = open_sentences(settings)
        encoder = make_embedder(settings.embedding, settings.openai_api_key, settings.openai_base_url)
        self.retriever = Retriever(collection, sentences, encoder, settings.top_k)
        self.rarity = Rarity(n.get_content() for n in self.retriever.nodes.values())
        self._lock = threading.Lock()  # one engine serves every UI session's worker thread

    @property
    def stats(self) -> dict[str, int]:
        sources = {n.metadata["source"] for n in self.retriever.nodes.values()}
        return {"articles": len(sources), "chunks": self.retriever.chunk_count}

    def articles(self) -> list[dict[str, str]]:
        """Every indexed article (source, title, outlet, date), newest first."""
        seen: dict[str, dict[str, str]] = {}
        for node in self.retriever.nodes.values():
            m = node.metadata
            seen.setdefault(m["source"], {k: str(m.get(k, "")) for k in ("source", "title", "outlet", "date")})
        return sorted(seen.values(), key=lambda a: (a["date"], a["source"]), reverse=True)

    def ask(self, question: str, *, resolved: str | None = None) -> Answer:
        """Answer one question from the articles, citing them, or say they don't cover it.

        `resolved` is the standalone form of a follow-up (see `chat()`); it is what gets searched.
        """
        question = check_question(question)
        search_for = check_question(resolved) if resolved else question
        with self._lock:
            qvec = self.retriever.embed(search_for)
            hits = self.retriever.search(search_for, qvec)
            sentences = self.retriever.sentences_of(hits)
            result = extractive.answer(search_for, qvec, sentences, self.rarity)
        result.question = question
        result.resolved_question = search_for
        result.retrieved = _unique([h.meta["source"] for top in hits for h in [top, *top.also]])
        return result

    def stream(self, question: str, *, resolved: str | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the final Answer."""
        result = self.ask(question, resolved=resolved)
        yield from re.findall(r"\S+\s*", result.text)
        yield result

    def condense(self, history: list[str], question: str) -> str | None:
        """A follow-up rewritten as a standalone question by the LLM; None offline (Chat resolves it)."""
        return None

    def chat(self) -> Chat:
        """A conversation: follow-up questions are resolved against its history."""
        return Chat(self)


def check_question(question: str) -> str:
    """The question cleaned of control characters, or a QuestionError saying what to fix."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    cleaned = _CONTROL.sub(" ", question).strip()
    if not cleaned:
        raise QuestionError("The question is empty. Type a question about the articles.")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"The question is {len(cleaned):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
            "Ask a shorter question."
        )
    if not re.search(r"\w", cleaned):
        raise QuestionError("The question has no words. Type a question about the articles.")
    return cleaned


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


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
