"""The reader: the shipped model scores as it was trained, and the offline answers built on it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from qa.config import Settings
from qa.reader import RECORD, WEIGHTS, Reader


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader()


@pytest.fixture(scope="module")
def reading(settings: Settings):  # type: ignore[no-untyped-def]
    """An engine whose offline answers the reader leads (QA_ANSWERER=reader)."""
    import qa

    return qa.load(settings=replace(settings, answerer="reader"), build=False)


def test_the_shipped_model_scores_pairs_as_the_training_framework_did(reader: Reader) -> None:
    from qa.reader import pair_ids

    pairs = json.loads(RECORD.read_text())["reference_pairs"]
    # One batch, as training scored them: int8 activations are quantized per batch.
    got = reader.score_ids([pair_ids(reader.tokenizer, p["question"], [(p["title"], p["sentence"])])[0]
                            for p in pairs])
    want = np.array([p["torch_score"] for p in pairs])
    assert len(pairs) >= 20 and np.abs(got - want).max() < 0.75 and np.corrcoef(got, want)[0, 1] > 0.99
    assert (np.sign(got) == np.sign(want)).all()


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


def test_an_offline_answer_quotes_what_the_reader_chose(reading) -> None:  # type: ignore[no-untyped-def]
    answer = reading.ask("When did Russia lift the ban on tourist flights to Turkey?")
    assert not answer.abstained and answer.confidence is not None and answer.confidence > 0
    assert "June 30" in answer.citations[0].quote and answer.mode == "extractive"


def test_a_question_the_reader_finds_no_answer_to_is_not_answered(reading) -> None:  # type: ignore[no-untyped-def]
    answer = reading.ask("Which fruit did the astronauts grow on the Moon in 1960?")
    assert answer.abstained and answer.citations == [] and answer.confidence is not None
    assert answer.confidence < 0
