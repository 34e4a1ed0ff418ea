"""Sentence vectors of every stored chunk, in one file the query side reads row by row.

Chroma answers `get(ids, include=["embeddings"])` by loading the collection's whole HNSW index
(about 2 KB a vector: 450 MB for 221,000 sentences) where a question needs some 60 vectors. Read
from this file with pread, a question costs a few small reads and the process's memory does not
grow with the rows it has read (a memory map would, up to the file's size). Row first[c] + i is
sentence i of chunk c.

    vectors = SentenceVectors.build(sentences_collection, ["id1", "id2"], [3, 2])
    vectors.of(1, 0)   # chunk 1's first sentence, or None if the store has no vector for it
"""

from __future__ import annotations

import itertools
import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np

_PAGE = 4_000  # sentence vectors per Chroma read
VECTORS = "sentence_vectors.npy"


class SentenceVectors:
    def __init__(self, first: np.ndarray, present: np.ndarray, rows: np.ndarray | _FileRows) -> None:
        self.first = first  # (chunks + 1,) int64: row of each chunk's sentence 0; first[-1] is the row count
        self.present = present  # (rows,) bool: False where the store has no vector (a half-written index)
        self._rows = rows  # (rows, dim) float32, in memory after `build`, on disk after `load`

    def of(self, chunk: int, i: int) -> np.ndarray | None:
        row = int(self.first[chunk]) + i
        if i < 0 or row >= self.first[chunk + 1] or not self.present[row]:
            return None
        return self._rows[row]

    @classmethod
    def build(cls, sentences: Any, ids: list[str], counts: list[int]) -> SentenceVectors:
        """Every sentence vector of the chunks `ids` (which have `counts` sentences), read from the collection."""
        first = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        vectors: np.ndarray | None = None
        present = np.zeros(int(first[-1]), dtype=bool)
        wanted = (f"{cid}:{i}" for cid, n in zip(ids, counts) for i in range(n))  # row r is the r-th of these
        row = 0
        while batch := list(itertools.islice(wanted, _PAGE)):
            # By ID, not by offset: an offset page rescans the rows before it, and a large page of
            # embeddings costs Chroma several times its size in memory while it is converted.
            got = sentences.get(ids=batch, include=["embeddings"])
            at = {sid: row + k for k, sid in enumerate(batch)}
            for sid, vector in zip(got["ids"], got["embeddings"]):
                if vectors is None:
                    vectors = np.zeros((len(present), len(vector)), dtype=np.float32)
                vectors[at[sid]] = vector
                present[at[sid]] = True
            row += len(batch)
        return cls(first, present, vectors if vectors is not None else np.zeros((len(present), 0), np.float32))

    def save(self, folder: Path) -> None:
        assert isinstance(self._rows, np.ndarray), "only a built SentenceVectors is saved"
        np.save(folder / "sentence_first.npy", self.first)
        np.save(folder / "sentence_present.npy", self.present)
        np.save(folder / VECTORS, self._rows)

    @classmethod
    def load(cls, folder: Path) -> SentenceVectors:
        first, present = np.load(folder / "sentence_first.npy"), np.load(folder / "sentence_present.npy")
        rows = _FileRows(folder / VECTORS)
        if rows.rows != first[-1] or len(present) != first[-1]:
            raise ValueError("the sentence arrays disagree in length")
        return cls(first, present, rows)


class _FileRows:
    """Rows of a 2-D float32 .npy file, read with pread (thread-safe: no shared file position)."""

    def __init__(self, path: Path) -> None:
        mapped = np.load(path, mmap_mode="r")  # only to read the header: shape, dtype, where the data starts
        if not isinstance(mapped, np.memmap) or mapped.ndim != 2 or mapped.dtype != np.float32 \
                or not mapped.flags.c_contiguous:
            raise ValueError(f"{path} is not a 2-D float32 array")
        (self.rows, self.dim), self.start = mapped.shape, mapped.offset
        del mapped
        self.fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self.fd)

    def __getitem__(self, row: int) -> np.ndarray:
        size = self.dim * 4
        return np.frombuffer(os.pread(self.fd, size, self.start + row * size), dtype=np.float32)
