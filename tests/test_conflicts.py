"""The disagreement detector: dates and numbers stated about the same event."""

from __future__ import annotations

import datetime as dt

import pytest

from qa.conflicts import claims, disagree
from qa.terms import terms

AUG_2016 = dt.date(2016, 8, 9)


def _disagree(a: str, b: str, question: str) -> bool:
    about = set(terms(question))
    return any(disagree(x, y, about) for x in claims(a, AUG_2016) for y in claims(b, AUG_2016))


@pytest.mark.parametrize(
    ("a", "b", "question"),
    [
        ("Putin gave his support to Turkey over the July 15 coup attempt.",
         "Relations improved after the failed coup attempt on June 18, which caused a crackdown.",
         "When was the coup attempt?"),
        ("Officials said 40 people were killed in the attack.", "Officials said 45 people were killed in the attack.",
         "How many people were killed?"),
        ("The ban on tourist flights was lifted on June 30.", "Russia lifted the ban on July 3.",
         "When was the flight ban lifted?"),
    ],
)
def test_these_sources_disagree(a: str, b: str, question: str) -> None:
    assert _disagree(a, b, question)
    assert _disagree(b, a, question)


@pytest.mark.parametrize(
    ("a", "b", "question"),
    [
        # compatible counts
        ("An attack in which more than 40 people, including foreigners, were killed.",
         "An attack in which dozens of people were killed and hundreds injured.", "How many people were killed?"),
        # the same date written two ways
        ("The coup attempt of July 15 failed.", "On July 15, 2016 a coup attempt failed.",
         "When was the coup attempt?"),
        # different events: a letter and a call
        ("On June 27, Erdogan sent a letter to Putin.", "On June 29, the two leaders held a phone call.",
         "When did Erdogan send the letter?"),
        # the question is about something else
        ("Putin gave his support over the July 15 coup attempt.", "The failed coup attempt on June 18 shook Turkey.",
         "When did Russia lift the flight ban?"),
        # a model name is not a count
        ("Turkey shot down a Russian Su-24 plane.", "Turkey shot down 2 Russian planes.", "How many planes?"),
        # events years apart are different events, not a disagreement
        ("The leaders met on March 5, 2020 in Moscow.", "The leaders met on September 29, 2021 in Sochi.",
         "When did the leaders meet?"),
    ],
)
def test_these_sources_agree_or_speak_of_different_things(a: str, b: str, question: str) -> None:
    assert not _disagree(a, b, question)
