"""Speed and scale: this project against the naive LlamaIndex pipeline, on the same corpora, in one run.

    python -m bench.scale [--quick] [--out bench/scale.md] [--cache DIR]     # or: qa bench

Measures indexing (BBC corpus, ours vs naive at equal chunk size vs the raw encoders), re-indexing
(unchanged, 1% of files changed), warm latency (5 articles, BBC, 100,000 chunks), cold start
(`qa ask`, `qa serve`), the chat server's peak memory, and 8 chat users at once; writes a Markdown
report with every figure beside its baseline (and a JSON file of the raw figures beside it).
Each measurement runs in a fresh process (bench/runs.py); the cached scale stores come from
bench/stores.py. `--quick` is the same report on small inputs, in under 2 minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import serving, stores
from bench.measure import ROOT, machine, run
from qa.config import PROFILES

QUESTIONS = ROOT / "eval" / "questions.jsonl"
COLD_QUESTION = "When was the coup attempt in Turkey?"
CHUNK_TOKENS = 200  # ours packs at most 200 word pieces; the naive splitter gets chunk_size=200
NAIVE_OVERLAP = 20  # LlamaIndex's DEFAULT_CHUNK_OVERLAP; SentenceSplitter's own default (200) equals the chunk size
TOP_K = 8  # passages per question, ours (Settings.top_k) and the naive retriever's


@dataclasses.dataclass(frozen=True)
class Plan:
    """How much to measure: the full run, or the quick one."""

    quick: bool
    bbc_articles: int | None  # None: the whole corpus
    encoder_articles: int  # articles whose chunks the raw encoders embed
    five_questions: int | None  # of eval/questions.jsonl's single-turn ones (None: all)
    bbc_questions: int
    repeats: int  # passes over the 5-article questions
    cold_runs: int
    naive_cold_runs: int
    user_questions: int  # per chat user
    serve_bbc: bool
    build_100k: bool  # build the 100k store when it is not cached (else skip it)
    profiles_eval: bool = True  # the eval's figures per index profile (five articles, about 30 s)


FULL = Plan(quick=False, bbc_articles=None, encoder_articles=50, five_questions=None, bbc_questions=50, repeats=2,
            cold_runs=5, naive_cold_runs=3, user_questions=5, serve_bbc=True, build_100k=True)
QUICK = Plan(quick=True, bbc_articles=5, encoder_articles=2, five_questions=20, bbc_questions=10, repeats=1,
             cold_runs=3, naive_cold_runs=1, user_questions=1, serve_bbc=False, build_100k=False, profiles_eval=False)
TINY = dataclasses.replace(QUICK, bbc_articles=3, encoder_articles=1, five_questions=5, bbc_questions=3, cold_runs=1)


def main(argv: list[str] | None = None) -> int:
    return run_bench(parser().parse_args(argv))


def run_bench(args: argparse.Namespace) -> int:
    """Measure as `args` say (see `add_arguments`), write the report and its JSON."""
    plan = QUICK if args.quick else FULL
    if args.bbc_articles:
        plan = dataclasses.replace(plan, bbc_articles=args.bbc_articles)
    if not args.bbc.is_dir() or not any(args.bbc.glob("*.txt")):
        print(f"bench: no BBC corpus at {args.bbc}; pass --bbc DIR.", file=sys.stderr)
        return 2
    results = measure(plan, args.cache, args.bbc, log=_log)
    from bench.scale_report import render

    args.out.write_text(render(results))
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    _log(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The benchmark's options (also `qa bench`'s)."""
    cache = Path(os.environ.get("QA_BENCH_CACHE") or stores.DEFAULT_CACHE)
    p.add_argument("--quick", action="store_true", help="small inputs, under 2 minutes")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "scale.md", help="the Markdown report")
    p.add_argument("--cache", type=Path, default=cache,
                   help=f"folder of the cached scale stores (default $QA_BENCH_CACHE or {stores.DEFAULT_CACHE})")
    p.add_argument("--bbc", type=Path, default=stores.BBC, help=f"the BBC corpus (default {stores.BBC})")
    p.add_argument("--bbc-articles", type=int, help="index only the first N BBC articles (default: all; quick 5)")


def measure(plan: Plan, cache: Path, corpus: Path, log: Any = print) -> dict[str, Any]:
    """Every figure of the report, measured in this order (each step in fresh processes)."""
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        facts = machine()
        started = time.perf_counter()
        bbc = _sample(corpus, work / "bbc", plan.bbc_articles)
        inputs = {"five": eval_questions()[: plan.five_questions], "bbc": bbc_questions(corpus, plan.bbc_questions)}
        results: dict[str, Any] = {"plan": dataclasses.asdict(plan), "machine": facts, "corpus": str(corpus),
                                   "settings": {"chunk_tokens": CHUNK_TOKENS, "naive_overlap": NAIVE_OVERLAP,
                                                "top_k": TOP_K}}
        steps = [
            ("indexing", f"indexing {bbc['articles']} BBC articles: ours, naive, the raw encoders",
             lambda: indexing(plan, work, inputs["bbc"])),
            ("reindex", "re-indexing: unchanged, then 1% of the files changed", lambda: reindexing(work)),
            ("latency", "warm latency at 5 articles, BBC, 100,000 chunks",
             lambda: latencies(plan, work, cache, corpus, inputs, log)),
            ("cold", "cold start: qa ask, naive", lambda: cold(plan, work)),
            ("serving", "serving: qa serve, memory, 8 users",
             lambda: serve_all(plan, work, results["latency"], inputs)),
        ]
        for key, message, step in steps:
            log(message)
            try:
                results[key] = step()
            except Exception as e:  # noqa: BLE001 - a failed step is reported; the others still run
                log(f"{key} failed: {e}")
                results[key] = {"error": f"{type(e).__name__}: {str(e)[-500:]}"}
        facts["load_end"] = os.getloadavg()[0]
        results["seconds"] = time.perf_counter() - started
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def indexing(plan: Plan, work: Path, questions: list[str]) -> dict[str, Any]:
    bbc = str(work / "bbc")
    ours = run("index_ours", corpus=bbc, store=str(work / "store-ours"))
    fast = run("index_ours", corpus=bbc, store=str(work / "store-fast"), profile="fast")
    naive = run("index_naive", corpus=bbc, store=str(work / "naive-bbc"), chunk_size=CHUNK_TOKENS,
                chunk_overlap=NAIVE_OVERLAP, questions=questions, k=TOP_K)
    encoders = run("encoders", corpus=bbc, articles=plan.encoder_articles)
    quality = {p: run("eval_profile", store=str(work / f"eval-{p}"), profile=p) for p in PROFILES
               if plan.profiles_eval}
    return {"ours": ours, "fast": fast, "naive": naive, "encoders": encoders, "quality": quality}


def reindexing(work: Path) -> dict[str, Any]:
    """The store of the indexing run, re-indexed as is (a function call, and the `qa index` command), then with
    1% of the files edited."""
    args: dict[str, Any] = {"corpus": str(work / "bbc"), "store": str(work / "store-ours")}
    unchanged = run("index_ours", **args)
    command = serving.wall("-m", "qa.cli", "index", "--articles", args["corpus"], "--store", args["store"])
    edited = edit_files(work / "bbc", share=0.01)
    changed = run("index_ours", **args)
    return {"unchanged": unchanged, "unchanged_command_s": command, "edited_files": edited, "changed": changed}


def latencies(plan: Plan, work: Path, cache: Path, corpus: Path, inputs: dict[str, list[str]],
              log: Any) -> dict[str, Any]:
    five = str(ROOT / "articles")
    out: dict[str, Any] = {"five": {"index": run("index_ours", corpus=five, store=str(work / "store-5"))}}
    out["five"]["ours"] = run("latency", articles=five, store=str(work / "store-5"), questions=inputs["five"],
                              repeats=plan.repeats)
    out["five"]["naive"] = run("index_naive", corpus=five, store=str(work / "naive-5"), chunk_size=CHUNK_TOKENS,
                               chunk_overlap=NAIVE_OVERLAP, questions=inputs["five"] * plan.repeats, k=TOP_K)
    bbc = _bbc_store(plan, work, cache, corpus, log)
    out["bbc"] = {"store": bbc, "ours": run("latency", articles=bbc["articles"], store=bbc["store"],
                                            questions=inputs["bbc"])}
    big = _big_store(plan, cache, corpus, log)
    out["100k"] = {"store": big}
    if big.get("store"):
        out["100k"]["ours"] = run("latency", articles=big["articles"], store=big["store"], questions=inputs["bbc"])
        out["100k"]["naive"] = run("naive_query", store=big["store"], collection="articles",
                                   questions=inputs["bbc"], k=TOP_K)
    return out


def _bbc_store(plan: Plan, work: Path, cache: Path, corpus: Path, log: Any) -> dict[str, Any]:
    """The whole BBC corpus's cached store (built if missing, full run), else this run's smaller one."""
    if plan.bbc_articles is None:
        built = stores.ensure_bbc(cache, corpus, log=log)
        return {"store": str(built.store), "articles": str(built.articles), "cached": built.reused,
                "build_s": built.seconds, "how": built.how}
    return {"store": str(work / "store-ours"), "articles": str(work / "bbc"), "cached": False,
            "how": f"this run's index of the first {plan.bbc_articles} BBC articles (1% of them edited)"}


def _big_store(plan: Plan, cache: Path, corpus: Path, log: Any) -> dict[str, Any]:
    cached = stores.cached_100k(cache, corpus)
    if cached is None and not plan.build_100k:
        return {"skipped": f"no complete 100,000-chunk store in {cache} (a full run builds it)"}
    built = cached or stores.ensure_100k(cache, corpus, log=log)
    return {"store": str(built.store), "articles": str(built.articles), "cached": built.reused,
            "build_s": built.seconds, "how": built.how, "chunks": built.chunks, "sentences": built.sentences,
            "encoder": built.encoder}


def cold(plan: Plan, work: Path) -> dict[str, Any]:
    ask = serving.cold_ask(ROOT / "articles", work / "store-5", COLD_QUESTION, plan.cold_runs)
    naive = serving.cold_naive(work / "naive-5", COLD_QUESTION, TOP_K, plan.naive_cold_runs)
    return {"ask_s": ask, "naive_s": naive, "question": COLD_QUESTION}


def serve_all(plan: Plan, work: Path, latency: dict[str, Any], inputs: dict[str, list[str]]) -> dict[str, Any]:
    out = {"five": serve_one(ROOT / "articles", work / "store-5", inputs["five"], plan.user_questions)}
    if plan.serve_bbc:
        bbc = latency["bbc"]["store"]
        out["bbc"] = serve_one(Path(bbc["articles"]), Path(bbc["store"]), inputs["bbc"], plan.user_questions)
    return out


def serve_one(articles: Path, store: Path, questions: list[str], per_user: int, users: int = 8) -> dict[str, Any]:
    """`qa serve` from the command to ready; its peak RSS after warm-up, after 1 user, after 8 users at once."""
    with serving.Server(articles, store) as server:
        out: dict[str, Any] = {"http_s": server.http_s, "ready_s": server.ready_s}
        serving.users(server.url, [questions[:5]])
        out["warm_peak_rss_mb"], out["warm_rss_mb"] = server.peak_rss_mb(), server.rss_mb()
        asked = [[questions[(u * per_user + i) % len(questions)] for i in range(per_user)] for u in range(users)]
        out["one_user"] = serving.users(server.url, [[q for qs in asked for q in qs]])
        out["users"] = serving.users(server.url, asked)
        out["end_peak_rss_mb"], out["end_rss_mb"] = server.peak_rss_mb(), server.rss_mb()
    return out


def eval_questions() -> list[str]:
    """The single-turn questions of the eval (written from the five articles)."""
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows if not r["history"]]


def bbc_questions(corpus: Path, n: int, seed: int = 8) -> list[str]:
    """`n` questions written from BBC articles drawn with a fixed seed: from the headline, or a later sentence.

    Example: "Radcliffe yet to answer GB call ..." -> "What happened: Radcliffe yet to answer GB call?"
    """
    files = sorted(corpus.glob("*.txt"))
    out = []
    for i, path in enumerate(random.Random(seed).sample(files, min(n, len(files)))):
        words = path.read_text(encoding="utf-8", errors="replace").split()
        if i % 2 == 0:
            out.append("What happened: " + " ".join(words[:6]).rstrip(".,;:") + "?")
        else:
            middle = len(words) // 2
            out.append("What did the report say about " + " ".join(words[middle : middle + 7]).rstrip(".,;:") + "?")
    return out


def edit_files(folder: Path, share: float, seed: int = 8) -> list[str]:
    """Edit round(share * files) files (at least 1), chosen with a fixed seed: a sentence inserted mid-text,
    so the chunks after it move (their vectors are reusable) and one chunk's text changes."""
    files = sorted(folder.glob("*.txt"))
    chosen = random.Random(seed).sample(files, max(1, round(share * len(files))))
    for path in chosen:
        text = path.read_text(encoding="utf-8")
        stop = text.find(". ", len(text) // 2)
        cut = stop + 2 if stop >= 0 else len(text)
        path.write_text(text[:cut] + "This paragraph was added by an editor. " + text[cut:], encoding="utf-8")
    return sorted(p.name for p in chosen)


def _sample(corpus: Path, dest: Path, n: int | None) -> dict[str, Any]:
    """A copy of the first n articles of the corpus (all when n is None), to index and edit."""
    dest.mkdir(parents=True)
    files = sorted(corpus.glob("*.txt"))[:n]
    for path in files:
        shutil.copyfile(path, dest / path.name)
    return {"articles": len(files)}


def _log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
