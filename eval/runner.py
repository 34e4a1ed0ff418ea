"""Run a question file through the engine as a user would, and score every answer.

    run = evaluate(engine, load_questions("eval/questions.jsonl"), k=5)
    run.results[0]["failed"]      # e.g. ["facts_missing"]
    summarise(run.results)        # {"overall": {...}, "by_category": {...}}
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eval import metrics
from eval.questions import CATEGORIES, Question
from qa.schema import DATE_NOTE, Answer
from qa.support import check

if TYPE_CHECKING:
    from qa.engine import Engine

ROUND = 4  # decimals of every figure in the JSON, so runs compare byte for byte
_CLAIM = re.compile(r"((?:\s*\[\d+\])+)")


@dataclass
class Run:
    meta: dict[str, Any]  # what was run: question file, k, index size, modes
    results: list[dict[str, Any]]  # one per question, in file order
    timings: dict[str, float]  # question id -> seconds for its answer; not deterministic


def evaluate(engine: Engine, questions: list[Question], k: int, articles: dict[str, str]) -> Run:
    """Ask every question, then score it; `articles` maps each source file to its text."""
    results, timings = [], {}
    for q in questions:
        started = time.perf_counter()
        answer = ask(engine, q)
        timings[q.id] = time.perf_counter() - started
        results.append(score(q, answer, k, articles))
    meta = {"k": k, "index": engine.stats, "modes": sorted({r["mode"] for r in results})}
    return Run(meta=meta, results=results, timings=timings)


def ask(engine: Engine, q: Question) -> Answer:
    """A follow-up runs as a conversation: its history is asked first, in the same chat."""
    if not q.history:
        return engine.ask(q.question)
    chat = engine.chat()
    for earlier in q.history:
        chat.ask(earlier)
    return chat.ask(q.question)


def score(q: Question, answer: Answer, k: int, articles: dict[str, str]) -> dict[str, Any]:
    """Everything measured about one answer, and the names of the checks it failed."""
    plain = metrics.strip_markers(answer.text)
    answered = plain if not answer.abstained else ""  # an abstention states no fact
    retrieved = answer.retrieved[:k]
    scores = {
        "hit_at_k": metrics.hit_at_k(retrieved, q.sources, k),
        "recall_at_k": metrics.recall_at_k(retrieved, q.sources, k),
        "reciprocal_rank": metrics.reciprocal_rank(retrieved, q.sources, k),
        "fact_recall": metrics.fact_recall(q.facts, answered),
    }
    if q.answer is not None:  # a question file may give no reference answer
        scores["token_f1"] = metrics.token_f1(answered, q.answer)
    result = {
        "id": q.id, "category": q.category, "answerable": q.answerable, "question": q.question,
        "history": q.history, "resolved_question": answer.resolved_question, "mode": answer.mode,
        "answer": answer.text, "abstained": answer.abstained, "gold_sources": q.sources, "retrieved": retrieved,
        "facts_missing": metrics.missing_facts(q.facts, answered),
        "scores": {name: round(v, ROUND) for name, v in scores.items()} if q.answerable else {},
        "citations": [_citation(c.id, c.source, c.start, c.end, c.quote, articles) for c in answer.citations],
        "claims": claims(answer),
    }  # fmt: skip
    result["failed"] = failed_checks(result)
    return result


def _citation(cid: int, source: str, start: int, end: int, quote: str, articles: dict[str, str]) -> dict[str, Any]:
    exact = articles.get(source, "")[start:end] == quote and bool(quote)
    cited = {"id": cid, "source": source, "start": start, "end": end, "exact": exact}
    if not exact:
        cited["quote"] = quote  # only an inexact quote is worth reading next to the file
    return cited


def claims(answer: Answer) -> list[dict[str, Any]]:
    """Each cited stretch of the answer, checked against its quotes by `qa.support.check`.

    Example: "A. [1] B. [2][3]" -> claims "A." citing [1] and "B." citing [2, 3]; a claim is supported
    when at least one of the quotes it cites supports it.
    """
    quotes = {c.id: c.quote for c in answer.citations}
    pieces = _CLAIM.split(DATE_NOTE.sub("", answer.text))  # "(Tuesday = June 28, 2016)" is ours, not a claim
    found = []
    for text, markers in zip(pieces[0::2], pieces[1::2]):
        ids = [int(i) for i in re.findall(r"\d+", markers)]
        checks = [check(text.strip(), quotes[i]) for i in ids if i in quotes]
        best = max(checks, key=lambda s: (s.supported, s.overlap), default=None)
        found.append({
            "sentence": text.strip(), "cites": ids, "supported": bool(best and best.supported),
            "missing": best.missing if best else [],
        })  # fmt: skip
    return found


def failed_checks(result: dict[str, Any]) -> list[str]:
    """Names of the checks one result failed. Example: ["facts_missing", "unsupported_claim"]."""
    answerable, abstained = result["answerable"], result["abstained"]
    off_source = any(c["source"] not in result["gold_sources"] for c in result["citations"])
    failed = {
        "retrieval_miss": answerable and result["scores"]["hit_at_k"] == 0,
        "false_abstention": answerable and abstained,
        "missed_abstention": not answerable and not abstained,
        "facts_missing": answerable and not abstained and bool(result["facts_missing"]),
        "off_source_citation": answerable and off_source,
        "inexact_citation": any(not c["exact"] for c in result["citations"]),
        "unsupported_claim": any(not c["supported"] for c in result["claims"]),
    }
    return [name for name, failed in failed.items() if failed]


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Every metric overall and per category (categories in the standard order, then others sorted)."""
    return {
        "overall": aggregate(results),
        "by_category": {c: aggregate([r for r in results if r["category"] == c]) for c in category_order(results)},
    }


def category_order(results: list[dict[str, Any]]) -> list[str]:
    """The categories present: the standard ones in their order, then others sorted."""
    seen = {r["category"] for r in results}
    return [c for c in CATEGORIES if c in seen] + sorted(seen - set(CATEGORIES))


def aggregate(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each metric as {value, low, high, n} (plus k for rates) over the results it applies to."""
    answerable = [r for r in results if r["answerable"]]
    out = {name: _mean([r["scores"][name] for r in answerable]) for name in ("recall_at_k", "reciprocal_rank")}
    out["hit_at_k"] = _rate(sum(int(r["scores"]["hit_at_k"]) for r in answerable), len(answerable))
    out["fact_recall"] = _rate(sum(int(r["scores"]["fact_recall"]) for r in answerable), len(answerable))
    out["token_f1"] = _mean([r["scores"]["token_f1"] for r in answerable if "token_f1" in r["scores"]])
    cites = [c for r in results for c in r["citations"]]
    out["citation_exactness"] = _rate(sum(c["exact"] for c in cites), len(cites))
    precise = [metrics.source_precision([c["source"] for c in r["citations"]], r["gold_sources"]) for r in answerable]
    out["source_precision"] = _rate(sum(k for k, _ in precise), sum(n for _, n in precise))
    claimed = [c for r in results for c in r["claims"]]
    out["support"] = _rate(sum(c["supported"] for c in claimed), len(claimed))
    counts = metrics.abstention([r["abstained"] for r in results], [r["answerable"] for r in results])
    out.update({name: _rate(k, n) for name, (k, n) in counts.items()})
    return {name: out[name] for name in METRICS}


METRICS = (
    "hit_at_k", "recall_at_k", "reciprocal_rank", "fact_recall", "token_f1", "citation_exactness",
    "source_precision", "support", "abstention_precision", "abstention_recall", "false_abstention_rate",
)  # fmt: skip
LOWER_IS_BETTER = {"false_abstention_rate"}


def _rate(k: int, n: int) -> dict[str, Any]:
    low, high = metrics.wilson(k, n)
    value = k / n if n else None
    return {"value": _r(value), "low": _r(low) if n else None, "high": _r(high) if n else None, "k": k, "n": n}


def _mean(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"value": None, "low": None, "high": None, "n": 0}
    mean, low, high = metrics.mean_interval(values)
    return {"value": _r(mean), "low": _r(max(0.0, low)), "high": _r(min(1.0, high)), "n": len(values)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, ROUND)


def latency(results: list[dict[str, Any]], timings: dict[str, float]) -> dict[str, dict[str, float]]:
    """p50/p95 milliseconds per answer, overall and per category."""
    groups: dict[str, list[float]] = {"overall": [timings[r["id"]] * 1000 for r in results]}
    for category in category_order(results):
        groups[category] = [timings[r["id"]] * 1000 for r in results if r["category"] == category]
    return {
        name: {"p50_ms": round(metrics.percentile(v, 50), 1), "p95_ms": round(metrics.percentile(v, 95), 1),
               "n": len(v)}
        for name, v in groups.items()
    }  # fmt: skip
