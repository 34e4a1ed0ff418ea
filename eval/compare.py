"""Two eval runs side by side: every figure of A and B, and paired per-question differences.

    qa eval --compare eval/out-before/report.json eval/out/report.json
"""

from __future__ import annotations

from typing import Any

from eval import metrics
from eval.report import LABELS
from eval.runner import METRICS

PAIRED = ("hit_at_k", "recall_at_k", "reciprocal_rank", "fact_recall", "token_f1")


def paired(a: list[dict[str, Any]], b: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Mean of B - A over the answerable questions both runs share, its 95% interval, and counts.

    Example: A scores [1, 0], B scores [1, 1] -> mean 0.5, better 1, worse 0, n 2.
    """
    left = {r["id"]: r["scores"] for r in a if r["answerable"]}
    diffs = [r["scores"][name] - left[r["id"]][name] for r in b  # token F1 only where both have a reference answer
             if r["answerable"] and name in r["scores"] and name in left.get(r["id"], {})]
    mean, low, high = metrics.mean_interval(diffs)
    return {
        "mean": round(mean, 4), "low": round(low, 4), "high": round(high, 4), "n": len(diffs),
        "better": sum(d > 0 for d in diffs), "worse": sum(d < 0 for d in diffs),
    }  # fmt: skip


def changed(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[str]:
    """Questions whose outcome flipped: facts found or lost, abstention started or stopped."""
    left = {r["id"]: r for r in a}
    lines = []
    for r in b:
        old = left.get(r["id"])
        if old is None:
            continue
        if r["answerable"] and r["scores"]["fact_recall"] != old["scores"]["fact_recall"]:
            lines.append(f"{r['id']} ({r['category']}): facts {'found' if r['scores']['fact_recall'] else 'lost'}")
        if r["abstained"] != old["abstained"]:
            lines.append(f"{r['id']} ({r['category']}): {'now abstains' if r['abstained'] else 'no longer abstains'}")
    return lines


def markdown(a: dict[str, Any], b: dict[str, Any], a_name: str, b_name: str) -> str:
    """The comparison report: figures side by side, paired differences, flipped questions."""
    lines = [f"# Eval comparison: A = `{a_name}`, B = `{b_name}`", ""]
    if a["meta"]["questions_sha256"] != b["meta"]["questions_sha256"]:
        lines += ["Note: the runs used different question files; paired figures use the shared ids.", ""]
    scopes = ["overall", *[c for c in b["meta"]["categories"] if c in a["metrics"]["by_category"]]]
    lines += ["## Figures", "", "| metric | scope | A | B | B − A |", "|---|---|---|---|---|"]
    for name in METRICS:
        for scope in scopes:
            ma, mb = _block(a, scope)[name], _block(b, scope)[name]
            lines.append(f"| {LABELS[name]} | {scope} | {_pct(ma['value'])} | {_pct(mb['value'])} | "
                         f"{_delta(ma['value'], mb['value'])} |")
    lines += ["", "## Paired differences (B − A per question, answerable questions in both runs)", "",
              "| metric | mean (95% interval) | better | worse | N |", "|---|---|---|---|---|"]
    for name in PAIRED:
        d = paired(a["results"], b["results"], name)
        lines.append(f"| {LABELS[name]} | {100 * d['mean']:+.1f} pts ({100 * d['low']:+.1f} to {100 * d['high']:+.1f}) "
                     f"| {d['better']} | {d['worse']} | {d['n']} |")
    flips = changed(a["results"], b["results"])
    lines += ["", f"## Questions that changed ({len(flips)})", "", *[f"- {f}" for f in flips]]
    return "\n".join(lines) + "\n"


def _block(doc: dict[str, Any], scope: str) -> dict[str, Any]:
    return doc["metrics"]["overall"] if scope == "overall" else doc["metrics"]["by_category"][scope]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _delta(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None else f"{100 * (b - a):+.1f} pts"
