"""Each eval measure against small cases computed by hand."""

from __future__ import annotations

import pytest

from eval import metrics
from eval.compare import changed, paired
from eval.questions import Question
from eval.report import cell, check
from eval.runner import aggregate, claims, score
from qa.schema import Answer, Citation
from qa.support import check as support_check


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (1, 1, 0.2065, 1.0), (0, 0, 0.0, 1.0)],
)
def test_wilson_interval(k: int, n: int, low: float, high: float) -> None:
    got = metrics.wilson(k, n)
    assert got == pytest.approx((low, high), abs=1e-4)


@pytest.mark.parametrize(
    ("fact", "text", "found"),
    [
        ("June 30", "On JUNE 30, Russia lifted the ban", True),
        ("tourist|tourism", "the tourism sector", True),
        ("Erdogan's letter", "Erdoğan’s letter", True),  # accent folded, curly apostrophe made straight
        ("Putin said", "Putin\u00a0said", True),  # non-breaking space
        ("Turkey-Syria", "the Turkey–Syria border", True),  # en dash
        ("seven-month", "the seven month crisis", False),  # a hyphen is not a space
        ("40|dozens", "batteries of S-400 missiles", False),  # whole words only
        ("Sochi", "Sochy", False),
        ("improve", "improved ties", False),  # no stemming
    ],
)
def test_fact_matching_is_typographic_and_nothing_looser(fact: str, text: str, found: bool) -> None:
    assert metrics.fact_found(fact, text) is found


def test_fact_recall_needs_every_fact() -> None:
    assert metrics.fact_recall(["June 30", "tourist|tourism"], "On June 30 tourist flights resumed") == 1.0
    assert metrics.fact_recall(["June 30", "Sochi"], "On June 30 tourist flights resumed") == 0.0
    assert metrics.missing_facts(["June 30", "Sochi", "July 1"], "June 30") == ["Sochi", "July 1"]


@pytest.mark.parametrize(
    ("prediction", "reference", "f1"),
    [
        ("june 30", "On June 30.", 0.8),  # P 2/2, R 2/3
        ("The Kremlin said", "Kremlin statement", 0.5),  # "the" dropped; P 1/2, R 1/2
        ("", "June 30", 0.0),
        ("Sochi", "Ankara", 0.0),
        ("a the", "an", 1.0),  # both empty after normalisation
    ],
)
def test_token_f1(prediction: str, reference: str, f1: float) -> None:
    assert metrics.token_f1(prediction, reference) == pytest.approx(f1)


def test_retrieval_measures_by_file() -> None:
    retrieved, gold = ["b.txt", "a.txt", "c.txt"], ["a.txt", "c.txt"]
    assert metrics.hit_at_k(retrieved, gold, 1) == 0.0
    assert metrics.hit_at_k(retrieved, gold, 2) == 1.0
    assert metrics.recall_at_k(retrieved, gold, 2) == 0.5
    assert metrics.recall_at_k(retrieved, gold, 3) == 1.0
    assert metrics.reciprocal_rank(retrieved, gold, 3) == 0.5
    assert metrics.reciprocal_rank(retrieved, gold, 1) == 0.0
    assert metrics.recall_at_k(retrieved, [], 3) == 0.0


def test_abstention_precision_recall_and_false_rate() -> None:
    # abstained:  yes   yes    no     yes    no
    # answerable: no    yes    no     no     yes
    counts = metrics.abstention([True, True, False, True, False], [False, True, False, False, True])
    assert counts == {
        "abstention_precision": (2, 3), "abstention_recall": (2, 3), "false_abstention_rate": (1, 2),
    }  # fmt: skip


def test_percentile_mean_interval_and_source_precision() -> None:
    assert metrics.percentile([4, 1, 3, 2], 50) == 2.5
    assert metrics.percentile(list(range(1, 21)), 95) == pytest.approx(19.05)
    assert metrics.percentile([7.0], 95) == 7.0
    assert metrics.mean_interval([0.0, 1.0]) == pytest.approx((0.5, -0.48, 1.48), abs=1e-3)
    assert metrics.mean_interval([1.0, 1.0]) == (1.0, 1.0, 1.0)
    assert metrics.source_precision(["a", "b", "a"], ["a"]) == (1, 2)
    assert metrics.strip_markers("On June 30. [1][2] Then July 1. [3]") == "On June 30. Then July 1."


ARTICLE = "Intro. On June 30, Russia lifted a ban on tourist flights to Turkey. Ministers met on July 22."
QUOTE_1 = "On June 30, Russia lifted a ban on tourist flights to Turkey."
QUOTE_2 = "Ministers met on July 22."


def _answer(text: str, quotes: list[str], abstained: bool = False) -> Answer:
    cites = [Citation(source="a.txt", quote=q, start=ARTICLE.find(q), end=ARTICLE.find(q) + len(q), id=i)
             for i, q in enumerate(quotes, start=1)]
    return Answer(text=text, citations=cites, abstained=abstained, mode="extractive", retrieved=["b.txt", "a.txt"])


def test_claims_use_the_shared_support_check() -> None:
    answer = _answer("Russia lifted the tourist ban on June 30. [1] The ministers met on July 1. [2]",
                     [QUOTE_1, QUOTE_2])
    first, second = claims(answer)
    assert first == {"sentence": "Russia lifted the tourist ban on June 30.", "cites": [1], "supported": True,
                     "missing": []}
    assert support_check(first["sentence"], QUOTE_1).supported
    assert second["supported"] is False and second["missing"] == ["1"]  # July 1 is not July 22


def test_score_one_answer() -> None:
    q = Question(id="x", question="When?", answer="On June 30.", sources=["a.txt"], facts=["June 30", "tourist"],
                 category="single", answerable=True)
    answer = _answer("On June 30, Russia lifted a ban on tourist flights to Turkey. [1]", [QUOTE_1])
    answer.citations.append(Citation(source="c.txt", quote="Not in the file.", start=0, end=16, id=2))
    result = score(q, answer, 2, {"a.txt": ARTICLE, "c.txt": "Something else entirely."})
    assert result["scores"] == {"hit_at_k": 1.0, "recall_at_k": 1.0, "reciprocal_rank": 0.5, "fact_recall": 1.0,
                                "token_f1": 0.4286}  # P 3/11, R 3/3
    assert [c["exact"] for c in result["citations"]] == [True, False]
    assert result["citations"][1]["quote"] == "Not in the file." and "quote" not in result["citations"][0]
    assert result["failed"] == ["off_source_citation", "inexact_citation"]


def test_an_abstention_states_no_fact() -> None:
    q = Question(id="x", question="When?", answer="June 30", sources=["a.txt"], facts=["June 30"],
                 category="single", answerable=True)
    result = score(q, _answer("The articles don't say when (June 30?).", [], abstained=True), 3, {})
    assert result["scores"]["fact_recall"] == 0.0 and result["scores"]["token_f1"] == 0.0
    assert result["failed"] == ["false_abstention"]
    unanswerable = Question(id="u", question="Capital of Peru?", answer="", sources=[], facts=[],
                            category="unanswerable", answerable=False)
    assert score(unanswerable, _answer("Lima. [1]", [QUOTE_2]), 3, {"a.txt": ARTICLE})["failed"] == [
        "missed_abstention", "unsupported_claim"]


def _result(qid: str, answerable: bool, abstained: bool, hit: float, facts: float, cites: list[bool]) -> dict:
    return {
        "id": qid, "category": "single" if answerable else "unanswerable", "answerable": answerable,
        "abstained": abstained, "gold_sources": ["a.txt"] if answerable else [],
        "scores": {"hit_at_k": hit, "recall_at_k": hit, "reciprocal_rank": hit / 2, "fact_recall": facts,
                   "token_f1": facts} if answerable else {},
        "citations": [{"source": "a.txt" if ok else "b.txt", "exact": ok} for ok in cites],
        "claims": [{"supported": ok} for ok in cites],
    }  # fmt: skip


RESULTS = [
    _result("q1", True, False, 1.0, 1.0, [True, True]),
    _result("q2", True, False, 0.0, 0.0, [False]),
    _result("q3", True, True, 1.0, 0.0, []),
    _result("q4", False, True, 0.0, 0.0, []),
    _result("q5", False, False, 0.0, 0.0, [True]),
]


def test_aggregate_by_hand() -> None:
    got = aggregate(RESULTS)
    assert (got["hit_at_k"]["k"], got["hit_at_k"]["n"], got["hit_at_k"]["value"]) == (2, 3, 0.6667)
    assert got["fact_recall"]["value"] == 0.3333 and got["token_f1"]["value"] == 0.3333
    assert got["reciprocal_rank"]["value"] == 0.3333
    assert (got["citation_exactness"]["k"], got["citation_exactness"]["n"]) == (3, 4)
    assert (got["source_precision"]["k"], got["source_precision"]["n"]) == (1, 2)  # files per question: {a}, {b}
    assert (got["support"]["k"], got["support"]["n"]) == (3, 4)
    assert (got["abstention_precision"]["k"], got["abstention_precision"]["n"]) == (1, 2)
    assert (got["abstention_recall"]["k"], got["abstention_recall"]["n"]) == (1, 2)
    assert (got["false_abstention_rate"]["k"], got["false_abstention_rate"]["n"]) == (1, 3)
    assert got["hit_at_k"]["low"] == pytest.approx(metrics.wilson(2, 3)[0], abs=1e-4)
    assert cell(got["hit_at_k"]) == "66.7% (20.8–93.8) n=3"
    assert aggregate(RESULTS[3:])["fact_recall"] == {"value": None, "low": None, "high": None, "k": 0, "n": 0}


def test_thresholds_name_the_metric_that_breaks_them() -> None:
    summary = {"overall": aggregate(RESULTS), "by_category": {"single": aggregate(RESULTS[:3])}}
    thresholds = {"min": {"overall.hit_at_k": 0.7, "single.fact_recall": 0.3},
                  "max": {"overall.false_abstention_rate": 0.2, "conflict.fact_recall": 1.0}}
    assert check(summary, thresholds) == [
        "conflict.fact_recall: not measured (no such metric or no questions for it)",
        "overall.false_abstention_rate = 0.3333 is above its maximum 0.2000",
        "overall.hit_at_k = 0.6667 is below its minimum 0.7000",
    ]
    assert check(summary, {"min": {"overall.hit_at_k": 0.6}}) == []


def test_paired_differences_and_flips() -> None:
    before = [_result("q1", True, False, 1.0, 0.0, []), _result("q2", True, False, 1.0, 1.0, []),
              _result("q4", False, False, 0.0, 0.0, [])]
    after = [_result("q1", True, False, 1.0, 1.0, []), _result("q2", True, False, 1.0, 1.0, []),
             _result("q4", False, True, 0.0, 0.0, [])]
    d = paired(before, after, "fact_recall")
    assert (d["mean"], d["better"], d["worse"], d["n"]) == (0.5, 1, 0, 2)
    assert d["low"] == pytest.approx(0.5 - 1.96 * 0.7071 / 1.4142, abs=1e-3)
    assert changed(before, after) == ["q1 (single): facts found", "q4 (unanswerable): now abstains"]
