"""The LlamaIndex retrievers: VectorStoreIndex on Chroma and BM25Retriever, fused by QueryFusionRetriever.

The reference for `qa.retrieve.Retriever`, which does the same maths without importing LlamaIndex
(`tests/test_lean.py` compares them question by question). Choose it with QA_RETRIEVER=llamaindex;
it loads every chunk as a TextNode and builds its BM25 index at every start.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import MockLLM
from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import QueryBundle, TextNode
from pydantic import PrivateAttr

from qa.corpus import Corpus
from qa.retrieve import RRF_K, Retriever


class LlamaIndexRetriever(Retriever):
    """`Retriever` with LlamaIndex doing the ranking."""

    def __init__(self, collection: Any, sentences: Any, encoder: Any, corpus: Corpus, top_k: int) -> None:
        from llama_index.retrievers.bm25 import BM25Retriever
        from llama_index.vector_stores.chroma import ChromaVectorStore

        super().__init__(collection, sentences, encoder, corpus, top_k)
        nodes = _load_nodes(collection)
        index = VectorStoreIndex.from_vector_store(
            ChromaVectorStore(chroma_collection=collection), embed_model=_Embedding(encoder)
        )
        retrievers: list[BaseRetriever] = [index.as_retriever(similarity_top_k=top_k)]
        if nodes:
            import Stemmer

            bm25 = BM25Retriever.from_defaults(nodes=list(nodes.values()), similarity_top_k=min(top_k, len(nodes)),
                                               stemmer=Stemmer.Stemmer("english"), language="english")
            retrievers.append(bm25)
        self.fusion = QueryFusionRetriever(
            retrievers, llm=MockLLM(), mode=FUSION_MODES.RECIPROCAL_RANK, num_queries=1,
            use_async=False, similarity_top_k=top_k,
        )
        assert RRF_K == 60.0, "QueryFusionRetriever's reciprocal_rerank uses k = 60"

    def rank(self, question: str, vector: np.ndarray) -> list[tuple[str, float]]:
        if not self.corpus.ids:
            return []
        bundle = QueryBundle(query_str=question, embedding=[float(x) for x in vector])
        ranked: dict[str, float] = {}
        for n in self.fusion.retrieve(bundle):  # a chunk found by both retrievers comes twice: see retrieve.fuse
            ranked.setdefault(n.node.node_id, n.score or 0.0)
        return list(ranked.items())


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
