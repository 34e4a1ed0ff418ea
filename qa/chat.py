"""Conversations: follow-up questions resolved against the history before retrieval.

    chat = engine.chat()
    chat.ask("What did Putin criticise Kyiv for?")
    chat.ask("How did Ankara respond to that?")   # answer.resolved_question shows what was searched

With an LLM, `engine.standalone(question, turns)` rewrites a follow-up as a standalone question.
Offline (or when the LLM fails) a follow-up carries the content words of the previous resolved question:
"How did Ankara respond to that? (Putin criticise Kyiv)". A question that does not lean on the
history ("When did Turkey join NATO?") is searched as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from qa.errors import QuestionError
from qa.question import check_question
from qa.schema import Answer
from qa.terms import STOP

if TYPE_CHECKING:
    from qa.engine import Engine

# Words that lean on what was said before: pronouns, "that call", "there", "and in 2022?".
_LEANS = re.compile(
    r"\b(he|she|they|him|her|them|his|hers|their|it|its|that|this|those|these|there|then|himself|herself)\b"
    r"|^\s*(and|but|what about|how about|so)\b",
    re.I,
)
_QUESTION_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "tell", "me"}
_WORD = re.compile(r"[^\W_][\w’'-]*")
MAX_CARRIED = 12  # words carried from the history: enough for a topic, too few to drown the question


class Chat:
    """One conversation with an engine. Not shared between users (the UI keeps one per session)."""

    def __init__(self, engine: Engine, turns: list[tuple[str, Answer]] | None = None) -> None:
        self.engine = engine
        self.turns: list[tuple[str, Answer]] = list(turns or [])  # (question as asked, its answer)

    def ask(self, question: str) -> Answer:
        answer = self.engine.ask(question, resolved=self.resolve(question))
        self.turns.append((question, answer))
        return answer

    def stream(self, question: str) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the final Answer."""
        answer: Answer | None = None
        for piece in self.engine.stream(question, resolved=self.resolve(question)):
            if isinstance(piece, Answer):
                answer = piece
            yield piece
        if answer is not None:
            self.turns.append((question, answer))

    def reset(self) -> None:
        self.turns.clear()

    def resolve(self, question: str) -> str:
        """The question as a standalone one, which is what gets searched: an LLM rewrites a
        follow-up when one is configured; offline, it carries the previous question's topic words."""
        if not self.turns:
            return question
        if self.engine.llm is not None:
            standalone = self.engine.standalone(question, self.turns)  # None when the LLM fails
            if standalone:
                return standalone
        if not leans_on_history(question):
            return question
        last_question, last = self.turns[-1]
        carried = topic_words(last.resolved_question or last_question, exclude=question)
        return f"{question} ({' '.join(carried)})" if carried else question


def turns_from(history: Sequence[object]) -> list[tuple[str, Answer]]:
    """The turns of a conversation kept by the caller (the HTTP API is stateless): each item the
    question asked (a string) or the answer given to it (a dict, as `Answer.to_dict()` and `/chat`
    return it). Nothing is answered again: a follow-up needs only the earlier questions and answers.

    Example: turns_from(["What did Putin criticise Kyiv for?"]) -> [("What did Putin criticise Kyiv for?", <Answer "">)]
    """
    if not isinstance(history, (list, tuple)):
        raise QuestionError(f"The history must be a list of earlier turns, not {type(history).__name__}.")
    turns = []
    for n, item in enumerate(history, start=1):
        kept = item if isinstance(item, dict) else {"question": item}
        if not isinstance(kept.get("question"), str):
            raise QuestionError(
                f"History item {n} is {_shown(item)}: give each earlier turn as the question asked (a string) "
                "or as the answer returned for it (a dict with its 'question' and 'text')."
            )
        try:
            question = check_question(kept["question"])
        except QuestionError as e:
            raise QuestionError(f"History item {n}: {e}") from None
        answer = Answer(text=str(kept.get("text") or ""), citations=[], abstained=bool(kept.get("abstained")),
                        mode=str(kept.get("mode") or "extractive"), question=question,
                        resolved_question=str(kept.get("resolved_question") or ""))
        turns.append((question, answer))
    return turns


def _shown(item: object) -> str:
    text = repr(item)
    return f"{text[:60]}… ({type(item).__name__})" if len(text) > 60 else f"{text} ({type(item).__name__})"


def leans_on_history(question: str) -> bool:
    """Does the question need the conversation to be understood?

    Example: "How did Ankara respond to that?" -> True; "When did Turkey join NATO?" -> False
    """
    return bool(_LEANS.search(question))


def topic_words(text: str, exclude: str = "") -> list[str]:
    """The content words of `text` not already in `exclude`, in order, at most MAX_CARRIED.

    Example: topic_words("What did Putin criticise Kyiv for?") == ["Putin", "criticise", "Kyiv"]
    """
    seen = {w.lower() for w in _WORD.findall(exclude)}
    out: list[str] = []
    for word in _WORD.findall(text):
        low = word.lower()
        if low in STOP or low in _QUESTION_WORDS or low in seen or len(word) < 2:
            continue
        seen.add(low)
        out.append(word)
    return out[:MAX_CARRIED]  # the previous question's own words come first, older context after
