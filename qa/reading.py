"""The reader's answerer (QA_ANSWERER=reader): the trained cross-encoder (qa/reader.py) picks the lead
sentence and decides whether the articles answer at all.

Retrieval's sentences are ranked by the cheap word-and-meaning score of `qa.extractive`; the best
PRESELECT are read. The lead is the best by that score plus READ_WEIGHT times the reader's logit; the
rules add up to two more sentences around it (a second fact, another source); the answer abstains when
no sentence reads above ABSTAIN_BELOW. Dates, relative dates and disagreeing sources keep the hand
rules of `qa.extractive`. bench/reading.md measures it beside the rules and the nearest sentence.

    answer("When did Russia lift the ban?", qvec, sentences, rarity, reader)  # -> Answer
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from qa import extractive as rules
from qa.abstain import abstention
from qa.question import ABOUT_TIME, PHOTO, SEVERAL, YEAR, own_terms, question_kind
from qa.reader import Reader
from qa.retrieve import Sentence, same_passage
from qa.schema import Answer
from qa.terms import Rarity, terms

# Set on tuning data (SQuAD's tuning article, eval/dev.jsonl, eval/news_dev.jsonl; never eval/questions.jsonl):
# see bench/reading.py, which measures the trade-offs of each.
PRESELECT = 16  # sentences read per question (~5 ms a pair on a busy core)
READ_WEIGHT = 0.1  # a sentence's rank: the rules' score plus this much of the reader's logit
ABSTAIN_BELOW = -2.0  # the best-read sentence's logit under which the articles don't answer
# Measured and left out: the rules' evidence checks (qa/abstain.py) abstaining too (SQuAD tuning article:
# 7 points of false abstention for 8 of abstention; news dev: 12 for 46), and dropping further sentences
# the reader reads low (they cost facts: the reader, trained on one-sentence answers, reads them too low).


def answer(question: str, qvec: np.ndarray, sentences: list[Sentence], rarity: Rarity, reader: Reader,
           parts: Sequence[tuple[str, np.ndarray]] = ()) -> Answer:
    """Choose, order and cite the sentences the reader finds answer `question`, or abstain."""
    wanted = [t for t in terms(question) if t]  # a follow-up's carried words name its topic: they count
    kind = question_kind(question)
    years = set(YEAR.findall(question))
    photo = bool(PHOTO.search(question))
    ranked = sorted((rules._score(s, qvec, wanted, kind, rarity, years, photo, own_terms(question))
                     for s in sentences if rules._answer_like(s)), key=lambda x: -x.score)
    pool = ranked[:PRESELECT]
    if not pool:
        return abstention(question)
    logits = reader.score(question, [(x.sentence.meta.get("title", ""), x.sentence.text) for x in pool])
    blended = sorted((replace(x, score=x.score + READ_WEIGHT * float(v)) for x, v in zip(pool, logits)),
                     key=lambda x: -x.score)
    # The reader picks the lead sentence; the further ones are the rules' choice around it (a second fact,
    # another source), by the rules' own scores.
    lead = next(x for x in pool if x.sentence is blended[0].sentence)
    several = bool(SEVERAL.search(question)) or len(years) > 1
    chosen = rules._choose([lead, *[x for x in pool if x is not lead]], wanted, rarity, several, photo)
    for text, _ in parts:  # a compound question: each part's best-read sentence, when it answers
        best = _best_for(reader, text, pool)
        if best.score >= ABSTAIN_BELOW and all(not same_passage(best.sentence.text, c.sentence.text) for c in chosen):
            chosen = [*chosen[: rules.MAX_SENTENCES - 1], best]
    confidence = round(float(logits.max()), 3)
    if confidence < ABSTAIN_BELOW:
        return replace(abstention(question), confidence=confidence)
    chosen = rules._readable(chosen)
    clash = rules._conflict(chosen, blended, set(wanted), bool(ABOUT_TIME.search(question)))
    return replace(rules.compose_with_conflict(question, kind, chosen, blended, clash), confidence=confidence)


def _best_for(reader: Reader, text: str, pool: list[rules.Scored]) -> rules.Scored:
    logits = reader.score(text, [(x.sentence.meta.get("title", ""), x.sentence.text) for x in pool])
    i = int(np.argmax(logits))
    return replace(pool[i], score=float(logits[i]))
