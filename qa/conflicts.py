"""Do two sources disagree? Dates and numbers stated about the same event.

A claim is a value (a date, or a range of numbers), the event words next to it and the names
next to it: "the quake killed 12 people in Izmir" -> 12 about {quake, kill, peopl} in {izmir}.
Two claims conflict when they are about the same event (they share an event word the question
asks about, and when both name a place, actor or thing, they name one in common) and their
values cannot both be true: different dates less than a year apart, or number ranges that do not
overlap. "more than 40 people were killed" (41..) and "dozens of people were killed" (24..)
agree; "40 people were killed" and "45 people were killed" do not; "12 people in Izmir" and "45
people in Malatya" speak of two events. A number that labels a thing ("berth 12", "code 4471")
or sits in a web address is not a count.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from index.dates import FULL_DATE, MONTH_DAY, MONTHS, month_days
from qa.terms import kindred, terms

WINDOW = 5  # words either side of a value that name its event
_VAGUE = {"dozens": (24, math.inf), "dozen": (12, 12), "scores": (40, math.inf), "hundreds": (200, math.inf),
          "thousands": (2000, math.inf), "several": (3, 9), "few": (2, 9)}  # fmt: skip
_NUMBER = re.compile(
    r"\b(?:(more than|over|at least|nearly|almost|about|around|some|up to|less than|fewer than)\s+)?"
    r"(?<![\w-])(\d[\d,]*|dozens|dozen|scores|hundreds|thousands|several|few)\b(?!\s*(?:,\s*)?\d)",
    re.I,
)
_NOT_EVENT = set(MONTHS) | {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
# Words a number follows as a label, not as a count: "berth 12", "product code 4471", "flight 17".
_LABELS = re.compile(
    r"(?:\b(?:code|codes|model|number|no|nos|flight|route|berth|pier|gate|platform|terminal|line|bus|room|"
    r"seat|row|floor|block|exit|highway|road|track|runway|version|article|section|chapter|page|item|id|"
    r"ref|reference|serial|sku|batch|lot|case|ticket|order|channel|zone|sector|unit|lane|hall|tower)"
    r"\.?|#)\s*$", re.I)
_PLACE = re.compile(r"\b(?:in|at|near|of|outside|across)\s+$", re.I)
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w.-]+\.[a-z]{2,}/\S*", re.I)


@dataclass(frozen=True)
class Claim:
    kind: str  # "date" or "number"
    low: float  # a date as its ordinal; a number's range
    high: float
    event: frozenset[str]
    text: str  # the value as written
    names: frozenset[str] = frozenset()  # the places, actors and things named next to it, stemmed

    def value(self) -> str:
        return dt.date.fromordinal(int(self.low)).isoformat() if self.kind == "date" else self.text


def claims(sentence: str, published: dt.date | None) -> list[Claim]:
    """The dated and counted statements of a sentence."""
    out = []
    urls = [m.span() for m in _URL.finditer(sentence)]
    if published is not None:
        for m in [*FULL_DATE.finditer(sentence), *MONTH_DAY.finditer(sentence)]:
            for d in month_days(m.group(0), published):
                out.append(Claim("date", d.toordinal(), d.toordinal(), _event(sentence, m), m.group(0),
                                 _names(sentence, m)))
    dates = [m.span() for p in (FULL_DATE, MONTH_DAY) for m in p.finditer(sentence)]
    for m in _NUMBER.finditer(sentence):
        if any(a <= m.start(2) < b for a, b in dates + urls) or re.fullmatch(r"(19|20)\d\d", m.group(2)):
            continue  # a day of a date, a year, or digits of a web address: not a count
        if not m.group(1) and _LABELS.search(sentence[: m.start(2)]):
            continue  # "berth 12": which one, not how many
        low, high = _range(m.group(1), m.group(2))
        out.append(Claim("number", low, high, _event(sentence, m), m.group(0), _names(sentence, m)))
    return out


def disagree(a: Claim, b: Claim, about: set[str] | None = None) -> bool:
    """Whether two claims about the same event (sharing a word of `about`, if given) cannot both hold."""
    shared = a.event & b.event
    if about is not None:
        shared &= about
    if a.kind != b.kind or not shared:
        return False
    if a.names and b.names and not _same_names(a.names, b.names):
        return False  # "in Izmir" and "in Malatya": two events of one kind
    if a.kind == "date":
        return a.low != b.low and abs(a.low - b.low) < 366
    return a.high < b.low or b.high < a.low


def _event(sentence: str, m: re.Match[str]) -> frozenset[str]:
    before = re.findall(r"[^\W\d_]+", sentence[: m.start()])[-WINDOW:]
    after = re.findall(r"[^\W\d_]+", sentence[m.end():])[:WINDOW]
    words = [w for w in before + after if not w[0].isupper()]  # names are who, not what happened
    return frozenset(t for t in terms(" ".join(words)) if t not in _NOT_EVENT)


def _names(sentence: str, m: re.Match[str]) -> frozenset[str]:
    """The places named within WINDOW words of the value ("in Izmir", "the port of Mersin"), stemmed.

    Only places: who said a number ("Erdogan said", "Putin told") is whom sources may disagree with.
    Example: _names("Officials said it killed 12 people in Izmir", <12>) == {"izmir"}
    """
    words = list(re.finditer(r"[^\W\d_]+", sentence))
    near = [w for w in words if w.end() <= m.start()][-WINDOW:] + [w for w in words if w.start() >= m.end()][:WINDOW]
    named, place = [], False
    for w in near:
        word = w.group(0)
        place = word[0].isupper() and (place or _preposition(sentence, w.start()))
        if place:
            named.append(word)
    return frozenset(t for t in terms(" ".join(named)) if t not in _NOT_EVENT)


def _preposition(sentence: str, at: int) -> bool:
    """Does a preposition of place come right before offset `at`? Example: ("in Izmir", 3) -> True."""
    return bool(_PLACE.search(sentence[max(0, at - 12) : at]))


def _same_names(a: frozenset[str], b: frozenset[str]) -> bool:
    """A name in common, counting a country's other words: {"turkey"} and {"turkish"} match."""
    return any(x == y or y in kindred(x) for x in a for y in b)


def _range(qualifier: str | None, value: str) -> tuple[float, float]:
    q = (qualifier or "").lower()
    if value.lower() in _VAGUE:
        return _VAGUE[value.lower()]
    n = float(value.replace(",", ""))
    if q in ("more than", "over"):
        return n + 1, math.inf
    if q == "at least":
        return n, math.inf
    if q in ("less than", "fewer than", "up to"):
        return 0, n
    if q in ("nearly", "almost", "about", "around", "some"):
        return n * 0.85, n * 1.15
    return n, n
