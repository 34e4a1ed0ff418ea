"""Sentences: Punkt (the English model LlamaIndex ships for NLTK) over each kept paragraph."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from index.spans import Span


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
    punkt = _punkt()
    spans: list[Span] = []
    for p in paragraphs:
        for a, b in punkt.span_tokenize(text[p.start : p.end]):
            spans.append(Span(p.start + a, p.start + b))
    return spans
