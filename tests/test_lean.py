"""The query path is lean: a question imports nothing only indexing needs, ranks chunks as the
LlamaIndex retrievers do, loads its BM25 index from the store, and serves many threads at once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

import qa
from index import build_index
from qa.config import PROJECT_DIR, Settings
from qa.corpus import cache_dir
from qa.engine import Engine
from qa.errors import ConfigError
from qa.question import parts_of
from qa.retrieve import fuse
from tests.fake_openai import FakeOpenAI, reply

# Modules only indexing (or nothing at all) needs; answering a question must not load them.
INDEXING_ONLY = ("index.pipeline", "index.load", "index.clean", "index.chunk", "index.metadata",
                 "llama_index.core", "torch", "sentence_transformers", "transformers", "gradio", "matplotlib")
QUESTIONS = [json.loads(line)["question"] for line in (PROJECT_DIR / "eval" / "questions.jsonl").open()]


def imports_of_ask(settings: Settings, question: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """Run `qa ask` in a fresh process; its output and every module it imported (from -X importtime)."""
    import os

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "qa.cli", "ask", question,
         "--articles", str(settings.articles), "--store", str(settings.store)],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {line.split("|")[2].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return done.stdout, modules


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_an_offline_question_imports_nothing_only_indexing_needs(settings: Settings) -> None:
    out, modules = imports_of_ask(settings, "When did Russia lift the ban on tourist flights to Turkey?")
    assert "June 30" in out
    assert {"qa.engine", "qa.retrieve", "index.encoder", "chromadb", "bm25s"} <= modules  # the list is real
    assert loaded(modules, (*INDEXING_ONLY, "llama_index", "nltk", "openai")) == []


def test_an_llm_question_imports_no_llamaindex_either(settings: Settings) -> None:
    with FakeOpenAI() as server:
        server.script(reply("On June 30, Russia lifted a ban on tourist flights to Turkey [1]."))
        out, modules = imports_of_ask(settings, "When did Russia lift the ban on tourist flights to Turkey?",
                                      {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": server.url})
    assert "June 30" in out and "[1] 001_1dfbcbbfd773fe7a.txt" in out
    assert {"openai", "nltk"} <= modules  # the LLM client, and the sentence splitter that checks its reply
    assert loaded(modules, INDEXING_ONLY) == []


def test_fusion_keeps_each_chunk_once_at_its_best_rank() -> None:
    assert fuse([["a", "b"], ["b", "c"]], top_k=3) == [("a", 1 / 60), ("b", 1 / 60)]
    assert fuse([["a"], []], top_k=8) == [("a", 1 / 60)]
    assert [cid for cid, _ in fuse([["d1", "d2", "d3"], ["k1", "k2", "k3"]], top_k=4)] == ["d1", "k1", "d2", "k2"]


def test_chunks_are_ranked_as_the_llamaindex_retrievers_rank_them(engine: Engine, settings: Settings) -> None:
    reference = Engine(replace(settings, retriever="llamaindex"))
    ours, theirs = engine.retriever, reference.retriever
    asked = QUESTIONS + [part for q in QUESTIONS for part in parts_of(q)]
    for question in asked:
        vector = ours.embed(question)
        assert ours.rank(question, vector) == theirs.rank(question, vector), question
    for question in QUESTIONS[:10]:
        assert engine.ask(question).to_dict() == reference.ask(question).to_dict(), question


def test_an_unknown_retriever_is_one_line_of_advice(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="QA_RETRIEVER='bm42'.*'fused'.*'llamaindex'"):
        Engine(replace(settings, retriever="bm42"))


def copy_of(settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the session's articles and store (with its BM25 cache), for tests that change them."""
    shutil.copytree(settings.articles, tmp_path / "articles")
    shutil.copytree(settings.store, tmp_path / "store")
    return replace(settings, articles=tmp_path / "articles", store=tmp_path / "store")


def test_the_bm25_index_is_loaded_from_the_store_and_rebuilt_when_stale(settings: Settings, tmp_path: Path) -> None:
    copy = copy_of(settings, tmp_path)
    [cached] = list(cache_dir(copy).iterdir())  # saved by `qa index`
    articles = json.loads((cached / "articles.json").read_text())
    articles[0]["title"] = "Planted in the cache"
    (cached / "articles.json").write_text(json.dumps(articles))
    assert qa.load(settings=copy, build=False).articles()[0]["title"] == "Planted in the cache"  # read, not rebuilt

    with (copy.articles / "000_3c12290efbff3d9b.txt").open("a", encoding="utf-8") as f:
        f.write("\n\nThe zeppelin landed at Vnukovo airport on a Tuesday.\n")
    build_index(copy)
    engine = qa.load(settings=copy, build=False)
    assert [p.name for p in cache_dir(copy).iterdir()] == [engine.corpus.key] != [cached.name]
    assert "Planted in the cache" not in {a["title"] for a in engine.articles()}
    assert "zeppelin" in engine.retriever.search("zeppelin", engine.retriever.embed("zeppelin"))[0].text


def test_sentence_vectors_are_read_from_the_cache_not_from_chroma(settings: Settings, tmp_path: Path) -> None:
    """Chroma would load the whole sentence index (~2 KB a sentence) to return a question's 60 vectors."""
    copy = copy_of(settings, tmp_path)
    question = "When did Russia lift the ban on tourist flights to Turkey?"
    before = qa.load(settings=copy, build=False).ask(question)
    engine = qa.load(settings=copy, build=False)
    engine.retriever.sentences.delete(ids=engine.retriever.sentences.get(include=[])["ids"])
    assert engine.retriever.sentences.count() == 0
    assert qa.load(settings=copy, build=False).ask(question) == before


def test_a_store_changed_behind_the_cache_or_a_broken_cache_is_rebuilt(settings: Settings, tmp_path: Path) -> None:
    copy = copy_of(settings, tmp_path)
    engine = qa.load(settings=copy, build=False)
    gone = engine.corpus.ids[0]
    engine.retriever.collection.delete(ids=[gone])  # as a writer on another machine would, in server mode
    changed = qa.load(settings=copy, build=False)
    assert changed.stats["chunks"] == engine.stats["chunks"] - 1 and gone not in changed.corpus.ids

    for broken in ("bm25/data.csc.index.npy", "bm25/vocab.index.json", "rarity.json", "sentence_vectors.npy"):
        (cache_dir(copy) / changed.corpus.key / broken).write_bytes(b"garbage")
        repaired = qa.load(settings=copy, build=False)
        assert repaired.stats == changed.stats, broken
        assert not repaired.ask("When did Russia lift the ban on tourist flights to Turkey?").abstained, broken
        assert (cache_dir(copy) / changed.corpus.key / broken).read_bytes() != b"garbage", broken  # saved anew


def test_threads_asking_at_once_get_the_answers_asked_one_by_one(engine: Engine) -> None:
    questions = QUESTIONS[:8]
    alone = [engine.ask(q).to_dict() for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda q: engine.ask(q).to_dict(), questions * 2))
    assert together == alone * 2


def test_an_engine_runs_blas_on_one_thread(engine: Engine) -> None:
    """Its matrices are small; idle OpenBLAS threads would spin (qa/threads.py)."""
    from threadpoolctl import threadpool_info

    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)
