"""Keyword search: BM25 (bm25s + PyStemmer) over the chunks, built as LlamaIndex's BM25Retriever builds it.

    lexical = Lexical.build([bm25_text(text, meta) for text, meta in chunks])
    lexical.search("When was the coup attempt in Turkey?", k=8)   # [(row, score), ...] best first
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from qa.terms import visible

TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # BM25Retriever's default
LANGUAGE = "english"  # stop words and stemmer
_local = threading.local()  # a PyStemmer object is not thread-safe: one per thread


def bm25_text(text: str, meta: dict[str, Any]) -> str:
    """What BM25 reads for a chunk: its metadata as "key: value" lines, a blank line, its text.

    The same string as LlamaIndex's `TextNode.get_content(MetadataMode.EMBED)`, so both retrieval
    paths score the same words. Example: bm25_text("Hi.", {"title": "T"}) == "title: T\\n\\nHi."
    """
    lines = "\n".join(f"{k}: {v}" for k, v in meta.items()).strip()
    return f"{lines}\n\n{text}".strip() if lines else text


class Lexical:
    """A BM25 index over rows 0..n-1 (the chunks, in a fixed order)."""

    def __init__(self, bm25: Any) -> None:
        self.bm25 = bm25
        self.rows = int(bm25.scores["num_docs"])

    @classmethod
    def build(cls, texts: list[str]) -> Lexical:
        """An index of `texts` (at least one), row i being texts[i]."""
        import bm25s

        tokens = bm25s.tokenize([visible(t) for t in texts], stopwords=LANGUAGE, stemmer=_stemmer(),
                                token_pattern=TOKEN_PATTERN, show_progress=False)
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        return cls(bm25)

    @classmethod
    def load(cls, folder: Path) -> Lexical:
        """A saved index, memory-mapped: pages are read when a question needs them."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), mmap=True, show_progress=False))

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder), show_progress=False)

    def search(self, question: str, k: int) -> list[tuple[int, float]]:
        """The k best rows for the question, (row, score) best first."""
        import bm25s

        k = min(k, self.rows)
        tokens = bm25s.tokenize(visible(question), stemmer=_stemmer(), token_pattern=TOKEN_PATTERN, show_progress=False)
        rows, scores = self.bm25.retrieve(tokens, k=k, show_progress=False)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0])]


def _stemmer() -> Any:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer(LANGUAGE)
    return stemmer
