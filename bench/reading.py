"""The offline answerers side by side: the trained reader, the hand rules, and the nearest sentence.

    .venv/bin/python -m bench.reading                       # writes bench/reading.md and bench/reading.json
    .venv/bin/python -m bench.reading --sets squad-tune     # one question set
    .venv/bin/python -m bench.reading --bbc PATH            # the BBC archive (default: ../shared/corpora/bbc)

Question sets, each asked over an index of its whole corpus:
- `eval`: eval/questions.jsonl over the five articles (held out: never tuned on);
- `squad`: SQuAD 2.0's validation articles (train/squad.py's split), one file per paragraph (never trained
  or tuned on); `squad-tune`: its tuning article;
- `news`: eval/news_dev.jsonl over the 2,125 BBC articles (dev: thresholds are set on it);
- `dev`: eval/dev.jsonl over the five articles (dev).
For each: facts found in answerable answers, unanswerable questions abstained, answerable ones abstained
wrongly, and the first citation answering (SQuAD: the quote holds the answer's start; else: a gold source).
The reader's sweep (`--sweep`) gives the same figures for each abstention threshold.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.questions import Question

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
WORK = Path.home() / ".cache" / "news-qa-bench" / "reading"
SETS = ("eval", "squad", "news", "squad-tune", "dev")


@dataclass
class Case:
    q: Question
    starts: list[int]  # SQuAD: the answers' offsets in their file


def squad_set(titles: tuple[str, ...], folder: Path) -> list[Case]:
    """The articles' paragraphs as files (title line, blank line, paragraph) and their questions."""
    from train import squad

    folder.mkdir(parents=True, exist_ok=True)
    articles = squad.load()
    cases = []
    for title in titles:
        for n, p in enumerate(articles[title]):
            name = f"{title}_{n:03d}.txt"
            head = f"{p.title}\n\n"
            if not (folder / name).exists():
                (folder / name).write_text(head + p.text + "\n", encoding="utf-8")
            for qa in p.questions:
                answers = qa.get("answers", [])
                facts = ["|".join(sorted({a["text"] for a in answers}))] if answers else []
                q = Question(qa["id"], qa["question"], None, [name] if answers else [], facts,
                             "single" if answers else "unanswerable", bool(answers))
                cases.append(Case(q, [len(head) + a["answer_start"] for a in answers]))
    return cases


def file_set(path: Path) -> list[Case]:
    from eval.questions import load_questions

    return [Case(q, []) for q in load_questions(path)]


def corpus_for(name: str, bbc: Path) -> tuple[Path, list[Case]]:
    from train.squad import TUNE, VALIDATION

    if name == "squad":
        return WORK / "squad-validation", squad_set(VALIDATION, WORK / "squad-validation" / "articles")
    if name == "squad-tune":
        return WORK / "squad-tune", squad_set(TUNE, WORK / "squad-tune" / "articles")
    if name == "news":
        return WORK / "bbc", file_set(ROOT / "eval" / "news_dev.jsonl")
    return WORK / "five", file_set(ROOT / "eval" / ("questions.jsonl" if name == "eval" else "dev.jsonl"))


def engine_for(home: Path, name: str, bbc: Path, answerer: str) -> Any:
    import qa
    from index import build_index
    from qa.config import Settings

    articles = {"news": bbc, "eval": ROOT / "articles", "dev": ROOT / "articles"}.get(name, home / "articles")
    settings = Settings(articles=articles, store=home / "store", answerer=answerer)
    build_index(settings)  # nothing to do when it is built and current
    return qa.load(settings=settings, build=False)


def ask(engine: Any, c: Case) -> Any:
    from eval.runner import ask

    return ask(engine, c.q)


def first_answers(c: Case, answer: Any) -> bool:
    if not answer.citations:
        return False
    first = answer.citations[0]
    if c.starts:
        return first.source in c.q.sources and any(first.start <= s < first.end for s in c.starts)
    return first.source in c.q.sources or any(p.source in c.q.sources for p in first.also)


def nearest(engine: Any, c: Case) -> Any:
    """The single retrieved sentence closest to the question by cosine, cited; never abstains."""
    from qa.extractive import passage_of
    from qa.schema import Answer, Citation

    found = engine.find(c.q.question)
    if not found.sentences:
        return Answer(text="", citations=[], abstained=True, mode="extractive")
    qvec = engine.retriever.embed(c.q.question)
    best = max(found.sentences, key=lambda s: float(np.dot(qvec, s.vector)))
    cite = Citation(**vars(passage_of(best)), id=1)
    return Answer(text=best.text + " [1]", citations=[cite], abstained=False, mode="extractive",
                  confidence=float(np.dot(qvec, best.vector)))


def run(cases: list[Case], answer_of: Callable[[Case], Any]) -> list[dict[str, Any]]:
    from eval.metrics import missing_facts

    rows = []
    for c in cases:
        t = time.perf_counter()
        a = answer_of(c)
        ms = (time.perf_counter() - t) * 1000
        rows.append({"id": c.q.id, "answerable": c.q.answerable, "abstained": a.abstained, "ms": ms,
                     "facts": bool(c.q.facts) and not a.abstained and not missing_facts(c.q.facts, a.text),
                     "first": first_answers(c, a), "confidence": a.confidence})
    return rows


def figures(rows: list[dict[str, Any]], threshold: float | None = None) -> dict[str, float]:
    """Percentages; with `threshold`, an answer whose confidence is below it counts as abstained."""
    def abstained(r: dict[str, Any]) -> bool:
        return r["abstained"] or (threshold is not None and (r["confidence"] or -1e9) < threshold)

    yes = [r for r in rows if r["answerable"]]
    no = [r for r in rows if not r["answerable"]]
    pct = lambda k, n: round(100 * k / n, 1) if n else float("nan")  # noqa: E731
    return {"facts": pct(sum(r["facts"] and not abstained(r) for r in yes), len(yes)),
            "first_cites_answer": pct(sum(r["first"] and not abstained(r) for r in yes), len(yes)),
            "abstention": pct(sum(abstained(r) for r in no), len(no)),
            "false_abstention": pct(sum(abstained(r) for r in yes), len(yes)),
            "answerable": len(yes), "unanswerable": len(no),
            "ms_p50": round(statistics.median(r["ms"] for r in rows), 1),
            "ms_p95": round(float(np.percentile([r["ms"] for r in rows], 95)), 1)}


def measure(name: str, bbc: Path, sweep: bool) -> dict[str, Any]:
    from qa import reading

    home, cases = corpus_for(name, bbc)
    out: dict[str, Any] = {"questions": len(cases)}
    reader = engine_for(home, name, bbc, "reader")
    for c in cases[:3]:
        ask(reader, c)  # warm up
    out["reader"] = figures(rows := run(cases, lambda c: ask(reader, c)))
    if sweep:
        saved = reading.ABSTAIN_BELOW
        reading.ABSTAIN_BELOW = -1e9
        try:
            never = run(cases, lambda c: ask(reader, c))
        finally:
            reading.ABSTAIN_BELOW = saved
        out["reader_sweep"] = {f"{t:+.1f}": figures(never, t) for t in np.arange(-4.0, 4.01, 0.5)}
    out["reader_rows"] = rows
    rules = engine_for(home, name, bbc, "rules")
    out["rules"] = figures(run(cases, lambda c: ask(rules, c)))
    near = run(cases, lambda c: nearest(rules, c))  # single-turn: a follow-up is searched as asked
    out["nearest"] = figures(near)
    return out


def report(results: dict[str, Any]) -> str:
    lines = ["# Offline answerers side by side", "",
             "`python -m bench.reading`: the trained reader (qa/reading.py), the hand rules (qa/extractive.py) and",
             "the nearest sentence by cosine (never abstains), on the same index and questions, in one run.",
             "Facts: answerable questions whose answer holds every fact. First cites: the first citation holds",
             "the answer (SQuAD: the answer's own sentence; else a gold article). Abstention: unanswerable",
             "questions answered \"the articles don't say\"; false abstention: answerable ones.", ""]
    for name, r in results.items():
        lines += [f"## {name} ({r['questions']} questions: {r['reader']['answerable']} answerable, "
                  f"{r['reader']['unanswerable']} not)", "",
                  "| answerer | facts % | first cites answer % | abstention % | false abstention % "
                  "| ask p50 / p95 ms |",
                  "|---|---:|---:|---:|---:|---|"]
        for who in ("reader", "rules", "nearest"):
            f = r[who]
            lines.append(f"| {who} | {f['facts']} | {f['first_cites_answer']} | {f['abstention']} | "
                         f"{f['false_abstention']} | {f['ms_p50']} / {f['ms_p95']} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.reading", description=__doc__.splitlines()[0])
    p.add_argument("--sets", nargs="+", choices=SETS, default=["eval", "squad", "news"])
    p.add_argument("--bbc", type=Path, default=BBC, help="the BBC archive folder")
    p.add_argument("--sweep", action="store_true", help="the reader's figures at each abstention threshold")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "reading.md")
    args = p.parse_args(argv)
    results = {}
    for name in args.sets:
        results[name] = measure(name, args.bbc, args.sweep)
        print(name, json.dumps({k: v for k, v in results[name].items() if k != "reader_rows"}, indent=1), flush=True)
    args.out.write_text(report(results), encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
