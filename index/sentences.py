"""Sentences: Punkt (the English model LlamaIndex ships for NLTK) over each kept paragraph.

Punkt reads a paragraph in pieces of at most PIECE characters: NLTK abandons a regex search after
5 s with TimeoutError, which a paragraph of a few megabytes reaches. Pieces end where a sentence
plainly ends (". " and the like) when they can, so a piece boundary is a sentence boundary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from index.spans import Span

PIECE = 20_000  # characters Punkt reads at once: ~0.1 s of work, far below NLTK's 5 s limit
_ENDS = re.compile(r"[.!?][\"'”’)\]]*\s+")  # a sentence's end and the space after it


@lru_cache(maxsize=1)
def _punkt() -> Any:
    from importlib.util import find_spec

    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    # LlamaIndex bundles punkt_tab; point NLTK at it so nothing is downloaded. find_spec locates
    # the package without importing it (importing llama_index.core takes ~1 s).
    spec = find_spec("llama_index.core")
    assert spec is not None and spec.submodule_search_locations, "llama-index-core is not installed"
    cache = Path(next(iter(spec.submodule_search_locations))) / "_static" / "nltk_cache"
    if str(cache) not in nltk.data.path:
        nltk.data.path.insert(0, str(cache))
    return PunktTokenizer("english")


def split_sentences(text: str, paragraphs: list[Span]) -> list[Span]:
    """Sentence spans of `text`, never crossing a paragraph. Example: "A b. C d." -> [0:4], [5:9]."""
    spans: list[Span] = []
    for p in paragraphs:
        for piece in pieces(text, p.start, p.end):
            spans.extend(_sentences_of(text, piece))
    return spans


def pieces(text: str, start: int, end: int, size: int = PIECE) -> Iterator[Span]:
    """text[start:end] in consecutive spans of at most `size` characters, cut after a sentence's end,
    else at a space, else anywhere. Example: pieces("Ab. Cd. Ef.", 0, 11, 8) -> [0:8], [8:11]."""
    while end - start > size:
        window = text[start : start + size]
        cut = max((m.end() for m in _ENDS.finditer(window, size // 2)), default=0)
        if not cut:
            cut = max(window.rfind(" "), window.rfind("\n")) + 1
        cut = cut if cut > 0 else size
        yield Span(start, start + cut)
        start += cut
    if end > start:
        yield Span(start, end)


def _sentences_of(text: str, piece: Span) -> list[Span]:
    try:
        found = _punkt().span_tokenize(text[piece.start : piece.end])
        return [Span(piece.start + a, piece.start + b) for a, b in found]
    except TimeoutError:  # text that defeats Punkt's patterns: one sentence, which chunking cuts to size
        return [piece]
