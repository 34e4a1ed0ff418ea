"""The answer a user gets, the same in every mode (extractive or LLM)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

# After a marker, the relative dates of the cited sentence resolved: "[2] (Tuesday = June 28, 2016)".
DATE_NOTE = re.compile(r" \((?:[^()=;]+ = [^()=;]+)(?:; [^()=;]+ = [^()=;]+)*\)")


@dataclass
class Passage:
    """A span of one article file: `open(source).read()[start:end] == quote`."""

    source: str
    quote: str
    start: int
    end: int
    title: str = ""
    date: str = ""  # ISO date of the article, "" when unknown
    outlet: str = ""


@dataclass
class Citation(Passage):
    """What an `[id]` marker in the answer points to; `also` lists other articles saying the same."""

    id: int = 0
    also: list[Passage] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # the quote's relative dates: "last month = December 2021"


@dataclass
class Answer:
    text: str  # with inline [n] markers
    citations: list[Citation]
    abstained: bool
    mode: str  # "extractive" or "llm"
    question: str = ""
    resolved_question: str = ""  # the standalone question a follow-up was turned into
    unsupported: list[str] = field(default_factory=list)  # answer sentences the sources do not support
    conflicts: list[str] = field(default_factory=list)  # where sources disagree, in words
    notice: str = ""  # one line for the user, e.g. why the LLM was not used
    retrieved: list[str] = field(default_factory=list)  # sources of the passages retrieved, best first
    # A streamed LLM reply's speed: first_token_s, reply_s, tokens, tokens_per_s (see qa.engine._timing).
    timing: dict[str, float] = field(default_factory=dict)
    # The reader's score of the best sentence (a logit: above 0 it reads as answering); None from the rules.
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sources_text(self) -> str:
        """The numbered source list printed under an answer."""
        lines = []
        for c in self.citations:
            when = f", {c.date}" if c.date else ""
            lines.append(f"[{c.id}] {c.source} ({c.title}{when}): \"{c.quote}\"")
            lines.extend(f"    also {p.source} ({p.title}{', ' + p.date if p.date else ''})" for p in c.also)
        return "\n".join(lines)
