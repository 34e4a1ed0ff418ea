"""Conversations: follow-up questions resolved against the history before retrieval.

    chat = engine.chat()
    chat.ask("What did Putin criticise Kyiv for?")
    chat.ask("How did Ankara respond to that?")   # answer.resolved_question shows what was searched
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from qa.schema import Answer

if TYPE_CHECKING:
    from qa.engine import Engine

# Words that lean on what was said before.
_LEANS = re.compile(
    r"\b(he|she|they|him|her|them|his|their|it|its|that|this|those|these|there|then)\b|^(and|what about|how about)\b",
    re.I,
)


class Chat:
    """One conversation with an engine. Not shared between users."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.turns: list[tuple[str, Answer]] = []

    def ask(self, question: str) -> Answer:
        answer = self.engine.ask(question, resolved=self.resolve(question))
        self.turns.append((question, answer))
        return answer

    def stream(self, question: str) -> Iterator[str | Answer]:
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
        """The question as a standalone one: a follow-up carries the previous question along."""
        if self.turns and self.engine.llm is not None:
            standalone = self.engine.standalone(question, self.turns)  # None when the LLM fails
            if standalone:
                return standalone
        if not self.turns or not _LEANS.search(question):
            return question
        previous = self.turns[-1][1].resolved_question or self.turns[-1][0]
        return f"{question} ({previous})"
