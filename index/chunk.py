"""Chunk: pack whole sentences into chunks that fit the embedding model's window.

A chunk never spans text that cleaning dropped, so `text[start:end]` of a chunk is exactly its
content. A sentence longer than the budget is cut at word boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from index.clean import Span


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    sentences: tuple[Span, ...]


def chunk_sentences(
    text: str, sentences: list[Span], count_tokens: Callable[[str], int], budget: int
) -> list[Chunk]:
    """Group consecutive sentences into chunks of at most `budget` tokens.

    Example: three 80-token sentences with budget 200 -> chunks of 2 and 1 sentences.
    """
    chunks: list[Chunk] = []
    group: list[Span] = []
    used = 0
    for sentence, cost in _fit(text, sentences, count_tokens, budget):
        joined = group and _contiguous(text, group[-1], sentence)
        if group and (not joined or used + cost > budget):
            chunks.append(_make(group))
            group, used = [], 0
        group.append(sentence)
        used += cost
    if group:
        chunks.append(_make(group))
    return chunks


def _make(group: list[Span]) -> Chunk:
    return Chunk(group[0].start, group[-1].end, tuple(group))


def _contiguous(text: str, a: Span, b: Span) -> bool:
    """Only white space between two sentences: nothing that cleaning dropped lies between them."""
    return not text[a.end : b.start].strip()


def _fit(text: str, sentences: list[Span], count_tokens: Callable[[str], int], budget: int
         ) -> list[tuple[Span, int]]:
    """(sentence, its tokens), an over-long sentence cut into pieces; each text counted once."""
    out: list[tuple[Span, int]] = []
    for s in sentences:
        cost = count_tokens(text[s.start : s.end])
        pieces = [s] if cost <= budget else _cut(text, s, count_tokens, budget)
        out.extend((p, cost if p is s else count_tokens(text[p.start : p.end])) for p in pieces)
    return out


def _cut(text: str, s: Span, count_tokens: Callable[[str], int], budget: int) -> list[Span]:
    """Cut an over-long sentence into word-aligned pieces within the budget."""
    pieces: list[Span] = []
    start = s.start
    words = [m.end() + s.start for m in re.finditer(r"\S+", text[s.start : s.end])]
    last = start
    for end in words:
        if count_tokens(text[start:end]) > budget and last > start:
            pieces.append(Span(start, last))
            start = last + (len(text[last:end]) - len(text[last:end].lstrip()))
        last = end
    pieces.append(Span(start, s.end))
    return pieces
