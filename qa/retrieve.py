"""Retrieve: dense (Chroma) and keyword (BM25) search over chunks, fused by reciprocal rank.

The BM25 index is built from the chunks stored in Chroma when the engine loads, so the two
always describe the same chunks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import PrivateAttr

_SAME_PASSAGE = 0.9  # word-sequence similarity above which two passages are one


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


@dataclass
class Hit:
    """A retrieved chunk; `also` holds the same passage found in other articles."""

    id: str
    text: str
    meta: dict[str, Any]
    score: float
    also: list[Hit] = field(default_factory=list)


class _Embedding(BaseEmbedding):
    """LlamaIndex face of our encoder, so its retrievers embed questions the way chunks were."""

    _encoder: Any = PrivateAttr()

    def __init__(self, encoder: Any) -> None:
        super().__init__(model_name=encoder.name)
        self._encoder = encoder

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._encoder.embed([query])[0]]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_query_embedding(text)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class Retriever:
    """Hybrid retrieval over one Chroma collection and its sentence vectors."""

    def __init__(self, collection: Any, sentences: Any, encoder: Any, top_k: int) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.collection, self.sentences, self.encoder, self.top_k = collection, sentences, encoder, top_k
        self.nodes = _load_nodes(collection)
        index = VectorStoreIndex.from_vector_store(
            ChromaVectorStore(chroma_collection=collection), embed_model=_Embedding(encoder)
        )
        retrievers = [index.as_retriever(similarity_top_k=top_k)]
        if self.nodes:
            retrievers.append(_bm25(list(self.nodes.values()), top_k))
        self.fusion = QueryFusionRetriever(
            retrievers, llm=MockLLM(), mode="reciprocal_rerank", num_queries=1,
            use_async=False, similarity_top_k=top_k,
        )

    @property
    def chunk_count(self) -> int:
        return len(self.nodes)

    def embed(self, text: str) -> np.ndarray:
        return np.asarray(self.encoder.embed([text])[0], dtype=np.float32)

    def search(self, question: str, vector: np.ndarray) -> list[Hit]:
        """Best chunks first; a passage repeated in several articles comes back once."""
        if not self.nodes:
            return []
        bundle = QueryBundle(query_str=question, embedding=[float(x) for x in vector])
        found: list[NodeWithScore] = self.fusion.retrieve(bundle)
        hits = [
            Hit(n.node.node_id, n.node.get_content(), self.nodes[n.node.node_id].metadata, n.score or 0.0)
            for n in found
            if n.node.node_id in self.nodes
        ]
        return merge_repeats(hits)

    def sentences_of(self, hits: list[Hit]) -> list[Sentence]:
        """Every sentence of the hits, with its stored vector."""
        wanted = []
        for hit in [h for top in hits for h in [top, *top.also]]:
            count = len(json.loads(hit.meta["sentences"]))
            wanted.extend(f"{hit.id}:{i}" for i in range(count))
        if not wanted:
            return []
        got = self.sentences.get(ids=wanted, include=["embeddings"])
        vectors = dict(zip(got["ids"], got["embeddings"]))
        out = []
        for rank, top in enumerate(hits):
            for hit in [top, *top.also]:
                for i, (a, b) in enumerate(json.loads(hit.meta["sentences"])):
                    vector = vectors.get(f"{hit.id}:{i}")
                    if vector is None:
                        continue  # a half-written index: skip, the next `qa index` completes it
                    start = int(hit.meta["start"])
                    out.append(Sentence(hit.meta["source"], hit.text[a:b], start + a, start + b,
                                        np.asarray(vector, dtype=np.float32), hit.meta, rank, i))
        return out


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


def _load_nodes(collection: Any) -> dict[str, TextNode]:
    nodes = {}
    offset = 0
    while True:
        page = collection.get(include=["documents", "metadatas"], limit=5000, offset=offset)
        if not page["ids"]:
            break
        for cid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"]):
            clean = {k: v for k, v in meta.items() if not k.startswith("_")}
            nodes[cid] = TextNode(id_=cid, text=doc or "", metadata=clean)
        offset += len(page["ids"])
    return nodes


def _bm25(nodes: list[TextNode], top_k: int) -> Any:
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    return BM25Retriever.from_defaults(
        nodes=nodes, similarity_top_k=min(top_k, len(nodes)), stemmer=Stemmer.Stemmer("english"), language="english"
    )


__all__ = ["Hit", "Retriever", "Sentence", "merge_repeats", "same_passage"]
