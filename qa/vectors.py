"""Sentence vectors of every stored chunk, in one array the query side memory-maps.

Chroma answers `get(ids, include=["embeddings"])` by loading the collection's whole HNSW index
(about 2 KB a vector: 480 MB for 240,000 sentences), where a question needs some 60 vectors. Read
from this array, a question touches only their pages. Row first[c] + i is sentence i of chunk c.

    vectors = SentenceVectors.build(sentences_collection, ["id1", "id2"], [3, 2])
    vectors.of(1, 0)   # chunk 1's first sentence, or None if the store has no vector for it
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_PAGE = 5000  # rows per Chroma read


@dataclass
class SentenceVectors:
    first: np.ndarray  # (chunks + 1,) int64: row of each chunk's sentence 0; first[-1] is the row count
    vectors: np.ndarray  # (rows, dim) float32
    present: np.ndarray  # (rows,) bool: False where the store has no vector (a half-written index)

    def of(self, chunk: int, i: int) -> np.ndarray | None:
        row = int(self.first[chunk]) + i
        if i < 0 or row >= self.first[chunk + 1] or not self.present[row]:
            return None
        return self.vectors[row]

    @classmethod
    def build(cls, sentences: Any, ids: list[str], counts: list[int]) -> SentenceVectors:
        """Read every sentence vector of the chunks `ids` (which have `counts` sentences) from the collection."""
        first = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        chunk_of = {cid: c for c, cid in enumerate(ids)}
        vectors: np.ndarray | None = None
        present = np.zeros(int(first[-1]), dtype=bool)
        offset = 0
        while True:
            page = sentences.get(include=["embeddings"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                break
            offset += len(page["ids"])
            for sid, vector in zip(page["ids"], page["embeddings"]):
                cid, _, i = sid.rpartition(":")
                c = chunk_of.get(cid)
                if c is None or not i.isdigit() or int(i) >= counts[c]:
                    continue  # a sentence of a chunk no longer stored
                if vectors is None:
                    vectors = np.zeros((len(present), len(vector)), dtype=np.float32)
                vectors[first[c] + int(i)] = vector
                present[first[c] + int(i)] = True
        return cls(first, vectors if vectors is not None else np.zeros((len(present), 0), np.float32), present)

    def save(self, folder: Path) -> None:
        np.save(folder / "sentence_first.npy", self.first)
        np.save(folder / "sentence_vectors.npy", self.vectors)
        np.save(folder / "sentence_present.npy", self.present)

    @classmethod
    def load(cls, folder: Path) -> SentenceVectors:
        loaded = cls(np.load(folder / "sentence_first.npy"),
                     np.load(folder / "sentence_vectors.npy", mmap_mode="r"),
                     np.load(folder / "sentence_present.npy"))
        if len(loaded.vectors) != loaded.first[-1] or len(loaded.present) != loaded.first[-1]:
            raise ValueError("the sentence arrays disagree in length")
        return loaded
