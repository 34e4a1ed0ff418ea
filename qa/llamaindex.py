"""The engine as LlamaIndex objects: a retriever, a query engine and a chat engine over our index.

    retriever = engine.as_retriever()
    retriever.retrieve("When was the coup attempt in Turkey?")      # NodeWithScore: chunks with our metadata
    response = engine.as_query_engine().query("When did Russia lift the ban on tourist flights to Turkey?")
    str(response)             # the checked answer, with [n] markers
    response.source_nodes     # the cited quotes: node.text == file[start:end]
    chat_engine = engine.as_chat_engine()
    chat_engine.chat("What did Putin criticise Kyiv for?")
    chat_engine.chat("How did Ankara respond to that?")               # resolved as `engine.chat()` resolves it

Imported only when one of them is asked for (`Engine.as_retriever` and siblings): LlamaIndex takes
about a second to import, and the `qa ask` path does without it (tests/test_lean.py).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncGenerator, Generator
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.base.response.schema import Response
from llama_index.core.chat_engine.types import AgentChatResponse, BaseChatEngine, StreamingAgentChatResponse
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from qa.chat import Chat, turns_from
from qa.engine import Engine
from qa.retrieve import Hit
from qa.schema import Answer, Citation

# Chunk metadata a caller can use; the rest (content hashes, sentence offsets) is the index's bookkeeping.
PUBLIC = ("source", "title", "date", "outlet", "authors", "date_note", "start", "end")
_NOT_FOR_LLM = ["start", "end", "date_note", "citation", "also"]  # kept out of the text an LLM is shown


class NewsRetriever(BaseRetriever):
    """Our hybrid retrieval (Chroma + BM25, fused by reciprocal rank) as a LlamaIndex retriever.

    Each node is a chunk of one article: `node.text == file[node.start_char_idx:node.end_char_idx]`,
    and `node.metadata` has its source, title, outlet, date and the same offsets as `start` / `end`.
    A passage repeated in other articles follows its first copy, with the same score.
    """

    def __init__(self, engine: Engine, similarity_top_k: int | None = None) -> None:
        super().__init__()
        self._retriever = engine.retriever
        if similarity_top_k is not None:
            self._retriever = copy.copy(engine.retriever)  # the same store and encoder, another top_k
            self._retriever.top_k = similarity_top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        question = query_bundle.query_str
        hits = self._retriever.search(question, self._retriever.embed(question))  # our encoder, not the bundle's
        return [NodeWithScore(node=chunk_node(hit), score=top.score) for top in hits for hit in [top, *top.also]]


class NewsQueryEngine(CustomQueryEngine):
    """`engine.ask` as a LlamaIndex query engine: the Response's text is our answer and its
    `source_nodes` are the quotes it cites, each an exact span of its article."""

    engine: Any  # qa.Engine; Any because pydantic cannot validate it

    def custom_query(self, query_str: str) -> Response:
        return as_response(self.engine.ask(query_str))


class NewsChatEngine(BaseChatEngine):
    """`engine.chat()` as a LlamaIndex chat engine: a follow-up is searched with the earlier
    question's topic (or an LLM's standalone rewrite), shown in `response.metadata["resolved_question"]`."""

    def __init__(self, engine: Engine) -> None:
        self._chat = engine.chat()

    def reset(self) -> None:
        self._chat.reset()

    @property
    def chat_history(self) -> list[ChatMessage]:
        messages = []
        for question, answer in self._chat.turns:
            messages += [ChatMessage(role=MessageRole.USER, content=question),
                         ChatMessage(role=MessageRole.ASSISTANT, content=answer.text)]
        return messages

    def chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        """Answer `message` after this conversation's turns (or after `chat_history`, which replaces them)."""
        self._continue(chat_history)
        answer = self._chat.ask(message)
        return AgentChatResponse(response=answer.text, source_nodes=cited_nodes(answer), metadata=_meta(answer))

    def stream_chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> StreamingAgentChatResponse:
        """Text pieces in `response_gen`; once it is drained, `source_nodes` are the quotes the answer cites."""
        self._continue(chat_history)
        response = StreamingAgentChatResponse(is_writing_to_memory=False)
        response.chat_stream = self._pieces(self._chat, message, response)
        return response

    async def achat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        return await asyncio.to_thread(self.chat, message, chat_history)

    async def astream_chat(self, message: str,
                           chat_history: list[ChatMessage] | None = None) -> StreamingAgentChatResponse:
        response = await asyncio.to_thread(self.stream_chat, message, chat_history)
        pieces = list(await asyncio.to_thread(list, response.chat_stream or []))
        response.chat_stream = None
        response.achat_stream = _async(pieces)
        return response

    def _continue(self, chat_history: list[ChatMessage] | None) -> None:
        if chat_history is not None:  # LlamaIndex's meaning: this history instead of the engine's own
            self._chat.turns = turns_from([m.content for m in chat_history if m.role == MessageRole.USER and m.content])

    @staticmethod
    def _pieces(chat: Chat, message: str, response: StreamingAgentChatResponse) -> Generator[ChatResponse, None, None]:
        text = ""
        for piece in chat.stream(message):
            if isinstance(piece, Answer):
                response.source_nodes.extend(cited_nodes(piece))
            else:
                text += piece
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=piece)


async def _async(pieces: list[ChatResponse]) -> AsyncGenerator[ChatResponse, None]:
    for piece in pieces:
        yield piece


def chunk_node(hit: Hit) -> TextNode:
    """A retrieved chunk as a TextNode: its ID, text, public metadata and offsets into its file."""
    meta = {k: hit.meta[k] for k in PUBLIC if k in hit.meta}
    start, end = int(hit.meta["start"]), int(hit.meta["end"])
    return TextNode(id_=hit.id, text=hit.text, metadata=meta, start_char_idx=start, end_char_idx=end,
                    excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=_NOT_FOR_LLM)


def cited_node(c: Citation) -> NodeWithScore:
    """A citation as a node: the exact quote, `metadata["citation"]` its [n] in the answer.

    Example: citation [1] of 001_1dfbcbbfd773fe7a.txt, 2010-2245 -> TextNode(id_="001_1dfbcbbfd773fe7a.txt:2010-2245")
    """
    meta: dict[str, Any] = {"citation": c.id, "source": c.source, "title": c.title, "date": c.date,
                            "outlet": c.outlet, "start": c.start, "end": c.end,
                            "also": [p.source for p in c.also]}  # other articles saying the same
    node = TextNode(id_=f"{c.source}:{c.start}-{c.end}", text=c.quote, metadata=meta, start_char_idx=c.start,
                    end_char_idx=c.end, excluded_embed_metadata_keys=list(meta),
                    excluded_llm_metadata_keys=_NOT_FOR_LLM)
    return NodeWithScore(node=node, score=None)


def cited_nodes(answer: Answer) -> list[NodeWithScore]:
    return [cited_node(c) for c in answer.citations]


def as_response(answer: Answer) -> Response:
    """An Answer as a LlamaIndex Response; `metadata` keeps what LlamaIndex has no field for."""
    return Response(response=answer.text, source_nodes=cited_nodes(answer), metadata=_meta(answer))


def _meta(answer: Answer) -> dict[str, Any]:
    return {"abstained": answer.abstained, "mode": answer.mode, "question": answer.question,
            "resolved_question": answer.resolved_question, "conflicts": answer.conflicts,
            "unsupported": answer.unsupported, "notice": answer.notice, "retrieved": answer.retrieved}
