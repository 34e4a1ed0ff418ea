"""The eval's outputs: report.json (deterministic), timings.json, report.md and scores.png.

report.json holds every figure and every per-question result, with sorted keys and rounded
floats, so two runs on the same index are byte-identical. Timings live in timings.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.runner import LOWER_IS_BETTER, METRICS

LABELS = {
    "hit_at_k": "source hit@k", "recall_at_k": "recall@k", "reciprocal_rank": "MRR",
    "fact_recall": "fact recall", "token_f1": "token F1", "citation_exactness": "citation exactness",
    "source_precision": "citation source precision", "support": "citation support",
    "abstention_precision": "abstention precision", "abstention_recall": "abstention recall",
    "false_abstention_rate": "false abstention rate",
}  # fmt: skip
GROUPS = {
    "Retrieval": ("hit_at_k", "recall_at_k", "reciprocal_rank"),
    "Answers": ("fact_recall", "token_f1"),
    "Citations": ("citation_exactness", "source_precision", "support"),
    "Abstention": ("abstention_precision", "abstention_recall", "false_abstention_rate"),
}
CHART = ("hit_at_k", "fact_recall", "token_f1", "support", "abstention_recall")


def dumps(doc: dict[str, Any]) -> str:
    """JSON that is byte-identical for equal content."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1) + "\n"


def write(out: Path, doc: dict[str, Any], latency: dict[str, Any], timings: dict[str, float],
          judge: dict[str, Any] | None = None) -> list[Path]:
    """Write the outputs into `out` (judge.json only with judge metrics); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "timings.json", out / "report.md", out / "scores.png"]
    paths[0].write_text(dumps(doc), encoding="utf-8")
    seconds = {qid: round(t, 4) for qid, t in timings.items()}
    paths[1].write_text(dumps({"latency": latency, "seconds": seconds}), encoding="utf-8")
    paths[2].write_text(markdown(doc, latency, judge), encoding="utf-8")
    chart(doc, paths[3])
    if judge:
        paths.append(out / "judge.json")
        paths[-1].write_text(dumps(judge), encoding="utf-8")
    return paths


def cell(m: dict[str, Any]) -> str:
    """One figure as text. Example: {"value": 0.5, "low": 0.4, "high": 0.6, "n": 90} -> "50.0% (40.0–60.0) n=90"."""
    if m["value"] is None:
        return f"– n={m['n']}"
    return f"{100 * m['value']:.1f}% ({100 * m['low']:.1f}–{100 * m['high']:.1f}) n={m['n']}"


def markdown(doc: dict[str, Any], latency: dict[str, Any], judge: dict[str, Any] | None = None) -> str:
    """The human report: headline table, per-category tables, latency, failing questions."""
    meta, summary = doc["meta"], doc["metrics"]
    cats = meta["categories"]
    lines = [
        "# Evaluation report", "",
        f"Questions: `{meta['questions']}` ({meta['n_questions']}); k = {meta['k']}; index: "
        f"{meta['index']['articles']} articles, {meta['index']['chunks']} chunks; mode: {', '.join(meta['modes'])}.",
        "Each figure: value (95% interval: Wilson for rates, normal approximation for means) and N.",
        _reference_line(doc["results"]), "",
    ]  # fmt: skip
    for group, names in GROUPS.items():
        lines += [f"## {group}", "", "| metric | overall | " + " | ".join(cats) + " |",
                  "|---" * (len(cats) + 2) + "|"]
        for name in names:
            row = [cell(summary["overall"][name])] + [cell(summary["by_category"][c][name]) for c in cats]
            lines.append(f"| {LABELS[name]} | " + " | ".join(row) + " |")
        lines.append("")
    lines += _latency_lines(latency) + _failure_lines(doc["results"]) + _judge_lines(judge)
    return "\n".join(lines) + "\n"


def _reference_line(results: list[dict[str, Any]]) -> str:
    """How many answerable questions have a reference answer, which token F1 needs."""
    answerable = [r for r in results if r["answerable"]]
    with_answer = sum("token_f1" in r["scores"] for r in answerable)
    if with_answer == len(answerable):
        return f"Token F1 is over all {with_answer} answerable questions (each has a reference answer)."
    return (f"Token F1 is over the {with_answer} of {len(answerable)} answerable questions that have a reference "
            "answer; the question file gives none for the others.")


def _latency_lines(latency: dict[str, Any]) -> list[str]:
    lines = ["## Latency (per answer; varies between runs)", "", "| | p50 ms | p95 ms | N |", "|---|---|---|---|"]
    lines += [f"| {name} | {v['p50_ms']} | {v['p95_ms']} | {v['n']} |" for name, v in latency.items()]
    return lines + [""]


def _failure_lines(results: list[dict[str, Any]]) -> list[str]:
    failing = [r for r in results if r["failed"]]
    lines = [f"## Failed checks ({len(failing)} of {len(results)} questions)", "",
             "| id | category | failed | question |", "|---|---|---|---|"]
    lines += [f"| {r['id']} | {r['category']} | {', '.join(r['failed'])} | {r['question']} |" for r in failing]
    return lines + [""]


def _judge_lines(judge: dict[str, Any] | None) -> list[str]:
    if not judge:
        return []
    lines = ["## LLM judge (LlamaIndex evaluators; not deterministic, never gates CI)", "",
             f"Model: {judge['model']}.", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {cell(m)} |" for name, m in judge["metrics"].items()]
    return lines + [""]


def chart(doc: dict[str, Any], path: Path) -> None:
    """A grouped bar chart of the main per-category scores with their intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_cat = doc["metrics"]["by_category"]
    cats = doc["meta"]["categories"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(CHART)
    for i, name in enumerate(CHART):
        xs: list[float] = []
        ys: list[float] = []
        errs: tuple[list[float], list[float]] = ([], [])
        for j, c in enumerate(cats):
            m = by_cat[c][name]
            if m["value"] is not None:
                xs.append(j + (i - (len(CHART) - 1) / 2) * width)
                ys.append(m["value"])
                errs[0].append(m["value"] - m["low"])
                errs[1].append(m["high"] - m["value"])
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=LABELS[name])
    ax.set_xticks(range(len(cats)), cats)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (95% interval)")
    ax.set_title(f"{doc['meta']['questions']}: scores by category (k = {doc['meta']['k']})")
    ax.legend(fontsize=8, ncols=len(CHART), loc="upper center", bbox_to_anchor=(0.5, -0.08))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def check(summary: dict[str, Any], thresholds: dict[str, dict[str, float]]) -> list[str]:
    """The threshold breaches, one line each. Keys: "overall.fact_recall", "conflict.fact_recall", ..."""
    breaches = []
    for bound, limits in sorted(thresholds.items()):
        for key, limit in sorted(limits.items()):
            scope, _, name = key.rpartition(".")
            block = summary["overall"] if scope == "overall" else summary["by_category"].get(scope, {})
            value = block.get(name, {}).get("value")
            if value is None:
                breaches.append(f"{key}: not measured (no such metric or no questions for it)")
            elif (bound == "min" and value < limit) or (bound == "max" and value > limit):
                word = "below its minimum" if bound == "min" else "above its maximum"
                breaches.append(f"{key} = {value:.4f} is {word} {limit:.4f}")
    return breaches


def direction(name: str) -> int:
    """+1 when a higher value is better, -1 when lower is."""
    return -1 if name in LOWER_IS_BETTER else 1


__all__ = ["METRICS", "chart", "check", "direction", "dumps", "markdown", "write"]
