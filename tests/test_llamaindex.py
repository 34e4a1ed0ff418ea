"""The engine as LlamaIndex objects, driven the way LlamaIndex's documentation drives its own: a
retriever, a query engine and a chat engine answering from our index with our checked citations."""

from __future__ import annotations

import asyncio

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.chat_engine.types import BaseChatEngine
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore

from qa.config import Settings
from qa.engine import Engine

RUSSIA = "When did Russia lift the ban on tourist flights to Turkey?"
KYIV = "What did Putin criticise Kyiv for?"
ANKARA = "How did Ankara respond to that?"


def assert_exact_spans(nodes: list[NodeWithScore], settings: Settings) -> None:
    """Every node's text is its file's text at the node's offsets, given twice: as LlamaIndex's fields and ours."""
    assert nodes
    for n in nodes:
        node, meta = n.node, n.node.metadata
        text = (settings.articles / meta["source"]).read_text(encoding="utf-8")
        assert (node.start_char_idx, node.end_char_idx) == (meta["start"], meta["end"])
        assert text[meta["start"]:meta["end"]] == node.get_content()
        assert meta["title"] and meta["date"] and "outlet" in meta  # "" for an article that names none


def test_a_query_engine_answers_with_our_text_and_cites_exact_quotes(engine: Engine, settings: Settings) -> None:
    query_engine = engine.as_query_engine()
    assert isinstance(query_engine, BaseQueryEngine)

    response = query_engine.query(RUSSIA)

    ours = engine.ask(RUSSIA)
    assert str(response) == ours.text and "June 30" in str(response)
    assert_exact_spans(response.source_nodes, settings)
    assert [n.node.get_content() for n in response.source_nodes] == [c.quote for c in ours.citations]
    assert [n.node.metadata["citation"] for n in response.source_nodes] == [c.id for c in ours.citations]
    assert response.source_nodes[0].node.metadata["source"] == "001_1dfbcbbfd773fe7a.txt"
    assert response.metadata and response.metadata["abstained"] is False


def test_a_query_the_articles_do_not_answer_abstains_with_no_sources(engine: Engine) -> None:
    response = engine.as_query_engine().query("What is the capital of Australia?")
    assert response.metadata and response.metadata["abstained"] is True
    assert response.source_nodes == []


def test_a_retriever_returns_chunks_with_our_metadata_and_offsets(engine: Engine, settings: Settings) -> None:
    retriever = engine.as_retriever()
    assert isinstance(retriever, BaseRetriever)

    nodes = retriever.retrieve("When was the coup attempt in Turkey?")

    assert all(isinstance(n, NodeWithScore) and n.score for n in nodes)
    assert_exact_spans(nodes, settings)
    question = "When was the coup attempt in Turkey?"
    ranked = [cid for cid, _ in engine.retriever.rank(question, engine.retriever.embed(question))]
    assert [n.node.node_id for n in nodes if n.node.node_id in ranked] == [c for c in ranked if c in
                                                                          {n.node.node_id for n in nodes}]
    assert "sentences" not in nodes[0].node.metadata  # the index's bookkeeping stays inside
    assert len({n.node.node_id for n in engine.as_retriever(similarity_top_k=2).retrieve(question)}) <= 2


def test_the_retriever_plugs_into_a_llamaindex_query_engine(engine: Engine, settings: Settings) -> None:
    """LlamaIndex's own RetrieverQueryEngine over our retriever: its sources are our chunks."""
    query_engine = RetrieverQueryEngine.from_args(engine.as_retriever(), llm=MockLLM())  # MockLLM: no key needed
    response = query_engine.query(RUSSIA)
    assert_exact_spans(response.source_nodes, settings)
    assert any("On June 30, Russia lifted a ban" in n.node.get_content() for n in response.source_nodes)


def test_a_chat_engine_resolves_a_follow_up_as_our_chat_does(engine: Engine, settings: Settings) -> None:
    chat_engine = engine.as_chat_engine()
    assert isinstance(chat_engine, BaseChatEngine)

    chat_engine.chat(KYIV)
    response = chat_engine.chat(ANKARA)

    chat = engine.chat()
    chat.ask(KYIV)
    ours = chat.ask(ANKARA)
    assert str(response) == ours.text
    assert response.metadata and response.metadata["resolved_question"] == f"{ANKARA} (Putin criticise Kyiv)"
    assert_exact_spans(response.source_nodes, settings)
    assert [m.content for m in chat_engine.chat_history] == [KYIV, chat_engine.chat_history[1].content, ANKARA,
                                                             ours.text]
    chat_engine.reset()
    assert chat_engine.chat_history == []
    assert chat_engine.chat(ANKARA).metadata["resolved_question"] == ANKARA  # type: ignore[index]


def test_a_chat_history_passed_in_replaces_the_engines_own(engine: Engine) -> None:
    chat_engine = engine.as_chat_engine()
    chat_engine.chat("When was the coup attempt in Turkey?")
    response = chat_engine.chat(ANKARA, chat_history=[ChatMessage(role="user", content=KYIV),
                                                      ChatMessage(role="assistant", content="...")])
    assert response.metadata and response.metadata["resolved_question"] == f"{ANKARA} (Putin criticise Kyiv)"


def test_a_streamed_chat_gives_the_answer_in_pieces_then_its_sources(engine: Engine, settings: Settings) -> None:
    streamed = engine.as_chat_engine().stream_chat(RUSSIA)
    pieces = list(streamed.response_gen)
    assert len(pieces) > 1 and "".join(pieces) == engine.ask(RUSSIA).text
    assert_exact_spans(streamed.source_nodes, settings)

    async def both() -> tuple[str, str]:
        chat_engine = engine.as_chat_engine()
        whole = await chat_engine.achat(RUSSIA)
        stream = await chat_engine.astream_chat(RUSSIA)
        return str(whole), "".join([piece async for piece in stream.async_response_gen()])

    assert asyncio.run(both()) == (engine.ask(RUSSIA).text,) * 2
