"""`qa eval`: run a question file and write the reports, compare two runs, or gate on thresholds."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from qa.config import PROJECT_DIR, Settings
from qa.errors import LLMError, QAError

QUESTIONS = PROJECT_DIR / "eval" / "questions.jsonl"
THRESHOLDS = PROJECT_DIR / "eval" / "thresholds.json"
OUT = PROJECT_DIR / "eval" / "out"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--questions", type=Path, default=QUESTIONS, help="question file (default: eval/questions.jsonl)")
    p.add_argument("--k", type=int, default=3, help="retrieved articles scored for hit@k, recall@k, MRR (default 3)")
    p.add_argument("--out", type=Path, default=OUT, help="folder for the reports (default: eval/out)")
    p.add_argument("--check", action="store_true", help="exit 1 when a metric breaks eval/thresholds.json")
    p.add_argument("--thresholds", type=Path, default=THRESHOLDS, help="thresholds for --check")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A.json", "B.json"), help="compare two report.json")
    p.add_argument("--judge", action="store_true", help="add LLM-judged faithfulness and correctness (needs a key)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.compare:
        from eval.compare import markdown

        a, b = (_read_json(p) for p in args.compare)
        print(markdown(a, b, str(args.compare[0]), str(args.compare[1])), end="")
        return 0
    if args.k < 1:
        raise QAError("--k must be 1 or more.")
    thresholds = _read_json(args.thresholds) if args.check else {}
    doc, paths = evaluate_to(settings, args.questions, args.k, args.out, args.judge)
    _print_headline(doc, paths)
    if not args.check:
        return 0
    from eval.report import check

    breaches = check(doc["metrics"], thresholds)
    for line in breaches:
        print(f"qa eval --check: {line}", file=sys.stderr)
    print(f"check: {'FAILED' if breaches else 'passed'} ({args.thresholds.name})")
    return 1 if breaches else 0


def evaluate_to(settings: Settings, questions_path: Path, k: int, out: Path,
                judge: bool) -> tuple[dict[str, Any], list[Path]]:
    """Run the questions, write the reports into `out`; (report.json's content, paths written)."""
    import qa
    from eval import report
    from eval.questions import load_questions
    from eval.runner import evaluate, latency, summarise
    from index.load import load_folder

    questions = load_questions(questions_path)
    llm = _judge_llm(settings) if judge else None  # a missing key is reported before the long run
    engine = qa.load(settings=settings)
    articles = {f.source: f.text for f in load_folder(settings.articles)[0]}
    result = evaluate(engine, questions, k, articles)
    meta = {**result.meta, "questions": questions_path.name, "n_questions": len(questions),
            "questions_sha256": hashlib.sha256(questions_path.read_bytes()).hexdigest()}
    summary = summarise(result.results)
    meta["categories"] = list(summary["by_category"])  # the report's column order; JSON keys are sorted
    doc = {"meta": meta, "metrics": summary, "results": result.results}
    verdicts = _judge(llm, settings.llm_model, questions, result.results, articles) if llm else None
    paths = report.write(out, doc, latency(result.results, result.timings), result.timings, verdicts)
    return doc, paths


def _judge_llm(settings: Settings) -> Any:
    from eval.judge import make_llm

    return make_llm(settings)


def _judge(llm: Any, model: str, questions: list[Any], results: list[dict[str, Any]],
           articles: dict[str, str]) -> dict[str, Any] | None:
    """The judge's verdicts, or None (with a warning) when the LLM fails: the offline report stands."""
    from eval.judge import judge

    quotes = {r["id"]: [c.get("quote") or articles[c["source"]][c["start"]:c["end"]] for c in r["citations"]]
              for r in results}
    try:
        return judge(llm, questions, results, quotes, model)
    except LLMError as e:
        print(f"qa eval: warning: {e}", file=sys.stderr)
        return None


def _print_headline(doc: dict[str, Any], paths: list[Path]) -> None:
    overall = doc["metrics"]["overall"]
    names = ("hit_at_k", "fact_recall", "token_f1", "support", "abstention_recall", "false_abstention_rate")
    figures = ", ".join(f"{n} {100 * overall[n]['value']:.1f}%" for n in names if overall[n]["value"] is not None)
    print(f"{doc['meta']['n_questions']} questions: {figures}")
    print("wrote " + ", ".join(str(p) for p in paths))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise QAError(f"Cannot read {path}: {e.strerror}.") from None
    except json.JSONDecodeError as e:
        raise QAError(f"{path} is not JSON ({e.msg}); pass a report.json written by `qa eval`.") from None
