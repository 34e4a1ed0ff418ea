"""The reader: the shipped model scores as it was trained, and the offline answers built on it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.reader import RECORD, WEIGHTS, Reader


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


def test_the_shipped_model_scores_pairs_as_the_training_framework_did(reader: Reader) -> None:
    pairs = json.loads(RECORD.read_text())["reference_pairs"]
    got = np.array([reader.score(p["question"], [(p["title"], p["sentence"])])[0] for p in pairs])
    want = np.array([p["torch_score"] for p in pairs])
    assert len(pairs) >= 20 and np.abs(got - want).max() < 0.15  # int8 weights against the float model
    assert (np.sign(got) == np.sign(want)).mean() >= 0.95


def test_the_record_says_how_the_model_was_made() -> None:
    record = json.loads(RECORD.read_text())
    for key in ("base_weights", "data", "train_articles", "validation_articles", "settings", "code_version",
                "validation", "training_seconds"):
        assert record[key], key
    assert not set(record["train_articles"]) & set(record["validation_articles"])  # split by article
    assert "CC BY-SA 4.0" in record["data"] and record["settings"]["seed"] == 13
    assert WEIGHTS.stat().st_size < 40 * 2**20


def test_the_answering_sentence_reads_above_its_neighbours(reader: Reader) -> None:
    title = "Putin and Erdogan meet"
    sentences = ["On June 30, Russia lifted a ban on tourist flights to Turkey.",
                 "The two leaders met in St Petersburg in August.",
                 "Turkey shot down a Russian jet in November 2015."]
    scores = reader.score("When did Russia lift the ban on tourist flights to Turkey?",
                          [(title, s) for s in sentences])
    assert int(np.argmax(scores)) == 0 and scores[0] > 0 > max(scores[1:])


def test_an_offline_answer_quotes_what_the_reader_chose(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("When did Russia lift the ban on tourist flights to Turkey?")
    assert not answer.abstained and answer.confidence > 0
    assert "June 30" in answer.citations[0].quote


def test_a_question_no_article_answers_is_not_answered(engine) -> None:  # type: ignore[no-untyped-def]
    answer = engine.ask("Who won the 2018 football World Cup final?")
    assert answer.abstained and answer.citations == []


def test_a_follow_up_prefers_what_the_previous_answer_did_not_say(engine) -> None:  # type: ignore[no-untyped-def]
    chat = engine.chat()
    first = chat.ask("Why did relations between Turkey and Russia sour?")
    then = chat.ask("How did they repair them?")
    assert not then.abstained
    assert {(c.source, c.start) for c in then.citations} != {(c.source, c.start) for c in first.citations}
    assert then.text != first.text
