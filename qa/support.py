"""Does a quote support an answer sentence? One deterministic check, shared by the LLM mode and the eval.

A sentence is supported by a quote when
  1. every anchor of the sentence (number, date, name) appears in the quote, and
  2. enough of the sentence's content words appear in the quote (`MIN_OVERLAP`, by weight of stems).
Example: "Russia lifted the tourist ban on June 30." is supported by "On June 30, Moscow said it
would lift the ban on tourist flights to Turkey, Russia said." but not by the same quote with July 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.terms import STOP, _fold, terms

MIN_OVERLAP = 0.5  # calibrated in tests/test_support.py on paraphrases and near misses of article sentences
NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30", "forty": "40",
    "fifty": "50", "hundred": "100", "thousand": "1000", "first": "1", "second": "2", "third": "3",
}  # fmt: skip
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_NAME = re.compile(r"\b[A-Z][\w’'-]*")
# Capitalised words that are not names: sentence openers and function words.
_NOT_NAMES = {w.capitalize() for w in STOP} | {"However", "Meanwhile", "Also", "Yes", "No"}


@dataclass
class Support:
    supported: bool
    overlap: float  # share of the sentence's content stems found in the quote
    missing: list[str] = field(default_factory=list)  # anchors of the sentence absent from the quote


def anchors(sentence: str) -> list[str]:
    """The numbers and names a quote must contain. Example: "Putin called on July 15, 2016" ->
    ["15", "2016", "Putin", "July"]."""
    numbers = [_number(n) for n in _NUMBER.findall(sentence)]
    numbers += [NUMBER_WORDS[w.lower()] for w in _WORD.findall(sentence) if w.lower() in NUMBER_WORDS]
    names = [n.rstrip("’'-") for n in _NAME.findall(sentence) if n not in _NOT_NAMES and not n.isdigit()]
    names = [re.sub(r"['’]s$", "", n) for n in names]
    return list(dict.fromkeys(numbers + names))


def check(sentence: str, quote: str, min_overlap: float = MIN_OVERLAP) -> Support:
    """Whether `quote` supports `sentence` (see the module doc)."""
    quote_numbers = {_number(n) for n in _NUMBER.findall(quote)}
    quote_numbers |= {NUMBER_WORDS[w.lower()] for w in _WORD.findall(quote) if w.lower() in NUMBER_WORDS}
    quote_words = {_fold(w) for w in _WORD.findall(quote)}
    missing = []
    for a in anchors(sentence):
        if a[0].isdigit():
            if a not in quote_numbers:
                missing.append(a)
        elif not _name_in(_fold(a), quote_words):
            missing.append(a)
    wanted = set(terms(sentence))
    overlap = len(wanted & set(terms(quote))) / len(wanted) if wanted else 1.0
    return Support(supported=not missing and overlap >= min_overlap, overlap=round(overlap, 4), missing=missing)


def best(sentence: str, quotes: list[str]) -> tuple[int, Support]:
    """The index of the quote that supports `sentence` best, and its check (supported first, then overlap)."""
    if not quotes:
        raise ValueError("best() needs at least one quote")
    checks = [check(sentence, q) for q in quotes]
    i = max(range(len(quotes)), key=lambda k: (checks[k].supported, -len(checks[k].missing), checks[k].overlap))
    return i, checks[i]


def _number(text: str) -> str:
    return text.replace(",", "").rstrip(".")


def _name_in(name: str, words: set[str]) -> bool:
    """A name matches a quote word with the same first letters: Turkish ~ Turkey, Russian ~ Russia."""
    if len(name) < 5:
        return name in words
    return any(w[:4] == name[:4] for w in words)
