"""The disagreement detector: dates and numbers stated about the same event."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
        # the same place named on both sides
        ("The earthquake killed 12 people in Izmir, officials said.",
         "The earthquake in Izmir killed 45 people, the governor said.",
         "How many people did the earthquake in Izmir kill?"),
        # a place on one side only: nothing says they differ
        ("The earthquake killed 12 people in Izmir.", "Officials said the earthquake killed 45 people.",
         "How many people did the earthquake kill?"),
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
        # the same kind of event in two places: two events
        ("The earthquake killed 12 people in Izmir, officials said.",
         "The earthquake killed 45 people in Malatya, officials said.",
         "How many people did the earthquake in Izmir kill?"),
        ("The new container terminal at Mersin has 12 berths.", "The port of Iskenderun now has 20 berths.",
         "How many berths does the port have?"),
        # a number that names a thing (a code, a berth, a flight) is not a count of it
        ("The recall covers heaters with product code 4471.", "The recall covers heaters with product code 5520.",
         "Which product code does the recall cover?"),
        ("The ferry docked at berth 12 on Monday.", "The ferry docked at berth 45 on Monday.",
         "Where did the ferry dock?"),
        # digits inside a web address
        ("The ministry said the ban was lifted, see https://gov.example/news/2016/0630/ban-lifted-1234.",
         "The ministry said the ban was lifted, see https://gov.example/news/2016/0701/ban-lifted-998.",
         "Was the ban lifted?"),
    ],
)
def test_these_sources_agree_or_speak_of_different_things(a: str, b: str, question: str) -> None:
    assert not _disagree(a, b, question)


QUAKES = {
    "izmir.txt": "Earthquake hits Izmir\n\nIZMIR, Oct 30, 2020. A strong earthquake killed 12 people in Izmir on "
                 "Friday, officials said. Rescuers searched collapsed buildings through the night.\n",
    "malatya.txt": "Earthquake hits Malatya\n\nMALATYA, Jan 24, 2020. A strong earthquake killed 45 people in Malatya "
                   "on Friday, officials said. Thousands spent the night in tents.\n",
}


def test_an_answer_about_one_earthquake_does_not_cite_another_as_disagreeing(tmp_path: Path) -> None:
    import qa

    (tmp_path / "articles").mkdir()
    for name, text in QUAKES.items():
        (tmp_path / "articles" / name).write_text(text)
    engine = qa.load(tmp_path / "articles", tmp_path / "store")
    answer = engine.ask("How many people did the earthquake in Izmir kill?")
    assert "12 people in Izmir" in answer.text and not answer.conflicts
    assert "another source" not in answer.text and "Malatya" not in answer.text
