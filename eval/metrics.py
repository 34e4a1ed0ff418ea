"""The eval's measures, as pure functions over strings and lists: no engine, no files.

Text matching (facts, token F1) compares `normalise`d text: case-folded, accents folded
("Erdoğan" ~ "Erdogan"), curly quotes and apostrophes made straight, dashes made hyphens,
non-breaking and other Unicode spaces made plain spaces, runs of spaces collapsed. A fact must
occur as whole words ("40" is not found in "S-400"). Nothing looser: no stemming, no synonyms,
no fuzzy matching.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

Z95 = 1.959963984540054  # two-sided 95% normal quantile
_TYPOGRAPHY = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
})  # fmt: skip
_SPACES = re.compile(r"\s+")  # \s covers NBSP, thin and other Unicode spaces
_MARKER = re.compile(r"\s*\[\d+\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalise(text: str) -> str:
    """Text as facts are matched. Example: "Erdoğan’s\u00a0visit" -> "erdogan's visit"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TYPOGRAPHY).casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", folded).strip()


def strip_markers(text: str) -> str:
    """An answer without its citation markers. Example: "On June 30. [1][2]" -> "On June 30."."""
    return _MARKER.sub("", text).strip()


def fact_found(fact: str, text: str) -> bool:
    """Whether one fact (alternatives separated by `|`) occurs in `text` as whole words.

    Example: ("40|dozens", "more than 40 people") -> True; ("40", "S-400 batteries") -> False.
    """
    haystack = normalise(text)
    return any(_whole(normalise(alt), haystack) for alt in fact.split("|") if alt.strip())


def _whole(needle: str, haystack: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


def missing_facts(facts: Sequence[str], text: str) -> list[str]:
    """The facts that do not occur in `text`, in their given order."""
    return [f for f in facts if not fact_found(f, text)]


def fact_recall(facts: Sequence[str], text: str) -> float:
    """1.0 when every fact occurs in `text`, else 0.0. Example: (["June 30"], "on June 30") -> 1.0."""
    return 0.0 if missing_facts(facts, text) else 1.0


def tokens(text: str) -> list[str]:
    """Words for token F1 (SQuAD style): normalised, punctuation and a/an/the dropped."""
    words = re.sub(r"[^\w\s]", " ", normalise(text))
    return _ARTICLES.sub(" ", words).split()


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall. Example: ("june 30", "on june 30") -> 0.8."""
    pred, ref = tokens(prediction), tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def hit_at_k(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """1.0 when any gold source is among the first k retrieved. Example: (["b", "a"], ["a"], 1) -> 0.0."""
    return float(any(s in set(gold) for s in retrieved[:k]))


def recall_at_k(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of gold sources among the first k retrieved. Example: (["a", "c"], ["a", "b"], 2) -> 0.5."""
    if not gold:
        return 0.0
    return len(set(retrieved[:k]) & set(gold)) / len(set(gold))


def reciprocal_rank(retrieved: Sequence[str], gold: Sequence[str], k: int) -> float:
    """1/rank of the first gold source within the first k, else 0. Example: (["b", "a"], ["a"], 5) -> 0.5."""
    for rank, source in enumerate(retrieved[:k], start=1):
        if source in set(gold):
            return 1.0 / rank
    return 0.0


def source_precision(cited: Sequence[str], gold: Sequence[str]) -> tuple[int, int]:
    """(cited files among the gold sources, cited files), each file once.

    Example: (["a", "b", "a"], ["a"]) -> (1, 2).
    """
    files = set(cited)
    return len(files & set(gold)), len(files)


def abstention(abstained: Sequence[bool], answerable: Sequence[bool]) -> dict[str, tuple[int, int]]:
    """Abstention counts as (k, n) for each rate.

    precision: abstentions on unanswerable questions / abstentions;
    recall: abstentions on unanswerable questions / unanswerable questions;
    false_abstention_rate: abstentions on answerable questions / answerable questions.
    Example: ([True, True, False], [False, True, False]) -> precision (1, 2), recall (1, 2), false (1, 1).
    """
    pairs = list(zip(abstained, answerable))
    right = sum(1 for a, ok in pairs if a and not ok)
    return {
        "abstention_precision": (right, sum(1 for a, _ in pairs if a)),
        "abstention_recall": (right, sum(1 for _, ok in pairs if not ok)),
        "false_abstention_rate": (sum(1 for a, ok in pairs if a and ok), sum(1 for _, ok in pairs if ok)),
    }


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials. Example: wilson(0, 10) -> (0.0, 0.2775)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: Sequence[float], z: float = Z95) -> tuple[float, float, float]:
    """(mean, low, high): normal-approximation 95% interval of a mean. Example: [1, 1] -> (1.0, 1.0, 1.0)."""
    n = len(values)
    if n == 0:
        return (0.0, 0.0, 0.0)
    mean = sum(values) / n
    if n == 1:
        return (mean, mean, mean)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = z * sd / math.sqrt(n)
    return (mean, mean - half, mean + half)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile, linearly interpolated (numpy's default). Example: ([1, 2, 3, 4], 50) -> 2.5."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
