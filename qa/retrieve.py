"""Retrieve: dense (Chroma) and keyword (BM25) search over chunks, fused by reciprocal rank.

The fusion is what LlamaIndex's `QueryFusionRetriever(mode="reciprocal_rerank")` does here (see
`fuse`), without importing LlamaIndex (~1 s of a cold start); `qa/reference.py` keeps the LlamaIndex
retrievers, and `tests/test_lean.py` checks that both rank the same chunks. The BM25 index is built
from the chunks stored in Chroma (`qa/corpus.py`), so the two searches describe the same chunks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import numpy as np

from qa.corpus import Corpus

_SAME_PASSAGE = 0.9  # word-sequence similarity above which two passages are one
RRF_K = 60.0  # reciprocal rank fusion's constant, as in LlamaIndex and the original paper


@dataclass
class Sentence:
    """A sentence of a retrieved chunk, with absolute offsets into its source file."""

    source: str
    text: str
    start: int
    end: int
    vector: np.ndarray
    meta: dict[str, Any]
    chunk_rank: int
    position: int  # index of the sentence in its chunk (0 = the chunk's first)
    caption: bool = False  # in a photo caption ("... in Moscow on March 5, 2020. File Photo: AFP")


_PHOTO_CREDIT = re.compile(r"\bPhoto(?:graph)?(?:\s+by\b|\s*:|\s+credit\b)|\|\s*Photo\b", re.I)


def is_caption(text: str, start: int, end: int) -> bool:
    """Is text[start:end] part of a photo caption: its paragraph carries a photo credit.

    Example: "Putin and Erdogan at the Kremlin. File Photo: AFP" -> True for its first sentence.
    """
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    return bool(_PHOTO_CREDIT.search(text[line_start : line_end if line_end >= 0 else len(text)]))


def is_credit(sentence: str) -> bool:
    """Is the sentence itself a photo credit (nothing but a word before the credit)?

    Example: "| Photo by Lefteris Pitarakis/AP" -> True; "Putin at the Kremlin. File Photo: AFP" -> False.
    """
    m = _PHOTO_CREDIT.search(sentence)
    return m is not None and len(sentence[: m.start()].split()) <= 1


@dataclass
class Hit:
    """A retrieved chunk; `also` holds the same passage found in other articles."""

    id: str
    text: str
    meta: dict[str, Any]
    score: float
    also: list[Hit] = field(default_factory=list)


class Retriever:
    """Hybrid retrieval over one Chroma collection, its BM25 corpus and its sentence vectors.

    Safe to share between threads: Chroma's client, the encoder and the BM25 arrays are only read.
    """

    def __init__(self, collection: Any, sentences: Any, encoder: Any, corpus: Corpus, top_k: int) -> None:
        self.collection, self.sentences, self.encoder, self.top_k = collection, sentences, encoder, top_k
        self.corpus = corpus

    @property
    def chunk_count(self) -> int:
        return len(self.corpus.ids)

    def embed(self, text: str) -> np.ndarray:
        return np.asarray(self.encoder.embed([text])[0], dtype=np.float32)

    def search(self, question: str, vector: np.ndarray) -> list[Hit]:
        """Best chunks first; a passage repeated in several articles comes back once."""
        ranked = self.rank(question, vector)
        rows = self._rows([cid for cid, _ in ranked])
        return merge_repeats([Hit(cid, *rows[cid], score) for cid, score in ranked if cid in rows])

    def rank(self, question: str, vector: np.ndarray) -> list[tuple[str, float]]:
        """Chunk IDs with their fused scores, best first: at most top_k, each once."""
        if not self.corpus.ids:
            return []
        dense = self.collection.query(query_embeddings=[[float(x) for x in vector]], n_results=self.top_k,
                                      include=[])["ids"][0]
        assert self.corpus.lexical is not None
        lexical = [self.corpus.ids[row] for row, _ in self.corpus.lexical.search(question, self.top_k)]
        return fuse([dense, lexical], self.top_k)

    def _rows(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(text, metadata) of each chunk ID."""
        got = self.collection.get(ids=ids, include=["documents", "metadatas"]) if ids else {"ids": []}
        return {cid: (doc or "", _public(meta)) for cid, doc, meta in
                zip(got["ids"], got.get("documents") or [], got.get("metadatas") or [])}

    def sentences_of(self, hits: list[Hit]) -> list[Sentence]:
        """Every sentence of the hits, with its stored vector."""
        vectors = self._sentence_vectors([h for top in hits for h in [top, *top.also]])
        out = []
        for rank, top in enumerate(hits):
            for hit in [top, *top.also]:
                for i, (a, b) in enumerate(json.loads(hit.meta["sentences"])):
                    vector = vectors.get((hit.id, i))
                    if vector is None:
                        continue  # a half-written index: skip, the next `qa index` completes it
                    start = int(hit.meta["start"])
                    out.append(Sentence(hit.meta["source"], hit.text[a:b], start + a, start + b,
                                        np.array(vector, dtype=np.float32), hit.meta, rank, i,
                                        caption=is_caption(hit.text, a, b)))
        return out

    def _sentence_vectors(self, hits: list[Hit]) -> dict[tuple[str, int], Any]:
        """(chunk ID, i) -> vector, from the corpus's array; a chunk stored after it was built, from Chroma."""
        found: dict[tuple[str, int], Any] = {}
        missing = []
        for hit in hits:
            row = self.corpus.row_of.get(hit.id)
            for i in range(len(json.loads(hit.meta["sentences"]))):
                if row is None:
                    missing.append(f"{hit.id}:{i}")
                elif (vector := self.corpus.sentences.of(row, i)) is not None:
                    found[(hit.id, i)] = vector
        if missing:
            got = self.sentences.get(ids=missing, include=["embeddings"])
            for sid, vector in zip(got["ids"], got["embeddings"]):
                cid, _, i = sid.rpartition(":")
                found[(cid, int(i))] = vector
        return found


def merge_repeats(hits: list[Hit]) -> list[Hit]:
    """Fold a hit whose text repeats an earlier hit's (from another article) into that hit's `also`."""
    kept: list[Hit] = []
    for hit in hits:
        twin = next((k for k in kept if same_passage(k.text, hit.text)), None)
        if twin is not None and twin.meta["source"] != hit.meta["source"]:
            twin.also.append(hit)
        elif twin is None:
            kept.append(hit)
    return kept


def same_passage(a: str, b: str) -> bool:
    """Near-identical text. Example: '“a b c”' ~ '"a b c"' (quote marks and case ignored); spelling
    variants count as the same word when their first five letters agree (criticised ~ criticized)."""
    wa, wb = [w[:5] for w in re.findall(r"\w+", a.lower())], [w[:5] for w in re.findall(r"\w+", b.lower())]
    if wa == wb:
        return True
    if min(len(wa), len(wb)) < 8 or abs(len(wa) - len(wb)) > max(len(wa), len(wb)) * 0.2:
        return False
    return SequenceMatcher(None, wa, wb, autojunk=False).ratio() >= _SAME_PASSAGE


def fuse(rankings: list[list[str]], top_k: int, k: float = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion as LlamaIndex's QueryFusionRetriever runs it on our Chroma store.

    Each entry (ranking, rank) scores 1 / (k + rank); entries sort by score, ties keeping the
    earlier ranking first; the first top_k entries are kept, and a chunk's later entries dropped.
    The scores of one chunk found by both searches are NOT summed: the retriever identifies nodes
    by a hash of their text and str(metadata), and Chroma returns metadata keys in a new order at
    every call, so the two entries never meet. In effect the rankings are interleaved rank by rank.
    (Summing them, textbook RRF, ranked gold articles higher in the eval but lowered fact recall
    by 7 points with the answerer as tuned.)

    Example: fuse([["a", "b"], ["b", "c"]], top_k=3) == [("a", 1/60), ("b", 1/60)]
    """
    entries = [(1.0 / (rank + k), cid) for ranking in rankings for rank, cid in enumerate(ranking)]
    entries.sort(key=lambda entry: entry[0], reverse=True)  # stable: ties keep the earlier ranking first
    fused: dict[str, float] = {}
    for score, cid in entries[:top_k]:
        fused.setdefault(cid, score)
    return list(fused.items())


def _public(meta: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (meta or {}).items() if not k.startswith("_")}


__all__ = ["Hit", "Retriever", "Sentence", "fuse", "merge_repeats", "same_passage"]
