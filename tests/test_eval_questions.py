"""The question sets: their format, their counts, and that their references come from the articles."""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

import pytest

from eval.metrics import fact_found
from eval.questions import CATEGORIES, QuestionFileError, load_questions
from qa.config import PROJECT_DIR

EVAL = PROJECT_DIR / "eval"
ARTICLES = PROJECT_DIR / "articles"
QUESTIONS = load_questions(EVAL / "questions.jsonl")


def test_the_question_set_meets_the_counts() -> None:
    assert len(QUESTIONS) >= 100
    counts = Counter(q.category for q in QUESTIONS)
    assert set(counts) == set(CATEGORIES)
    assert all(counts[c] >= 12 for c in CATEGORIES), counts
    gold = Counter(source for q in QUESTIONS for source in q.sources)
    assert sorted(gold) == sorted(p.name for p in ARTICLES.iterdir())
    assert all(n >= 10 for n in gold.values()), gold


@pytest.mark.parametrize("name", ["questions.jsonl", "dev.jsonl"])
def test_every_reference_comes_from_its_sources(name: str) -> None:
    for q in load_questions(EVAL / name):
        texts = [(ARTICLES / s).read_text(encoding="utf-8") for s in q.sources]  # also: every source exists
        assert q.category in CATEGORIES, q.id
        assert q.answerable == (q.category != "unanswerable"), q.id
        assert bool(q.history) == (q.category == "followup"), q.id
        if q.answerable:
            assert q.facts and q.answer, q.id
            missing = [f for f in q.facts if not any(fact_found(f, t) for t in texts)]
            assert not missing, f"{q.id}: {missing} occur in none of {q.sources}"
        else:
            assert not q.sources and not q.facts, q.id


def test_the_news_questions_users_ask_are_in_the_set() -> None:
    by_text = {q.question: q for q in QUESTIONS}
    coup = by_text["When was the coup attempt in Turkey?"]
    assert coup.category == "conflict" and {"July 15", "June 18"} <= set(coup.facts)
    last = by_text["When did Putin and Erdogan last speak?"]
    assert last.category == "temporal" and "New Year" in last.facts
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)


def test_the_dev_set_is_apart_from_the_question_set() -> None:
    """No dev question is a copy or a light rewording of a held-out one (tuning on it would leak)."""
    dev = load_questions(EVAL / "dev.jsonl")
    words = [(q.id, re.findall(r"\w+", q.question.lower())) for q in QUESTIONS]
    close = [(d.id, q_id) for d in dev for q_id, w in words
             if SequenceMatcher(None, re.findall(r"\w+", d.question.lower()), w).ratio() >= 0.75]
    assert not close, close


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "is not JSON"),
        ('["a list"]', "is not a JSON object"),
        ('{"id": "x", "answer": "a"}', "'question' is missing or empty; every line needs one"),
        ('{"question": "q?", "sources": ["a.txt"]}', "an answerable question needs 'facts'.*\"answerable\": false"),
        ('{"question": "q?", "facts": ["a"], "answer": 3}', "'answer' must be a string"),
        ('{"id": "x", "question": "q?", "answer": "a", "sources": [], "facts": [], "category": "single", '
         '"answerable": true, "history": []}', "needs at least one gold source"),
        ('{"id": "x", "question": "q?", "answer": "a", "sources": ["a.txt"], "facts": [""], "category": "single", '
         '"answerable": true, "history": []}', "non-empty text"),
    ],
)
def test_a_malformed_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(QuestionFileError, match=message) as e:
        load_questions(path)
    assert "q.jsonl line 1" in str(e.value)


def test_a_line_needs_only_its_question_facts_and_sources(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"question": "When did Russia lift the ban?", "facts": ["June 30"], "sources": ["001.txt"]}\n'
                    '\n{"question": "What is the capital of Australia?", "answerable": false}\n'
                    '{"question": "Who won?", "category": "unanswerable"}\n', encoding="utf-8")
    first, second, third = load_questions(path)
    assert (first.id, first.answer, first.category, first.answerable, first.history) == ("line 1", None, "general",
                                                                                         True, [])
    assert (second.id, second.category, second.answerable, second.facts) == ("line 3", "unanswerable", False, [])
    assert (third.id, third.answerable) == ("line 4", False)


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    row = ('{"id": "x", "question": "q?", "answer": "", "sources": [], "facts": [], "category": "unanswerable", '
           '"answerable": false, "history": []}')
    path = tmp_path / "q.jsonl"
    path.write_text(f"{row}\n{row}\n", encoding="utf-8")
    with pytest.raises(QuestionFileError, match="used twice"):
        load_questions(path)
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(QuestionFileError, match="no questions"):
        load_questions(path)
    with pytest.raises(QuestionFileError, match="Cannot read"):
        load_questions(tmp_path / "absent.jsonl")
